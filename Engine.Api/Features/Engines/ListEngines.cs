using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Engines;

/// <summary><c>GET /api/engines</c>: every engine with its health, version and counts. A down engine is reported, not a 500.</summary>
public sealed record ListEnginesQuery : IRequest<IReadOnlyList<EngineInfo>>;

public sealed class ListEnginesHandler(EngineRegistry registry, EngineProbe probe, EngineStatus status) : IRequestHandler<ListEnginesQuery, IReadOnlyList<EngineInfo>>
{
    public async Task<IReadOnlyList<EngineInfo>> Handle(ListEnginesQuery request, CancellationToken cancellationToken) =>
        await Task.WhenAll(registry.Names.Select(name => DescribeWithinTimeoutAsync(registry.Get(name), cancellationToken)));

    private async Task<EngineInfo> DescribeWithinTimeoutAsync(EngineEndpoint endpoint, CancellationToken cancellationToken) =>
        await probe.RunAsync(token => DescribeAsync(endpoint, status, token), cancellationToken)
        ?? new EngineInfo(endpoint.Name, false, null, endpoint.Database, 0, 0, 0, 0, probe.NotAnswering(endpoint.Name));

    private static async Task<EngineInfo> DescribeAsync(EngineEndpoint endpoint, EngineStatus status, CancellationToken cancellationToken)
    {
        await using var engine = new SqlEngine(endpoint);
        try
        {
            var basics = await EngineOverview.ReadBasicsAsync(engine, cancellationToken);
            if (!basics.Initialized)
            {
                return new EngineInfo(endpoint.Name, true, basics.ServerVersion, basics.Database, 0, 0, 0, 0,
                    status.InitializationError(endpoint.Name) ?? "Not initialised yet.");
            }

            var counts = await EngineOverview.ReadCountsAsync(engine, cancellationToken);
            return new EngineInfo(endpoint.Name, true, basics.ServerVersion, basics.Database, counts.TrackedTables, counts.PendingChanges,
                counts.ObjectCount, counts.ObjectBytes, null);
        }
        catch (EngineException ex)
        {
            // What is wrong right now (down, refused) beats the last initialisation's reason; that beats "not initialised".
            var reason = ex is EngineUnavailableException or EngineAccessException ? ex.Message : status.InitializationError(endpoint.Name) ?? ex.Message;
            return new EngineInfo(endpoint.Name, false, null, endpoint.Database, 0, 0, 0, 0, reason);
        }
    }
}

public static class ListEngines
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/engines", (IMediator mediator, CancellationToken ct) => mediator.Send(new ListEnginesQuery(), ct))
           .WithName("ListEngines").WithSummary("Every engine: health, server version, tracked tables, pending changes, objects.");
}
