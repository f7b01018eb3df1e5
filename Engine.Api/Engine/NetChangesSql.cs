namespace Engine.Api.Engine;

/// <summary>
/// The conflation of a table's log, set-based. Parameters: $1 schema, $2 table, $3 change-key columns (text[]).
/// Each log row becomes one or two per-key entries with a "before" and an "after" state; per key, the first
/// entry's before and the last entry's after decide the net effect.
/// </summary>
internal static class NetChangesSql
{
    /// <summary>Columns: last_event, key, upserted, old_row, new_row (jsonb as text for readers, jsonb in CTEs).</summary>
    public const string Net =
        """
        WITH log AS (
            SELECT event_id, action, row_data,
                   CASE WHEN action = 'U' THEN row_data || coalesce(changed_fields, '{}') END AS new_data,
                   action = 'U' AND EXISTS (SELECT 1 FROM unnest($3::text[]) AS k
                                            WHERE changed_fields ? k AND changed_fields -> k IS DISTINCT FROM row_data -> k) AS key_changed
            FROM splitgraph_audit.logged_actions
            WHERE schema_name = $1 AND table_name = $2
        ),
        entries AS (
            SELECT event_id, 0 AS sub, row_data AS key_source,
                   action <> 'I' AS before_present, CASE WHEN action <> 'I' THEN row_data END AS old_row,
                   action = 'I' OR (action = 'U' AND NOT key_changed) AS after_present,
                   CASE WHEN action = 'I' THEN row_data WHEN action = 'U' AND NOT key_changed THEN new_data END AS new_row
            FROM log
            UNION ALL
            SELECT event_id, 1, new_data, false, NULL, true, new_data FROM log WHERE key_changed
        ),
        keyed AS (
            SELECT e.*, (SELECT jsonb_object_agg(k, e.key_source -> k) FROM unnest($3::text[]) AS k) AS row_key FROM entries e
        ),
        firsts AS (
            SELECT DISTINCT ON (row_key) row_key, before_present, old_row FROM keyed ORDER BY row_key, event_id, sub
        ),
        lasts AS (
            SELECT DISTINCT ON (row_key) row_key, after_present, new_row, event_id FROM keyed ORDER BY row_key, event_id DESC, sub DESC
        ),
        net AS (
            SELECT l.event_id AS last_event, f.row_key, l.after_present AS upserted, f.old_row, l.new_row
            FROM firsts f JOIN lasts l USING (row_key)
            WHERE (f.before_present OR l.after_present)
              AND NOT (f.before_present AND l.after_present AND f.old_row = l.new_row)
        )
        """;

    public const string Select = Net + " SELECT last_event, row_key::text, upserted, old_row::text, new_row::text FROM net";
}
