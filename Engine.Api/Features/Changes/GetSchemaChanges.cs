using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Changes;

/// <summary><c>GET …/schemas/{schema}/changes</c>: whether the schema has pending changes, and in which tables.</summary>
public sealed record GetSchemaChangesQuery(string Engine, string Schema) : IRequest<SchemaChanges>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class GetSchemaChangesHandler(EngineSessions sessions) : IRequestHandler<GetSchemaChangesQuery, SchemaChanges>
{
    public async Task<SchemaChanges> Handle(GetSchemaChangesQuery request, CancellationToken cancellationToken)
    {
        var changes = new ChangeEngine(sessions.Open(request.Engine));
        await SchemaCheck.RequireAsync(changes.Sql, request.Schema, cancellationToken);
        var tables = await changes.GetChangedTablesAsync(request.Schema, cancellationToken);
        return new SchemaChanges(tables.Count > 0, tables);
    }
}

public static class GetSchemaChanges
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/schemas/{schema}/changes", (string engine, string schema, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new GetSchemaChangesQuery(engine, schema), ct))
              .WithSummary("Pending changes of a schema: has any, and which tables.");
}
