using System.Text;
using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Features.Changes;

/// <summary><c>GET …/schemas/{schema}/tables/{table}/dump</c>: CREATE TABLE IF NOT EXISTS (columns and key) and the rows as SQL, streamed.</summary>
public sealed record DumpTableQuery(string Engine, string Schema, string Table) : IRequest<IResult>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Table(Schema, Table);
}

public sealed class DumpTableHandler(EngineSessions sessions, EngineRegistry registry) : IRequestHandler<DumpTableQuery, IResult>
{
    public async Task<IResult> Handle(DumpTableQuery request, CancellationToken cancellationToken)
    {
        // Fail with a 404 before the response starts; the stream itself runs on its own connection.
        var create = await TableDefinition.OfTableAsync(sessions.Open(request.Engine), request.Schema, request.Table, cancellationToken);
        var endpoint = registry.Get(request.Engine);
        return Results.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(false), bufferSize: 1 << 16);
            await writer.WriteAsync(create);
            await using var engine = new SqlEngine(endpoint);
            await engine.DumpTableSqlAsync(request.Schema, request.Table, writer);
        }, "application/sql");
    }
}

public static class DumpTable
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/schemas/{schema}/tables/{table}/dump", (string engine, string schema, string table, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new DumpTableQuery(engine, schema, table), ct))
              .WithSummary("The table as SQL: CREATE TABLE IF NOT EXISTS (columns, primary key) then INSERT statements (application/sql, streamed).");
}
