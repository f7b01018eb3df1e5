using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace Engine.Api.Engine;

/// <summary>
/// Every statement that reads a table's change log — commit (keyed and no-key), net changes (page, index, rows of a
/// page), the raw log's pages — whole, in this one file.
/// <para>
/// Values are named parameters (Npgsql binds <c>@name</c> to the <see cref="Named(string, object?)"/> parameter of that
/// name): <c>@schema</c>, <c>@table</c> (text), <c>@key_columns</c> (text[], the change key's column names in key
/// order), <c>@after</c> (a position, exclusive), <c>@limit</c>, and the arrays each statement documents.
/// </para>
/// <para>
/// What depends on the table is a <c>{placeholder}</c> that <see cref="Build"/> fills from the catalogue's names,
/// validated and quoted, never from request text; the built statement is logged at Debug (category
/// <c>Engine.Api.Engine.ChangeLogSql</c>). Placeholders:
/// <list type="bullet">
/// <item><c>{net}</c>, <c>{copies}</c>, <c>{bulk_keys}</c>: the fragments <see cref="Net"/>, <see cref="Copies"/>,
/// <see cref="BulkKeys"/> below, copied in.</item>
/// <item><c>{source}</c>: the tracked table (<c>"schema"."table"</c>); <c>{target}</c>: the commit's staging table;
/// <c>{columns}</c>: the table's columns, quoted, in order; <c>{flag}</c>: the fragment's upsert flag column.</item>
/// <item><c>{sub_bits}</c>: <see cref="LogPosition.SubBits"/> (a position is <c>(event_id &lt;&lt; sub_bits) | sub</c>).</item>
/// <item><c>{key_of(row)}</c>: the key object of a logged jsonb row, <c>pg_catalog.jsonb_build_object(k1, row -&gt; k1, …)</c>
/// with the names taken from <c>@key_columns</c> (jsonb objects are normalised, so keys built here and from a bulk
/// entry compare equal).</item>
/// <item><c>{key_record(json, alias)}</c>: <c>pg_catalog.jsonb_to_record(json) AS alias("k1" type1, …)</c> of the key columns;
/// <c>{key_record_with_domains(json, alias)}</c> adds the other domain columns as text (see the keyed commit).</item>
/// <item><c>{key_match(left, right)}</c>: the two aliases' rows have the same key (<see cref="KeyMatch.Sql"/>: each primary
/// key column compared with its own equality operator, schema-qualified from the catalogue, never a bare <c>=</c>).</item>
/// <item><c>{one_row_per_key}</c>: <c>ON CONFLICT DO NOTHING</c> when the key's equality is not identity (see
/// <see cref="CommitKeyed"/>), else nothing.</item>
/// <item><c>{live_row(key)}</c>: <c>(SELECT splitgraph_audit.row_image(s.*) FROM {source} s, {key_record(key, k)}
/// WHERE {key_match(s, k)})</c>, the live row of a key object as jsonb in the log's fixed format, or NULL.</item>
/// <item><c>{live_text(key)}</c>: the same live row's exact text (<c>splitgraph_audit.record_text</c>, as the triggers
/// log row texts), or NULL.</item>
/// <item><c>{bulk_key_names}</c>, <c>{bulk_key_arrays}</c>, <c>{bulk_key_pairs}</c>: one entry per key column of
/// a bulk entry's key arrays (<c>k1, k2</c>; <c>pg_catalog.jsonb_array_elements(b.keys -&gt; name1), …</c>; <c>name1, e.k1, …</c>).</item>
/// <item><c>{commit_values}</c>, <c>{row_fields(record)}</c>: the value lists of the two commits (see there).</item>
/// </list>
/// </para>
/// A bulk insert entry is a log row with action 'I' and changed_fields set (key arrays in row_data, the row count in
/// changed_fields ->> 'sg_bulk'); every other row is one row's change with its whole row in row_data.
/// </summary>
internal static partial class ChangeLogSql
{
    // ───────────────────────────── Net changes of a table with a key ─────────────────────────────

