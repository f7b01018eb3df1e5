using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Tables;

/// <summary><c>GET …/tables?schema=</c>: user tables with primary key, tracked flag and row estimate.</summary>
public sealed record ListTablesQuery(string Engine, string? Schema) : IRequest<IReadOnlyList<TableInfo>>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        if (Schema is not null)
        {
            Check.Schema(Schema);
        }
    }
}

public sealed class ListTablesHandler(EngineSessions sessions) : IRequestHandler<ListTablesQuery, IReadOnlyList<TableInfo>>
{
    public async Task<IReadOnlyList<TableInfo>> Handle(ListTablesQuery request, CancellationToken cancellationToken)
    {
        var engine = sessions.Open(request.Engine);
        if (request.Schema is not null)
        {
            await SchemaCheck.RequireAsync(engine, request.Schema, cancellationToken);
        }

        var rows = (List<object?[]>)(await engine.RunSqlAsync(
            $"""
            SELECT n.nspname, c.relname,
                   coalesce((SELECT array_agg(a.attname ORDER BY k.position)
                             FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                             WHERE i.indrelid = c.oid AND i.indisprimary), ARRAY[]::name[]),
                   EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = '{ChangeEngine.RowTrigger}'),
                   -- Live rows as the statistics collector counts them (kept by every insert and delete, no ANALYZE
                   -- needed); reltuples is -1 until the first ANALYZE, so a freshly loaded table would show 0.
                   coalesce(s.n_live_tup, greatest(c.reltuples, 0)::bigint)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND {UserTables.SqlCondition("n.nspname")}
              AND ($1::text IS NULL OR n.nspname = $1)
            ORDER BY 1, 2
            """, [(object?)request.Schema ?? DBNull.Value], ResultShape.ManyMany, cancellationToken))!;
        return rows.Select(r => new TableInfo((string)r[0]!, (string)r[1]!, (string[])r[2]!, (bool)r[3]!, (long)r[4]!)).ToList();
    }
}

public static class ListTables
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/tables", (string engine, string? schema, IMediator mediator, CancellationToken ct) => mediator.Send(new ListTablesQuery(engine, schema), ct))
              .WithSummary("User tables with primary key, tracked flag and row estimate.");
}
