using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using Npgsql;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Sql;

/// <summary>
/// <c>POST …/sql</c>: run exactly one statement for development (more than one is a 400). Off unless <c>Engine:SqlConsole:Enabled</c> is true —
/// it is arbitrary SQL by design, so it must never be on where the API is reachable by others.
/// </summary>
public sealed record RunSqlCommand(string Engine, string? Statement) : IRequest<SqlResult>, IEngineRequest, IValidatable
{
    public const int MaxRows = 1000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Statement))
        {
            throw new InvalidInputException("Empty statement", "The statement is empty.");
        }
    }
}

public sealed class RunSqlHandler(EngineSessions sessions, IConfiguration configuration) : IRequestHandler<RunSqlCommand, SqlResult>
{
    public async Task<SqlResult> Handle(RunSqlCommand request, CancellationToken cancellationToken)
    {
        if (!configuration.GetValue("Engine:SqlConsole:Enabled", false))
        {
            throw new ConflictException("SQL console disabled", "The SQL console is off; set Engine:SqlConsole:Enabled=true in development.");
        }

        var engine = sessions.Open(request.Engine);
        try
        {
            return await RunOneAsync(engine, request.Statement!, cancellationToken);
        }
        catch (SqlRejectedException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.SyntaxError, Routine: "exec_parse_message" })
        {
            throw new InvalidInputException("More than one statement",
                "The SQL console runs exactly one statement per request; the input holds several. Send them one at a time.");
        }
    }

    /// <summary>
    /// Runs the text as one extended-protocol statement (a batch of one, which Npgsql never splits): the server's
    /// own parser then refuses text holding more than one statement, wherever its semicolons are.
    /// </summary>
    private static async Task<SqlResult> RunOneAsync(SqlEngine engine, string statement, CancellationToken cancellationToken) =>
        await engine.GuardAsync(async () =>
        {
            var connection = await engine.ConnectionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection, engine.CurrentTransaction) { BatchCommands = { new NpgsqlBatchCommand(statement) } };
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            var rows = new List<IReadOnlyList<object?>>();
            while (rows.Count < RunSqlCommand.MaxRows && await reader.ReadAsync(cancellationToken))
            {
                rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToList());
            }

            await reader.CloseAsync();
            return new SqlResult(columns, rows, reader.RecordsAffected);
        });
}

public static class RunSql
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/sql", (string engine, SqlRequest body, IMediator mediator, CancellationToken ct) => mediator.Send(new RunSqlCommand(engine, body.Statement), ct))
              .WithSummary("Development only: run one statement (off unless Engine:SqlConsole:Enabled).");
}
