using Engine.Api.Engine.Versions;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Versions;

/// <summary><c>GET …/diff?from=&amp;to=</c>: per-table counts between two images, or an image and the working state.</summary>
public sealed record DiffQuery(string Engine, string Schema, string? From, string? To) : IRequest<VersionDiff>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Schema(Schema);
        DiffInput.RequireFrom(From);
    }
}

public sealed class DiffHandler(EngineSessions sessions) : IRequestHandler<DiffQuery, VersionDiff>
{
    public Task<VersionDiff> Handle(DiffQuery request, CancellationToken cancellationToken) =>
        new VersionDiffer(sessions.Open(request.Engine)).DiffAsync(request.Schema, request.From!, request.To, cancellationToken);
}

/// <summary><c>GET …/diff/tables/{table}</c>: a page of one table's row changes (old → new).</summary>
public sealed record DiffRowsQuery(string Engine, string Schema, string Table, string? From, string? To, long After, int Limit)
    : IRequest<ChangePage>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Table(Schema, Table);
        DiffInput.RequireFrom(From);
        Check.Paging(After, Limit);
    }
}

public sealed class DiffRowsHandler(EngineSessions sessions) : IRequestHandler<DiffRowsQuery, ChangePage>
{
    public Task<ChangePage> Handle(DiffRowsQuery request, CancellationToken cancellationToken) =>
        new VersionDiffer(sessions.Open(request.Engine)).RowsAsync(request.Schema, request.Table, request.From!, request.To, request.After, request.Limit, cancellationToken);
}

public static class DiffInput
{
    public static void RequireFrom(string? from)
    {
        if (string.IsNullOrEmpty(from))
        {
            throw new Engine.InvalidInputException("No image to diff from", "Give ?from= (an image hash, prefix or tag); ?to= defaults to the working state.");
        }
    }
}

public static class Diffs
{
    public static void Map(IEndpointRouteBuilder engine)
    {
        engine.MapGet("/repositories/{schema}/diff", (string engine, string schema, string? from, string? to, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new DiffQuery(engine, schema, from, to), ct))
              .WithSummary("Per-table added/removed/updated rows between two images (no ?to=: the working state).");
        engine.MapGet("/repositories/{schema}/diff/tables/{table}",
                (string engine, string schema, string table, string? from, string? to, long? after, int? limit, IMediator mediator, CancellationToken ct) =>
                    mediator.Send(new DiffRowsQuery(engine, schema, table, from, to, after ?? 0, limit ?? 1000), ct))
              .WithSummary("A page of one table's row changes between two images (old and new rows), ordered by key.");
    }
}