    /// <summary>
    /// The conflation of a table's log, set-based: CTEs ending in <c>net</c>: position, last_event, row_key, upserted,
    /// old_row, new_row (jsonb), new_row_live (true when the after state is the live row: the key's last entry is a bulk
    /// insert, which logs only the key), old_event.
    /// Each log row becomes one or two per-key entries (a bulk insert entry: one per key) with a "before" and an
    /// "after" state; per key, the first entry's before and the last entry's after decide the net effect.
    /// Entries are ordered by statement, then by phase: within one statement every entry that removes a row image (a
    /// delete, an update's old row) comes before every entry that adds one (an insert, an update's new row), whatever
    /// order the triggers wrote them in. A statement is thus the difference between the table before and after it: a
    /// MERGE that deletes key 1 and moves key 2 onto it, a key shift over a range or a swap of two keys net correctly.
    /// A key that is back where it started has nothing to commit: that check is the last condition of the <c>net</c> CTE.
    /// </summary>
    public const string Net =
        """
        WITH log AS (
            SELECT event_id, coalesce(statement_id, event_id) AS statement_id, action, row_data, row_text, new_text,
                   CASE WHEN action = 'U' THEN row_data || coalesce(changed_fields, '{}') END AS new_data,
                   action = 'U' AND EXISTS (SELECT 1 FROM pg_catalog.unnest(@key_columns::text[]) AS k
                                            WHERE changed_fields ? k AND changed_fields -> k IS DISTINCT FROM row_data -> k) AS key_changed,
                   -- Logged although its jsonb images are equal: the row changed in a way jsonb cannot show (-0, json text).
                   action = 'U' AND changed_fields = row_data AS image_only
            FROM splitgraph_audit.logged_actions
            WHERE schema_name = @schema AND table_name = @table AND NOT (action = 'I' AND changed_fields IS NOT NULL)
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
                   {key_of(key_source)} AS row_key FROM entries
            UNION ALL
            SELECT b.event_id, b.statement_id, 1, b.sub, false, false, NULL, true, NULL, NULL, NULL, b.row_key FROM ({bulk_keys}) b
        ),
        -- One sort serves both ends of each key: the window reads its first entry, DISTINCT ON keeps its last.
        ends AS (
            SELECT DISTINCT ON (row_key) row_key, event_id, sub, after_present, new_row, after_text,
                   pg_catalog.last_value(before_present) OVER w AS first_before_present, pg_catalog.last_value(old_row) OVER w AS first_old_row,
                   pg_catalog.last_value(old_text) OVER w AS first_old_text,
                   pg_catalog.last_value(event_id) OVER w AS first_event,
                   pg_catalog.bool_or(image_only) OVER w AS image_changed
            FROM keyed
            WINDOW w AS (PARTITION BY row_key ORDER BY statement_id DESC, phase DESC, event_id DESC, sub DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ORDER BY row_key, statement_id DESC, phase DESC, event_id DESC, sub DESC
        ),
        net AS (
            SELECT ((e.event_id << {sub_bits}) | e.sub::bigint) AS position, e.event_id AS last_event, e.row_key, e.after_present AS upserted,
                   e.first_old_row AS old_row, e.new_row, e.after_present AND e.new_row IS NULL AS new_row_live,
                   -- The log row holding the old row (its row_data), for views that keep references instead of rows.
                   CASE WHEN e.first_before_present THEN e.first_event END AS old_event
            FROM ends e
            WHERE (e.first_before_present OR e.after_present)
              -- Back where it started: nothing to commit (a bulk insert's after state is the live row). By the exact row
              -- texts where both ends have one (jsonb writes float8 -0 as 0: a key moved 0 -> -0 with another column
              -- that a later statement puts back is a change); else by jsonb text, not jsonb equality (numeric 1.0 ->
              -- 1.00 is a change), unless an update in between changed only what jsonb cannot show. jsonb decides only for
              -- tables whose columns it writes exactly (no 'texts' in their trigger arguments): entries logged without
              -- texts on a table that has them now (triggers re-synced at commit, after an ADD COLUMN) may hide a -0, so
              -- they are kept; at worst a row identical to the live one is upserted.
              AND NOT (e.first_before_present AND e.after_present
                       AND CASE WHEN e.first_old_text IS NOT NULL AND (e.after_text IS NOT NULL OR e.new_row IS NULL)
                                THEN e.first_old_text = coalesce(e.after_text, {live_text(e.row_key)})
                                ELSE NOT e.image_changed
                                     AND NOT coalesce((SELECT 'texts' = ANY (splitgraph_audit.trigger_args(
                                             pg_catalog.to_regclass(pg_catalog.format('%I.%I', @schema::text, @table::text))))), true)
                                     AND e.first_old_row::text = (CASE WHEN e.new_row IS NOT NULL THEN e.new_row ELSE {live_row(e.row_key)} END)::text
                           END)
        )
        """;

