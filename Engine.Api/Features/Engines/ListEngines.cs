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
            var basics = (object?[])(await engine.RunSqlAsync(
                """
                SELECT current_setting('server_version'), current_database(),
                       to_regclass('splitgraph_audit.pending_counts') IS NOT NULL AND to_regclass('splitgraph_meta.objects') IS NOT NULL
                """, null, ResultShape.OneMany, cancellationToken))!;
            var (version, database, initialized) = ((string)basics[0]!, (string)basics[1]!, (bool)basics[2]!);
            if (!initialized)
            {
                return new EngineInfo(endpoint.Name, true, version, database, 0, 0, 0, 0, status.InitializationError(endpoint.Name) ?? "Not initialised yet.");
            }

            var counts = (object?[])(await engine.RunSqlAsync(
                $"""
                SELECT (SELECT count(DISTINCT tgrelid) FROM pg_trigger WHERE tgname = '{ChangeEngine.RowTrigger}')::int,
                       (SELECT coalesce(sum(inserted + deleted), 0)::bigint FROM splitgraph_audit.pending_counts)
                         + (SELECT count(*) FROM splitgraph_audit.logged_actions WHERE action = 'U'),
                       (SELECT count(*) FROM splitgraph_meta.objects)::int,
                       (SELECT coalesce(sum(size_bytes), 0)::bigint FROM splitgraph_meta.objects)
                """, null, ResultShape.OneMany, cancellationToken))!;
            return new EngineInfo(endpoint.Name, true, version, database, (int)counts[0]!, (long)counts[1]!, (int)counts[2]!, (long)counts[3]!, null);
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
