using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Features.Changes;

/// <summary><c>GET …/schemas/{schema}/tables/{table}/dump</c>: CREATE TABLE IF NOT EXISTS (columns and key) and the rows as SQL, streamed.</summary>
public sealed record DumpTableQuery(string Engine, string Schema, string Table) : IRequest<IResult>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Table(Schema, Table);
}

public sealed class DumpTableHandler(DumpGate gate) : IRequestHandler<DumpTableQuery, IResult>
{
    public Task<IResult> Handle(DumpTableQuery request, CancellationToken cancellationToken)
    {
        // A 403/404 before the response starts (user tables only); within the engine's dump slots (429 beyond them).
        // The dump opens with the table's CREATE TABLE, so it rebuilds the table on its own.
        var create = string.Empty;
        return gate.StreamAsync(request.Engine,
            async (engine, token) => create = await TableDefinition.OfTableAsync(engine, request.Schema, request.Table, token),
            async (engine, writer) =>
            {
                await writer.WriteAsync(create);
                await engine.DumpTableSqlAsync(request.Schema, request.Table, writer);
            },
            "application/sql", fileDownloadName: null, cancellationToken);
    }
}

public static class DumpTable
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/schemas/{schema}/tables/{table}/dump", (string engine, string schema, string table, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new DumpTableQuery(engine, schema, table), ct))
              .Produces<string>(StatusCodes.Status200OK, "application/sql")
              // Beyond the engine's dump slots, with Retry-After.
              .ProducesProblem(StatusCodes.Status429TooManyRequests)
              .WithSummary("The table as SQL: CREATE TABLE IF NOT EXISTS (columns, primary key) then INSERT statements (application/sql, streamed).");
}