    /// <summary>
    /// Rows (event_id, statement_id, sub, row_key) of the table's bulk insert entries, one per key, sub from 1 in
    /// insertion order (log rows alias l, subs alias e: a statement may narrow them with more AND conditions).
    /// </summary>
    public const string BulkKeys =
        """
        SELECT l.event_id, coalesce(l.statement_id, l.event_id) AS statement_id, e.sub::int AS sub, pg_catalog.jsonb_build_object({bulk_key_pairs}) AS row_key
        FROM splitgraph_audit.logged_actions l
        CROSS JOIN LATERAL splitgraph_audit.bulk_keys(l.row_data, @key_columns::text[], @schema, @table) AS b(keys)
        CROSS JOIN LATERAL ROWS FROM ({bulk_key_arrays}) WITH ORDINALITY AS e({bulk_key_names}, sub)
        WHERE l.schema_name = @schema AND l.table_name = @table AND (l.action = 'I' AND l.changed_fields IS NOT NULL)
        """;

    /// <summary>
    /// A page of net changes: position, last_event, row_key, upserted, old_row, new_row (JSON as text), the first
    /// <c>@limit</c> after <c>@after</c>.
    /// </summary>
    public const string NetPage =
        """
        {net}
        SELECT n.position, n.last_event, n.row_key::text, n.upserted, n.old_row::text,
               (CASE WHEN n.new_row_live THEN {live_row(n.row_key)} ELSE n.new_row END)::text
        FROM (SELECT * FROM net WHERE position > @after ORDER BY position LIMIT @limit) n
        ORDER BY n.position
        """;

    /// <summary>
    /// The whole net view as references, in position order, at most <c>@limit</c> entries: position, last_event,
    /// row_key, upserted, old_event, new_row_live. Rows stay in the log; <see cref="NetRowsOf"/> reads those of one page.
    /// </summary>
    public const string NetIndex =
        """
        SELECT * FROM (
        {net}
        SELECT n.position, n.last_event, n.row_key::text, n.upserted, n.old_event, n.new_row_live FROM net n ORDER BY n.position
        ) i ORDER BY 1 LIMIT @limit
        """;

    /// <summary>
    /// The old and new rows of index entries (<c>@old_events</c>, <c>@last_events</c> bigint[], <c>@upserted</c>,
    /// <c>@live</c> boolean[], <c>@row_keys</c> jsonb[]: one element per entry), in the order given: the old row is the
    /// row_data of the key's first entry that found a row, the new one its last entry's image (an update's row_data
    /// with its new values, an insert's row) or the live row for a bulk insert. A null log row where an event is given
    /// means the log moved on (found is false).
    /// </summary>
    public const string NetRowsOf =
        """
        SELECT p.ord, o.row_data::text,
               (CASE WHEN NOT p.upserted THEN NULL
                     WHEN p.live THEN {live_row(p.row_key)}
                     WHEN l.action = 'U' THEN l.row_data || coalesce(l.changed_fields, '{}')
                     ELSE l.row_data END)::text,
               (p.old_event IS NULL OR o.event_id IS NOT NULL) AND (NOT p.upserted OR p.live OR l.event_id IS NOT NULL) AS found
        FROM ROWS FROM (pg_catalog.unnest(@old_events::bigint[]), pg_catalog.unnest(@last_events::bigint[]), pg_catalog.unnest(@upserted::boolean[]),
                        pg_catalog.unnest(@live::boolean[]), pg_catalog.unnest(@row_keys::jsonb[])) WITH ORDINALITY
             AS p(old_event, last_event, upserted, live, row_key, ord)
        LEFT JOIN splitgraph_audit.logged_actions o ON o.event_id = p.old_event AND o.schema_name = @schema AND o.table_name = @table
        LEFT JOIN splitgraph_audit.logged_actions l ON l.event_id = p.last_event AND p.upserted AND NOT p.live AND l.schema_name = @schema AND l.table_name = @table
        ORDER BY p.ord
        """;

