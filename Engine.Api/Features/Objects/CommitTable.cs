using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary>
/// <c>POST …/schemas/{schema}/tables/{table}/commit</c>: net pending changes → fragment object (or the whole table
/// with <c>snapshot=true</c>), consumed log rows discarded, in one repeatable-read transaction.
/// </summary>
public sealed record CommitTableCommand(string Engine, string Schema, string Table, bool Snapshot) : IRequest<CommitResult>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Table(Schema, Table);
}

public sealed class CommitTableHandler(EngineSessions sessions) : IRequestHandler<CommitTableCommand, CommitResult>
{
    public Task<CommitResult> Handle(CommitTableCommand request, CancellationToken cancellationToken) =>
        new TableCommitter(sessions.Open(request.Engine, TableCommitter.Isolation))
            .CommitAsync(request.Schema, request.Table, request.Snapshot, cancellationToken);
}

public static class CommitTable
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/schemas/{schema}/tables/{table}/commit", (string engine, string schema, string table, bool? snapshot, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new CommitTableCommand(engine, schema, table, snapshot ?? false), ct))
              .WithSummary("Commit a tracked table's pending changes into an object; ?snapshot=true stores the whole table.");
}
