namespace Engine.Api.Engine;

/// <summary>
/// The conflation of a table's log, set-based. Parameters: $1 schema, $2 table, $3 change-key columns (text[]).
/// Each log row becomes one or two per-key entries (a bulk insert entry: one per key) with a "before" and an
/// "after" state; per key, the first entry's before and the last entry's after decide the net effect.
/// Entries are ordered by statement, then by phase: within one statement every entry that removes a row image (a
/// delete, an update's old row) comes before every entry that adds one (an insert, an update's new row), whatever
/// order the triggers wrote them in. A statement is thus the difference between the table before and after it: a
/// MERGE that deletes key 1 and moves key 2 onto it, a key shift over a range or a swap of two keys net correctly.
/// </summary>
internal static class NetChangesSql
{
    /// <summary>
    /// CTEs ending in <c>net</c>: position, last_event, row_key, upserted, old_row, new_row (jsonb), new_row_live
    /// (true when the after state is the live row: the key's last entry is a bulk insert, which logs only the key).
    /// </summary>
    /// <param name="source">The tracked table, qualified and quoted.</param>
    public static string Net(string source, ChangeKey key) =>
        $"""
        WITH log AS (
            SELECT event_id, coalesce(statement_id, event_id) AS statement_id, action, row_data, row_text, new_text,
                   CASE WHEN action = 'U' THEN row_data || coalesce(changed_fields, '{"{}"}') END AS new_data,
                   action = 'U' AND EXISTS (SELECT 1 FROM pg_catalog.unnest($3::text[]) AS k
                                            WHERE changed_fields ? k AND changed_fields -> k IS DISTINCT FROM row_data -> k) AS key_changed,
                   -- Logged although its jsonb images are equal: the row changed in a way jsonb cannot show (-0, json text).
                   action = 'U' AND changed_fields = row_data AS image_only
            FROM splitgraph_audit.logged_actions
            WHERE schema_name = $1 AND table_name = $2 AND NOT {LogPosition.IsBulk("action", "changed_fields")}
        ),
        -- phase 0: the entry starts from a row the statement found (delete, update); 1: it only adds one.
        -- old_text/after_text: the exact row texts of tables logged with them (trigger argument 'texts'), else NULL.
        entries AS (
            SELECT event_id, statement_id, CASE WHEN action = 'I' THEN 1 ELSE 0 END AS phase, 0 AS sub, row_data AS key_source, image_only,
                   action <> 'I' AS before_present, CASE WHEN action <> 'I' THEN row_data END AS old_row,
                   action = 'I' OR (action = 'U' AND NOT key_changed) AS after_present,
                   CASE WHEN action = 'I' THEN row_data WHEN action = 'U' AND NOT key_changed THEN new_data END AS new_row,
                   CASE WHEN action <> 'I' THEN row_text END AS old_text,
                   CASE WHEN action = 'I' THEN row_text WHEN action = 'U' AND NOT key_changed THEN new_text END AS after_text
            FROM log
            UNION ALL
            SELECT event_id, statement_id, 1, 1, new_data, false, false, NULL, true, new_data, NULL, new_text FROM log WHERE key_changed
        ),
        keyed AS (
            SELECT event_id, statement_id, phase, sub, image_only, before_present, old_row, after_present, new_row, old_text, after_text,
                   {KeyOf("key_source", key)} AS row_key FROM entries
            UNION ALL
            SELECT b.event_id, b.statement_id, 1, b.sub, false, false, NULL, true, NULL, NULL, NULL, b.row_key FROM ({BulkKeys(key, "")}) b
        ),
        -- One sort serves both ends of each key: the window reads its first entry, DISTINCT ON keeps its last.
        ends AS (
            SELECT DISTINCT ON (row_key) row_key, event_id, sub, after_present, new_row, after_text,
                   last_value(before_present) OVER w AS first_before_present, last_value(old_row) OVER w AS first_old_row,
                   last_value(old_text) OVER w AS first_old_text,
                   last_value(event_id) OVER w AS first_event,
                   bool_or(image_only) OVER w AS image_changed
            FROM keyed
            WINDOW w AS (PARTITION BY row_key ORDER BY statement_id DESC, phase DESC, event_id DESC, sub DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ORDER BY row_key, statement_id DESC, phase DESC, event_id DESC, sub DESC
        ),
        net AS (
            SELECT {LogPosition.Sql("e.event_id", "e.sub")} AS position, e.event_id AS last_event, e.row_key, e.after_present AS upserted,
                   e.first_old_row AS old_row, e.new_row, e.after_present AND e.new_row IS NULL AS new_row_live,
                   -- The log row holding the old row (its row_data), for views that keep references instead of rows.
                   CASE WHEN e.first_before_present THEN e.first_event END AS old_event
            FROM ends e
            WHERE (e.first_before_present OR e.after_present)
              -- Back where it started: nothing to commit (a bulk insert's after state is the live row). By the exact row
              -- texts where both ends have one (jsonb writes float8 -0 as 0: a key moved 0 -> -0 with another column
              -- that a later statement puts back is a change); else by jsonb text, not jsonb equality (numeric 1.0 ->
              -- 1.00 is a change), unless an update in between changed only what jsonb cannot show.
              AND NOT (e.first_before_present AND e.after_present
                       AND CASE WHEN e.first_old_text IS NOT NULL AND (e.after_text IS NOT NULL OR e.new_row IS NULL)
                                THEN e.first_old_text = coalesce(e.after_text, {LiveText(source, key, "e.row_key")})
                                ELSE NOT e.image_changed
                                     AND e.first_old_row::text = (CASE WHEN e.new_row IS NOT NULL THEN e.new_row ELSE {LiveRow(source, key, "e.row_key")} END)::text
                           END)
        )
        """;