    // ───────────────────────────── Net changes of a table without a primary key ─────────────────────────────

    /// <summary>
    /// The net changes of a table without a primary key, as a multiset: CTEs ending in <c>copies</c>: image (row text),
    /// added (bool), last_event, copy (1…n), one row per copy. Its rows have no identity but their whole value, so every
    /// logged row text counts one copy — inserts and an update's new row add one, deletes and an update's old row remove
    /// one — and the net change of each distinct row text is the sum (two duplicates inserted: +2; a row updated and
    /// back: 0). Order does not matter, so statements need no ordering. Row texts are the trigger's exact ones (float8
    /// -0, numeric scale and json text included); entries logged without one (older logs) fall back to their jsonb.
    /// Read with <see cref="LogSettings"/> fixed, so texts cast back to rows exactly.
    /// </summary>
    public const string Copies =
        """
        WITH images AS (
            SELECT event_id, coalesce(row_text, splitgraph_audit.record_text(pg_catalog.jsonb_populate_record(NULL::{source}, row_data))) AS image,
                   CASE WHEN action = 'I' THEN 1 ELSE -1 END AS n
            FROM splitgraph_audit.logged_actions WHERE schema_name = @schema AND table_name = @table
            UNION ALL
            SELECT event_id, coalesce(new_text, splitgraph_audit.record_text(pg_catalog.jsonb_populate_record(NULL::{source}, row_data || coalesce(changed_fields, '{}')))), 1
            FROM splitgraph_audit.logged_actions WHERE schema_name = @schema AND table_name = @table AND action = 'U'
        ),
        multiset AS (
            SELECT image, pg_catalog.sum(n)::bigint AS n, pg_catalog.max(event_id) AS last_event FROM images GROUP BY image HAVING pg_catalog.sum(n) <> 0
        ),
        copies AS (
            SELECT m.image, m.n > 0 AS added, m.last_event, c.copy FROM multiset m, pg_catalog.generate_series(1, pg_catalog.abs(m.n)) AS c(copy)
        )
        """;

    /// <summary>
    /// A page of multiset net changes in the shape of <see cref="NetPage"/>: one entry per copy, the row as its key,
    /// ordered by the last log entry of its row text; <c>@after</c> and the position are ordinals here.
    /// </summary>
    public const string MultisetPage =
        """
        {copies}
        , numbered AS (
            SELECT pg_catalog.row_number() OVER (ORDER BY last_event, added, image, copy) AS position, last_event, added,
                   splitgraph_audit.row_image(CAST(image AS {source})) AS row_image
            FROM copies)
        SELECT position, last_event, row_image::text, added, CASE WHEN NOT added THEN row_image::text END, CASE WHEN added THEN row_image::text END
        FROM numbered WHERE position > @after ORDER BY position LIMIT @limit
        """;

    // ───────────────────────────── Commit (TableCommitter) ─────────────────────────────

