using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Changes;

/// <summary><c>DELETE …/schemas/{schema}/changes?table=</c>: discard the pending changes of a schema or one of its tables.</summary>
public sealed record DiscardChangesCommand(string Engine, string Schema, string? Table) : IRequest<DiscardResult>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Schema(Schema);
        if (Table is not null)
        {
            Identifiers.Validate(Table, "table name");
        }
    }
}

public sealed class DiscardChangesHandler(EngineSessions sessions) : IRequestHandler<DiscardChangesCommand, DiscardResult>
{
    public async Task<DiscardResult> Handle(DiscardChangesCommand request, CancellationToken cancellationToken)
    {
        var engine = sessions.Open(request.Engine);
        await SchemaCheck.RequireAsync(engine, request.Schema, cancellationToken);
        // A table that no longer exists can still be named: whatever is logged under its name is discarded (a dropped
        // tracked table's changes are discarded anyway, see splitgraph_audit.reconcile). A name that is neither a table
        // nor has anything logged is a 404, as everywhere else. Engine and system schemas never.
        UserTables.RequireUserSchema(Identifiers.Validate(request.Schema, "schema name"));
        var discarded = await new ChangeEngine(engine).DiscardPendingChangesAsync(request.Schema, request.Table, cancellationToken);
        if (discarded == 0 && request.Table is not null && await TableCatalog.GetColumnsAsync(engine, request.Schema, request.Table, cancellationToken) is null)
        {
            throw new TableNotFoundException(request.Schema, request.Table);
        }

        return new DiscardResult(discarded);
    }
}

public static class DiscardChanges
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapDelete("/schemas/{schema}/changes", (string engine, string schema, string? table, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new DiscardChangesCommand(engine, schema, table), ct))
              .WithSummary("Discard pending changes of a schema, or of one table with ?table=.");
}