    /// <summary>A page of net changes: <see cref="Net"/> plus $4 position (exclusive) and $5 limit.</summary>
    public static string Page(string source, ChangeKey key) =>
        Net(source, key) +
        $"""
        SELECT n.position, n.last_event, n.row_key::text, n.upserted, n.old_row::text,
               (CASE WHEN n.new_row_live THEN {LiveRow(source, key, "n.row_key")} ELSE n.new_row END)::text
        FROM (SELECT * FROM net WHERE position > $4 ORDER BY position LIMIT $5) n
        ORDER BY n.position
        """;

    /// <summary>
    /// The whole net view as references, in position order: position, last_event, row_key, upserted, old_event,
    /// new_row_live. Rows stay in the log; <see cref="RowsOf"/> reads those of one page.
    /// </summary>
    public static string Index(string source, ChangeKey key) =>
        Net(source, key) +
        """
        SELECT n.position, n.last_event, n.row_key::text, n.upserted, n.old_event, n.new_row_live FROM net n ORDER BY n.position
        """;

    /// <summary>
    /// The old and new rows of index entries ($3 key columns; $4 old_event, $5 last_event, $6 upserted, $7 new_row_live,
    /// $8 row_key arrays, one element per entry), in the order given: the old row is the row_data of the key's first
    /// entry that found a row, the new one its last entry's image (an update's row_data with its new values, an insert's
    /// row) or the live row for a bulk insert. A null log row where an event is given means the log moved on.
    /// </summary>
    public static string RowsOf(string source, ChangeKey key) =>
        $"""
        SELECT p.ord, o.row_data::text,
               (CASE WHEN NOT p.upserted THEN NULL
                     WHEN p.live THEN {LiveRow(source, key, "p.row_key")}
                     WHEN l.action = 'U' THEN l.row_data || coalesce(l.changed_fields, '{"{}"}')
                     ELSE l.row_data END)::text,
               (p.old_event IS NULL OR o.event_id IS NOT NULL) AND (NOT p.upserted OR p.live OR l.event_id IS NOT NULL) AS found
        FROM ROWS FROM (pg_catalog.unnest($4::bigint[]), pg_catalog.unnest($5::bigint[]), pg_catalog.unnest($6::boolean[]),
                        pg_catalog.unnest($7::boolean[]), pg_catalog.unnest($8::jsonb[])) WITH ORDINALITY
             AS p(old_event, last_event, upserted, live, row_key, ord)
        LEFT JOIN splitgraph_audit.logged_actions o ON o.event_id = p.old_event AND o.schema_name = $1 AND o.table_name = $2
        LEFT JOIN splitgraph_audit.logged_actions l ON l.event_id = p.last_event AND p.upserted AND NOT p.live AND l.schema_name = $1 AND l.table_name = $2
        ORDER BY p.ord
        """;