    /// <summary>
    /// The commit of a table with a key into its staging fragment. Upserts are the live rows of every changed key (same
    /// snapshot as the log, as Splitgraph's store_fragment): values from the log's jsonb would turn a json 'null' into
    /// SQL NULL, bulk entries hold only keys, and without a primary key a key can match several identical rows that the
    /// net view does not count. Keys with no live row become deletes. One outer join does both (two passes over 1M keys
    /// took twice as long). <c>{commit_values}</c> is, per column: a key column <c>CASE WHEN s.ctid IS NULL THEN k."c"
    /// ELSE s."c" END</c>; a domain column the same with <c>k."c"::type</c> (a delete carries the old value: a NOT NULL
    /// domain refuses NULL); any other <c>s."c"</c> (NULL in a delete, as in Splitgraph).
    /// The net view keys entries by the key as logged, so where the key's equality is coarser than that (citext 'A' and
    /// 'a', interval '1 day' and '24:00:00': an update of 'A' to 'a' is a delete of 'A' and an insert of 'a') two
    /// entries can be one key: both find the same live row, or neither finds one. The staging table's primary key (the
    /// same operator class) then keeps the first (<c>{one_row_per_key}</c>); keys whose equality is identity never
    /// collide and skip the conflict check's cost.
    /// </summary>
    public const string CommitKeyed =
        """
        {net}
        , net_keys AS (SELECT k.* FROM net n, LATERAL {key_record_with_domains(coalesce(n.old_row, n.row_key), k)})
        INSERT INTO {target} ({columns}, {flag})
        SELECT {commit_values}, s.ctid IS NOT NULL
        FROM net_keys k LEFT JOIN {source} s ON {key_match(s, k)}
        {one_row_per_key}
        """;

    /// <summary>
    /// The commit of a table without a primary key: the net multiset of logged row texts, each copy a fragment row
    /// (upsert = add one copy, delete = remove one), straight from the log's exact texts; <c>{row_fields(x.r)}</c> is
    /// <c>(x.r)."c1", (x.r)."c2", …</c>.
    /// </summary>
    public const string CommitMultiset =
        """
        {copies}
        INSERT INTO {target} ({columns}, {flag})
        SELECT {row_fields(x.r)}, c.added
        FROM copies c, LATERAL (SELECT CAST(c.image AS {source}) AS r) x
        """;

    /// <summary>A snapshot commit: the whole table as upserts.</summary>
    public const string CommitSnapshot = "INSERT INTO {target} SELECT s.*, true FROM {source} s";

    /// <summary>The staging fragment's upserts and deletes.</summary>
    public const string CommitCounts = "SELECT pg_catalog.count(*) FILTER (WHERE {flag}), pg_catalog.count(*) FILTER (WHERE NOT {flag}) FROM {target}";

    /// <summary>An empty staging fragment goes: nothing to store.</summary>
    public const string CommitDropEmpty = "DROP TABLE {target}";

    /// <summary>
    /// The columns (sorted, comma-separated) of the table's oldest per-row log entry, or NULL without one: the shape its
    /// pending changes were logged with.
    /// </summary>
    public const string LoggedColumns =
        """
        SELECT (SELECT pg_catalog.string_agg(k, ', ' ORDER BY k COLLATE "C") FROM pg_catalog.jsonb_object_keys(l.row_data) AS k)
        FROM splitgraph_audit.logged_actions l
        WHERE l.schema_name = @schema AND l.table_name = @table AND NOT (l.action = 'I' AND l.changed_fields IS NOT NULL)
        ORDER BY l.event_id LIMIT 1
        """;

    // ───────────────────────────── Log state and the raw log ─────────────────────────────

    /// <summary>
    /// The table's OID and what its log holds (count, sum and max of its event IDs), as one text: the log only grows by
    /// new event IDs and shrinks by deleting rows, so a view computed under one value is the view for as long as it
    /// holds; a table dropped and made again under its name is another table even if its log looks the same.
    /// </summary>
    public const string Fingerprint =
        """
        SELECT pg_catalog.concat_ws(':', pg_catalog.to_regclass(pg_catalog.format('%I.%I', @schema::text, @table::text))::oid, f.n, f.s, f.m) FROM (
        SELECT pg_catalog.count(*), coalesce(pg_catalog.sum(event_id), 0)::text, coalesce(pg_catalog.max(event_id), 0)
        FROM splitgraph_audit.logged_actions WHERE schema_name = @schema AND table_name = @table
        ) AS f(n, s, m)
        """;

