using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Changes;

/// <summary>
/// <c>GET …/schemas/{schema}/tables/{table}/changes</c>: aggregate counts (<c>aggregate=true</c>), the raw log
/// (default) or net changes (<c>net=true</c>), paged by <c>after</c> (event ID) and <c>limit</c>.
/// </summary>
public sealed record GetTableChangesQuery(string Engine, string Schema, string Table, bool Aggregate, bool Net, long After, int Limit)
    : IRequest<object>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Table(Schema, Table);
        Check.Paging(After, Limit);
    }
}

public sealed class GetTableChangesHandler(EngineSessions sessions) : IRequestHandler<GetTableChangesQuery, object>
{
    public async Task<object> Handle(GetTableChangesQuery request, CancellationToken cancellationToken)
    {
        var changes = new ChangeEngine(sessions.Open(request.Engine));
        var columns = await TableCatalog.RequireUserColumnsAsync(changes.Sql, request.Schema, request.Table, cancellationToken);
        if (!await changes.IsTrackedAsync(request.Schema, request.Table, cancellationToken))
        {
            throw new TableNotTrackedException(request.Schema, request.Table);
        }

        if (request.Aggregate)
        {
            return await changes.GetAggregateChangesAsync(request.Schema, request.Table, cancellationToken);
        }

        return request.Net
            ? await changes.GetNetChangesAsync(request.Schema, request.Table, request.After, request.Limit, columns, cancellationToken)
            : await changes.GetPendingChangesAsync(request.Schema, request.Table, request.After, request.Limit, columns, cancellationToken);
    }
}

public static class GetTableChanges
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/schemas/{schema}/tables/{table}/changes",
                (string engine, string schema, string table, bool? aggregate, bool? net, long? after, int? limit, IMediator mediator, CancellationToken ct) =>
                    mediator.Send(new GetTableChangesQuery(engine, schema, table, aggregate ?? false, net ?? false, after ?? 0, limit ?? 1000), ct))
              .WithSummary("Pending changes of a tracked table: aggregate {added, removed, updated}, or a page of entries (raw or net).");
}
