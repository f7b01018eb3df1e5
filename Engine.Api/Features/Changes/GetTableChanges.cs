using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Changes;

/// <summary>
/// <c>GET …/schemas/{schema}/tables/{table}/changes</c>: aggregate counts (<c>aggregate=true</c>), the raw log
/// (default) or net changes (<c>net=true</c>), paged by <c>after</c> and <c>limit</c>. <c>after</c> is a page's
/// <c>nextAfter</c> (0 for the first page): a log position, the event ID and the entry's place in it in one number.
/// </summary>
/// <param name="Offset">The page at this index of the view (net or raw) instead of after a position; answers carry the view's total.</param>
/// <param name="Key">Net view: the page (aligned to <paramref name="Limit"/>) that holds this key (JSON object, or a bare value for a one-column key).</param>
public sealed record GetTableChangesQuery(string Engine, string Schema, string Table, bool Aggregate, bool Net, long After, int Limit,
    long? Offset = null, string? Key = null)
    : IRequest<object>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Table(Schema, Table);
        Check.Paging(After, Limit);
        if (Offset < 0)
        {
            throw new InvalidInputException("Invalid paging", "'offset' must not be negative.");
        }

        if (!Net && Key is not null)
        {
            throw new InvalidInputException("Invalid paging", "'key' finds a page of the net view: add net=true.");
        }

        if (Key is { Length: 0 or > 10_000 })
        {
            throw new InvalidInputException("Invalid key", "'key' must be 1 to 10,000 characters.");
        }
    }
}

public sealed class GetTableChangesHandler(EngineSessions sessions, NetViewCache netViews) : IRequestHandler<GetTableChangesQuery, object>
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
            ? await changes.GetNetChangesAsync(request.Schema, request.Table,
                new NetPageRequest(request.After, request.Limit, request.Offset, request.Key), columns, netViews, request.Engine, cancellationToken)
            : request.Offset is { } offset
                ? await changes.GetPendingChangesAtAsync(request.Schema, request.Table, offset, request.Limit, columns, netViews, request.Engine, cancellationToken)
                : await changes.GetPendingChangesAsync(request.Schema, request.Table, request.After, request.Limit, columns, cancellationToken);
    }
}

public static class GetTableChanges
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/schemas/{schema}/tables/{table}/changes",
                (string engine, string schema, string table, bool? aggregate, bool? net, long? after, int? limit, long? offset, string? key,
                 IMediator mediator, CancellationToken ct) =>
                    mediator.Send(new GetTableChangesQuery(engine, schema, table, aggregate ?? false, net ?? false, after ?? 0, limit ?? 1000, offset, key), ct))
              .WithSummary("Pending changes of a tracked table: aggregate {added, removed, updated}, or a page of entries (raw or net; the net view " +
                           "with its total, by offset or the page holding a key).");
}