    /// <summary>
    /// A page of the raw log: <c>@limit</c> log rows from event <c>@after_event</c> on (event_id, action, bulk key count,
    /// row_data and changed_fields as text). A bulk entry's key arrays (up to ~100 kB) stay on the server: only the keys
    /// of the page are read, by <see cref="RawBulkEntries"/>.
    /// </summary>
    public const string RawLogPage =
        """
        SELECT event_id, action, bulk_keys,
               CASE WHEN bulk_keys IS NULL THEN row_data::text END, CASE WHEN bulk_keys IS NULL THEN changed_fields::text END
        FROM (SELECT l.*, CASE WHEN (action = 'I' AND changed_fields IS NOT NULL) THEN (changed_fields ->> 'sg_bulk')::int END AS bulk_keys
              FROM splitgraph_audit.logged_actions l
              WHERE schema_name = @schema AND table_name = @table AND event_id >= @after_event ORDER BY event_id LIMIT @limit) l
        """;

    /// <summary>
    /// The raw entries of bulk insert positions (<c>@event_ids</c> bigint[], <c>@first_subs</c>, <c>@last_subs</c> int[]:
    /// the subs wanted of each log row; <c>@first_event</c> the smallest event): event_id, sub, key, and the inserted row
    /// — the old row of the key's next change, or the live row when there is none.
    /// </summary>
    public const string RawBulkEntries =
        """
        WITH wanted AS (
            SELECT * FROM ROWS FROM (pg_catalog.unnest(@event_ids::bigint[]), pg_catalog.unnest(@first_subs::int[]), pg_catalog.unnest(@last_subs::int[]))
                          AS w(event_id, first_sub, last_sub)
        ),
        page AS (
            {bulk_keys}
            AND l.event_id = ANY (@event_ids::bigint[])
            AND EXISTS (SELECT 1 FROM wanted w WHERE w.event_id = l.event_id AND e.sub BETWEEN w.first_sub AND w.last_sub)
        ),
        later AS (
            SELECT DISTINCT ON (p.event_id, p.sub) p.event_id, p.sub, l.row_data
            FROM page p JOIN splitgraph_audit.logged_actions l
              ON l.schema_name = @schema AND l.table_name = @table AND l.event_id > @first_event AND l.action <> 'I'
             AND l.event_id > p.event_id AND {key_of(l.row_data)} = p.row_key
            ORDER BY p.event_id, p.sub, l.event_id
        )
        SELECT p.event_id, p.sub, p.row_key::text, coalesce(later.row_data, {live_row(p.row_key)})::text
        FROM page p LEFT JOIN later USING (event_id, sub)
        """;

    /// <summary>
    /// How many raw entries each log row gives, in log order (event_id, is bulk, entries): a bulk entry its keys, a
    /// key-changing update two (a key column's new value differs from its old one, as LogEntryExpander sees it), others one.
    /// </summary>
    public const string RawLogCounts =
        """
        SELECT event_id, (action = 'I' AND changed_fields IS NOT NULL),
               CASE WHEN (action = 'I' AND changed_fields IS NOT NULL) THEN (changed_fields ->> 'sg_bulk')::bigint
                    WHEN action = 'U' AND EXISTS (SELECT 1 FROM pg_catalog.unnest(@key_columns::text[]) AS k
                                                  WHERE changed_fields ? k AND changed_fields -> k IS DISTINCT FROM row_data -> k) THEN 2
                    ELSE 1 END
        FROM splitgraph_audit.logged_actions WHERE schema_name = @schema AND table_name = @table ORDER BY event_id
        """;

    // ───────────────────────────── Parameters and the builder ─────────────────────────────

    /// <summary>A named parameter (<c>@name</c> in the statements above).</summary>
    public static NpgsqlParameter Named(string name, object? value) => new(name, value ?? DBNull.Value);

    /// <summary>A named array parameter of an explicit element type (so empty arrays type-check too).</summary>
    public static NpgsqlParameter Named<T>(string name, T[] values, NpgsqlDbType elementType) =>
        new(name, NpgsqlDbType.Array | elementType) { Value = values };

    /// <summary><c>@schema</c> and <c>@table</c>.</summary>
    public static object?[] TableArgs(string schema, string table) => [Named("schema", schema), Named("table", table)];

