namespace Engine.Api.Engine;

/// <summary>
/// The net changes of a table without a primary key, as a multiset: its rows have no identity but their whole value, so
/// every logged row text counts one copy — inserts and an update's new row add one, deletes and an update's old row
/// remove one — and the net change of each distinct row text is the sum (two duplicates inserted: +2; a row updated
/// and back: 0). Order does not matter, so statements need no ordering. Row texts are the trigger's exact ones (float8
/// -0, numeric scale and json text included); entries logged without one (older logs) fall back to their jsonb.
/// Parameters: $1 schema, $2 table. Read with <see cref="LogSettings"/> fixed, so texts cast back to rows exactly.
/// </summary>
internal static class MultisetChangesSql
{
    /// <summary>CTEs ending in <c>copies</c>: image (row text), added (bool), last_event, copy (1…n), one row per copy.</summary>
    /// <param name="source">The tracked table, qualified and quoted.</param>
    public static string Copies(string source) =>
        $$"""
        WITH images AS (
            SELECT event_id, coalesce(row_text, splitgraph_audit.record_text(pg_catalog.jsonb_populate_record(NULL::{{source}}, row_data))) AS image,
                   CASE WHEN action = 'I' THEN 1 ELSE -1 END AS n
            FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND table_name = $2
            UNION ALL
            SELECT event_id, coalesce(new_text, splitgraph_audit.record_text(pg_catalog.jsonb_populate_record(NULL::{{source}}, row_data || coalesce(changed_fields, '{}')))), 1
            FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND table_name = $2 AND action = 'U'
        ),
        multiset AS (
            SELECT image, pg_catalog.sum(n)::bigint AS n, pg_catalog.max(event_id) AS last_event FROM images GROUP BY image HAVING pg_catalog.sum(n) <> 0
        ),
        copies AS (
            SELECT m.image, m.n > 0 AS added, m.last_event, c.copy FROM multiset m, pg_catalog.generate_series(1, pg_catalog.abs(m.n)) AS c(copy)
        )
        """;

    /// <summary>
    /// A page of net changes in the shape of <see cref="NetChangesSql.Page"/>: one entry per copy, the row as its key,
    /// ordered by the last log entry of its row text. $3 position (exclusive, an ordinal here), $4 limit.
    /// </summary>
    public static string Page(string source) =>
        Copies(source) +
        $"""
        , numbered AS (
            SELECT pg_catalog.row_number() OVER (ORDER BY last_event, added, image, copy) AS position, last_event, added,
                   splitgraph_audit.row_image(CAST(image AS {source})) AS row_image
            FROM copies)
        SELECT position, last_event, row_image::text, added, CASE WHEN NOT added THEN row_image::text END, CASE WHEN added THEN row_image::text END
        FROM numbered WHERE position > $3 ORDER BY position LIMIT $4
        """;

    /// <summary>
    /// Deletes exactly as many copies of each row as the fragment's delete rows hold (of every row text, the first n
    /// copies found), as <c>ROW(…)::text</c> of the given columns on both sides.
    /// </summary>
    public static string DeleteCopies(string target, string fragment, string flag, IReadOnlyList<string> quotedColumns)
    {
        string Row(string alias) => $"ROW({string.Join(", ", quotedColumns.Select(c => $"{alias}.{c}"))})::text";
        return $"""
            DELETE FROM {target} t USING (
                SELECT x.ctid FROM (
                    SELECT s.ctid, {Row("s")} AS image, pg_catalog.row_number() OVER (PARTITION BY {Row("s")}) AS copy
                    FROM {target} s WHERE {Row("s")} IN (SELECT {Row("f")} FROM {fragment} f WHERE NOT f.{flag})) x
                JOIN (SELECT {Row("f")} AS image, pg_catalog.count(*) AS n FROM {fragment} f WHERE NOT f.{flag} GROUP BY 1) d
                  ON d.image = x.image AND x.copy <= d.n) v
            WHERE t.ctid = v.ctid
            """;
    }
}

/// <summary>
/// The settings the trigger functions fix (see initialize.sql), set for the rest of the engine's transaction until
/// disposed (then restored): row texts from the log cast back to the same values, whatever the session's settings.
/// </summary>
internal sealed class LogSettings(SqlEngine engine, string[] saved) : IAsyncDisposable
{
    private static readonly string[] Names = ["DateStyle", "IntervalStyle", "TimeZone", "extra_float_digits", "bytea_output"];
    private static readonly string[] Fixed = ["ISO, YMD", "postgres", "UTC", "3", "hex"];

    public static async Task<LogSettings> FixAsync(SqlEngine engine, CancellationToken cancellationToken)
    {
        var saved = await engine.ScalarAsync<string[]>(
            "SELECT pg_catalog.array_agg(pg_catalog.current_setting(n) ORDER BY o) FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(n, o)",
            [ChangeEngine.ArrayParameter(Names, NpgsqlTypes.NpgsqlDbType.Text)], cancellationToken);
        await SetAsync(engine, Fixed, cancellationToken);
        return new LogSettings(engine, saved);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SetAsync(engine, saved, CancellationToken.None);
        }
        catch (EngineException)
        {
            // The statement in between failed and aborted the transaction, which undoes these settings anyway; the
            // caller sees that statement's error, not this one.
        }
    }

    private static Task SetAsync(SqlEngine engine, string[] values, CancellationToken cancellationToken) =>
        engine.ExecuteAsync("SELECT pg_catalog.count(pg_catalog.set_config(n, v, true)) FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS x(n, v)",
            [ChangeEngine.ArrayParameter(Names, NpgsqlTypes.NpgsqlDbType.Text), ChangeEngine.ArrayParameter(values, NpgsqlTypes.NpgsqlDbType.Text)],
            cancellationToken);
}