    /// <summary>
    /// What the table's log holds, in one row (count, sum and max of its event IDs): the log only grows by new event
    /// IDs and shrinks by deleting rows, so a view computed under one value is the view for as long as it holds.
    /// </summary>
    public const string LogFingerprint =
        """
        SELECT pg_catalog.count(*), coalesce(pg_catalog.sum(event_id), 0)::text, coalesce(pg_catalog.max(event_id), 0)
        FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND table_name = $2
        """;

    /// <summary>
    /// The key object of a logged row (<c>{"id": 1}</c>), from the key columns in $3. jsonb objects are
    /// normalised, so keys built here and from a bulk entry compare equal.
    /// </summary>
    public static string KeyOf(string rowData, ChangeKey key) =>
        "jsonb_build_object(" + string.Join(", ", key.Columns.Select((_, i) => $"($3::text[])[{i + 1}], {rowData} -> ($3::text[])[{i + 1}]")) + ")";

    /// <summary>
    /// Rows (event_id, statement_id, sub, row_key) of the table's bulk insert entries, one per key, sub from 1 in insertion order.
    /// <paramref name="filter"/> narrows the log rows (alias l) and the subs (alias e).
    /// </summary>
    public static string BulkKeys(ChangeKey key, string filter)
    {
        var names = string.Join(", ", key.Columns.Select((_, i) => $"k{i + 1}"));
        var arrays = string.Join(", ", key.Columns.Select((_, i) => $"jsonb_array_elements(b.keys -> ($3::text[])[{i + 1}])"));
        var build = string.Join(", ", key.Columns.Select((_, i) => $"($3::text[])[{i + 1}], e.k{i + 1}"));
        return $"""
            SELECT l.event_id, coalesce(l.statement_id, l.event_id) AS statement_id, e.sub::int AS sub, jsonb_build_object({build}) AS row_key
            FROM splitgraph_audit.logged_actions l
            CROSS JOIN LATERAL splitgraph_audit.bulk_keys(l.row_data, $3::text[], $1, $2) AS b(keys)
            CROSS JOIN LATERAL ROWS FROM ({arrays}) WITH ORDINALITY AS e({names}, sub)
            WHERE l.schema_name = $1 AND l.table_name = $2 AND {LogPosition.IsBulk("l.action", "l.changed_fields")} {filter}
            """;
    }

    /// <summary>
    /// The live row (jsonb, in the log's fixed TimeZone/IntervalStyle/float format, so it compares with logged rows) of
    /// a key object, or NULL; bulk entries exist only for tables with a primary key.
    /// </summary>
    public static string LiveRow(string source, ChangeKey key, string rowKey) =>
        $"(SELECT splitgraph_audit.row_image(s.*) FROM {source} s, {KeyMatch.KeyRecord(rowKey, key, "k")} WHERE {KeyMatch.Sql(key, "s", "k")})";

    /// <summary>The live row's exact text (as the triggers log row texts) of a key object, or NULL.</summary>
    public static string LiveText(string source, ChangeKey key, string rowKey) =>
        $"(SELECT splitgraph_audit.record_text(s.*) FROM {source} s, {KeyMatch.KeyRecord(rowKey, key, "k")} WHERE {KeyMatch.Sql(key, "s", "k")})";
}

/// <summary>
/// Positions of change entries: the log row's event ID and the entry's place in it (sub), in one long so the paging
/// cursor stays a single number. Per-row entries have sub 0 (a key-changing update's upsert: 1); a bulk entry's keys
/// 1…10,000.
/// </summary>
internal static class LogPosition
{
    private const int SubBits = 16;

    public static long Of(long eventId, int sub) => (eventId << SubBits) | (uint)sub;

    public static (long EventId, int Sub) Split(long position) => (position >> SubBits, (int)(position & ((1 << SubBits) - 1)));

    public static string Sql(string eventId, string sub) => $"(({eventId} << {SubBits}) | {sub})";

    /// <summary>True for a bulk insert entry (key arrays in row_data, the row count in changed_fields).</summary>
    public static string IsBulk(string action, string changedFields) => $"({action} = 'I' AND {changedFields} IS NOT NULL)";
}
