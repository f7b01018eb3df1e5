using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Engines;

/// <summary><c>GET /api/capabilities</c>: switches and versions a client needs to show only the features that work.</summary>
public sealed record GetCapabilitiesQuery : IRequest<ApiCapabilities>;

public sealed class GetCapabilitiesHandler(EngineRegistry registry, IConfiguration configuration) : IRequestHandler<GetCapabilitiesQuery, ApiCapabilities>
{
    /// <summary>The setting <see cref="Sql.RunSqlHandler"/> reads.</summary>
    public const string SqlConsoleSetting = "Engine:SqlConsole:Enabled";

    public async Task<ApiCapabilities> Handle(GetCapabilitiesQuery request, CancellationToken cancellationToken) =>
        new(configuration.GetValue(SqlConsoleSetting, false), SqlConsoleSetting,
            await Task.WhenAll(registry.Names.Select(name => VersionAsync(registry.Get(name), cancellationToken))));

    private static async Task<EngineVersion> VersionAsync(EngineEndpoint endpoint, CancellationToken cancellationToken)
    {
        await using var engine = new SqlEngine(endpoint);
        try
        {
            return new EngineVersion(endpoint.Name,
                await EngineOverview.ReadServerVersionAsync(engine, cancellationToken));
        }
        catch (EngineException)
        {
            // A down engine has no version to report; GET /api/engines says why.
            return new EngineVersion(endpoint.Name, null);
        }
    }
}

public static class GetCapabilities
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/capabilities", (IMediator mediator, CancellationToken ct) => mediator.Send(new GetCapabilitiesQuery(), ct))
           .WithSummary("What this API offers: the SQL console switch and each engine's PostgreSQL version.");
}
