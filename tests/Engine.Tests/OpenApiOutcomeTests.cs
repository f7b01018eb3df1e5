using System.Text.Json;
using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>The API's OpenAPI document lists each operation's outcomes: its typed success and its problem answers.</summary>
public sealed class OpenApiOutcomeTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Operations_list_their_success_type_and_their_problem_outcomes()
    {
        await using var factory = ApiHost.Start(("ConnectionStrings:db", fixture.Db.Endpoint.ConnectionString));
        using var api = factory.Client();
        using var document = JsonDocument.Parse(await api.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        JsonElement Responses(string path, string method) => paths.GetProperty(path).GetProperty(method).GetProperty("responses");
        void HasProblems(string path, string method, params string[] statuses)
        {
            var responses = Responses(path, method);
            output.WriteLine($"{method.ToUpperInvariant()} {path}: {string.Join(", ", responses.EnumerateObject().Select(r => r.Name))}");
            foreach (var status in statuses)
            {
                Assert.True(responses.TryGetProperty(status, out var response), $"{method} {path} lists no {status}");
                Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{method} {path} {status} is not a problem");
            }
        }

        // Typed successes: 204 with no body; 200 with the contract's schema; SQL text for dumps.
        Assert.True(Responses("/api/engines/{engine}/initialize", "post").TryGetProperty("204", out _));
        Assert.False(Responses("/api/engines/{engine}/initialize", "post").TryGetProperty("200", out _));
        var transfer = Responses("/api/transfers/{id}", "get").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.EndsWith("TransferStatus", transfer.GetProperty("$ref").GetString(), StringComparison.Ordinal);
        Assert.True(Responses("/api/engines/{engine}/objects/{id}/dump", "get").GetProperty("200").GetProperty("content").TryGetProperty("application/sql", out _));

        HasProblems("/api/transfers/{id}", "get", "401", "404");
        HasProblems("/api/engines/{engine}/initialize", "post", "401", "404", "503");
        HasProblems("/api/engines/{engine}/tables", "get", "400", "403", "404", "503");
        HasProblems("/api/engines/{engine}/objects/upload", "post", "400", "404", "409", "504");
        HasProblems("/api/engines/{engine}/objects/{id}/dump", "get", "404", "429");
    }
}
