using System.Net.Http.Json;
using SplitgraphAspire.Contracts;

namespace Dashboard.Services;

/// <summary>Typed client for Engine.Api; the dashboard never talks to PostgreSQL directly.</summary>
public sealed class EngineApiClient(HttpClient http)
{
    public async Task<IReadOnlyList<EngineInfo>> GetEnginesAsync(CancellationToken cancellationToken = default) =>
        await http.GetFromJsonAsync<List<EngineInfo>>("/api/engines", cancellationToken) ?? [];
}