    /// <summary><c>@schema</c>, <c>@table</c> and <c>@key_columns</c>.</summary>
    public static object?[] KeyedArgs(string schema, string table, ChangeKey key) =>
        [Named("schema", schema), Named("table", table), Named("key_columns", key.Names.ToArray(), NpgsqlDbType.Text)];

    /// <summary>
    /// <paramref name="template"/> (one of the statements above) for <paramref name="table"/>: fragments copied in, then
    /// every placeholder filled with quoted names in one pass (a filled-in name is never read as a placeholder). Logged
    /// at Debug under the statement's name.
    /// </summary>
    public static string Build(string template, ChangeLogTable table, ILogger log, [CallerArgumentExpression(nameof(template))] string name = "")
    {
        var text = template;
        for (var depth = 0; FragmentPattern().IsMatch(text); depth++)
        {
            if (depth == 3)
            {
                throw new InvalidOperationException($"{name}: fragments nest too deep.");
            }

            var current = text;
            text = FragmentPattern().Replace(text, m => Indent(m.Groups[1].Value switch
            {
                "net" => Net,
                "copies" => Copies,
                _ => BulkKeys,
            }, current, m.Index));
        }

        var sql = PlaceholderPattern().Replace(text, m => Fill(table, m.Groups["name"].Value, Arguments(m.Groups["args"].Value), name));
        LogBuilt(log, name, table.Schema, table.Table, sql);
        return sql;
    }

    /// <summary>A fragment's lines after its first, indented as the line it is copied into (for the printed text only).</summary>
    private static string Indent(string fragment, string text, int at)
    {
        var lineStart = text.LastIndexOf('\n', Math.Max(at - 1, 0)) + 1;
        var before = text[lineStart..at];
        var indent = before[..(before.Length - before.TrimStart(' ').Length)];
        return indent.Length == 0 ? fragment : fragment.Replace("\n", "\n" + indent, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\{(net|copies|bulk_keys)\}")]
    private static partial Regex FragmentPattern();

    /// <summary><c>{name}</c> or <c>{name(arguments)}</c>; arguments are SQL expressions of the templates above.</summary>
    [GeneratedRegex(@"\{(?<name>[a-z_]+)(?:\((?<args>[^{}]*?)\))?\}")]
    private static partial Regex PlaceholderPattern();

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Statement} for {Schema}.{Table}:\n{Sql}")]
    private static partial void LogBuilt(ILogger logger, string statement, string schema, string table, string sql);

    private static string Fill(ChangeLogTable t, string placeholder, IReadOnlyList<string> args, string statement)
    {
        var key = t.Key;
        string Quoted(TableColumn c) => Identifiers.Quote(c.Name);
        string Arg(int i) => i < args.Count ? args[i] : throw new InvalidOperationException($"{statement}: {{{placeholder}}} needs {i + 1} arguments.");
        string KeyName(int i) => $"(@key_columns::text[])[{i + 1}]";
        return placeholder switch
        {
            "source" => Identifiers.Qualify(t.Schema, t.Table),
            "target" => Identifiers.Qualify(ObjectEngine.MetaSchema, t.Staging ?? throw Missing("a staging table")),
            "columns" => string.Join(", ", t.RequireColumns(statement).Select(Quoted)),
            "flag" => Identifiers.Quote(ObjectEngine.FlagFor(t.RequireColumns(statement).Select(c => c.Name))),
            "sub_bits" => LogPosition.SubBits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "key_of" => "pg_catalog.jsonb_build_object(" + string.Join(", ", key.Columns.Select((_, i) => $"{KeyName(i)}, {Arg(0)} -> {KeyName(i)}")) + ")",
            "key_record" => KeyMatch.KeyRecord(Arg(0), key, Arg(1)),
            "key_record_with_domains" => KeyMatch.KeyRecord(Arg(0), key, Arg(1), t.Domains(statement)),
            "key_match" => KeyMatch.Sql(key, Arg(0), Arg(1)),
            "live_row" => $"(SELECT splitgraph_audit.row_image(s.*) FROM {Identifiers.Qualify(t.Schema, t.Table)} s, {KeyMatch.KeyRecord(Arg(0), key, "k")} WHERE {KeyMatch.Sql(key, "s", "k")})",
            "live_text" => $"(SELECT splitgraph_audit.record_text(s.*) FROM {Identifiers.Qualify(t.Schema, t.Table)} s, {KeyMatch.KeyRecord(Arg(0), key, "k")} WHERE {KeyMatch.Sql(key, "s", "k")})",
            "bulk_key_names" => string.Join(", ", key.Columns.Select((_, i) => $"k{i + 1}")),
            "bulk_key_arrays" => string.Join(", ", key.Columns.Select((_, i) => $"pg_catalog.jsonb_array_elements(b.keys -> {KeyName(i)})")),
            "bulk_key_pairs" => string.Join(", ", key.Columns.Select((_, i) => $"{KeyName(i)}, e.k{i + 1}")),
            "commit_values" => CommitValues(t, statement),
            "one_row_per_key" => key.ImageExact ? "" : "ON CONFLICT DO NOTHING",
            "row_fields" => string.Join(", ", t.RequireColumns(statement).Select(c => $"({Arg(0)}).{Quoted(c)}")),
            _ => throw new InvalidOperationException($"{statement}: unknown placeholder {{{placeholder}}}."),
        };

        InvalidOperationException Missing(string what) => new($"{statement}: {{{placeholder}}} needs {what}.");
    }

    /// <summary>See <see cref="CommitKeyed"/>.</summary>
    private static string CommitValues(ChangeLogTable t, string statement)
    {
        var domains = t.Domains(statement);
        return string.Join(", ", t.RequireColumns(statement).Select(c =>
        {
            var name = Identifiers.Quote(c.Name);
            return t.Key.Columns.Contains(c)
                ? $"CASE WHEN s.ctid IS NULL THEN k.{name} ELSE s.{name} END"
                : domains.Contains(c)
                    ? $"CASE WHEN s.ctid IS NULL THEN k.{name}::{c.Type} ELSE s.{name} END"
                    : $"s.{name}";
        }));
    }

    /// <summary>A placeholder's arguments, split at commas outside parentheses.</summary>
    private static List<string> Arguments(string text)
    {
        var args = new List<string>();
        if (text.Length == 0)
        {
            return args;
        }

        var (depth, start) = (0, 0);
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    args.Add(text[start..i].Trim());
                    start = i + 1;
                    break;
            }
        }

        args.Add(text[start..].Trim());
        return args;
    }
}

/// <summary>
/// The table a <see cref="ChangeLogSql"/> statement is built for: the only source of the names it writes.
/// </summary>
/// <param name="Columns">The table's columns, for statements that list them (commit).</param>
/// <param name="Staging">The commit's staging table in <see cref="ObjectEngine.MetaSchema"/>.</param>
internal sealed record ChangeLogTable(string Schema, string Table, ChangeKey Key, IReadOnlyList<TableColumn>? Columns = null, string? Staging = null)
{
    public IReadOnlyList<TableColumn> RequireColumns(string statement) =>
        Columns ?? throw new InvalidOperationException($"{statement} needs the table's columns.");

    /// <summary>Domain columns outside the key: a delete carries their old values (a NOT NULL domain refuses NULL).</summary>
    public List<TableColumn> Domains(string statement) => RequireColumns(statement).Where(c => c.Domain && !Key.Columns.Contains(c)).ToList();
}

/// <summary>
/// Positions of change entries: the log row's event ID and the entry's place in it (sub), in one long so the paging
/// cursor stays a single number. Per-row entries have sub 0 (a key-changing update's upsert: 1); a bulk entry's keys
/// 1…10,000.
/// </summary>
internal static class LogPosition
{
    public const int SubBits = 16;

    public static long Of(long eventId, int sub) => (eventId << SubBits) | (uint)sub;

    public static (long EventId, int Sub) Split(long position) => (position >> SubBits, (int)(position & ((1 << SubBits) - 1)));
}
