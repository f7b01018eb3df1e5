namespace Engine.Api.Engine;

/// <summary>
/// Removes what a crashed process can leave on an engine, at initialisation. Every multi-step change commits as one
/// transaction, so anything found here that a live transaction could still be using is invisible to this one
/// (uncommitted); what is visible is a leftover: a catalogue row whose table is gone, an object table without a
/// catalogue row, a staging table, a transfer's foreign server or schema.
/// </summary>
public static class CrashRepair
{
    /// <returns>One line per repair, for the log.</returns>
    public static async Task<IReadOnlyList<string>> RepairAsync(SqlEngine engine, CancellationToken cancellationToken)
    {
        var repaired = new List<string>();
        const string meta = ObjectEngine.MetaSchema;

        var orphanRows = await ListAsync(engine,
            $"SELECT object_id FROM {meta}.objects WHERE to_regclass(pg_catalog.format('%I.%I', '{meta}', object_id)) IS NULL", cancellationToken);
        if (orphanRows.Count > 0)
        {
            await engine.ExecuteAsync($"DELETE FROM {meta}.objects WHERE object_id = ANY($1)", [orphanRows.ToArray()], cancellationToken);
            repaired.AddRange(orphanRows.Select(id => $"catalogue row of object {id} removed: its table is missing"));
        }

        // Object tables are named like object IDs; the catalogue and anything else in the schema are not.
        var orphanTables = await ListAsync(engine,
            $"""
            SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = '{meta}'::regnamespace AND c.relkind = 'r' AND c.relname ~ '^o[0-9a-f]+$' AND pg_catalog.length(c.relname) = 63
              AND NOT EXISTS (SELECT 1 FROM {meta}.objects o WHERE o.object_id = c.relname)
            """, cancellationToken);
        var staging = await ListAsync(engine,
            $"SELECT c.relname FROM pg_class c WHERE c.relnamespace = '{meta}'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'sg\\_staging\\_%'",
            cancellationToken);
        foreach (var (table, why) in orphanTables.Select(t => (t, "object table without a catalogue row")).Concat(staging.Select(t => (t, "staging table"))))
        {
            await engine.ExecuteAsync($"DROP TABLE {Identifiers.Qualify(meta, table)}", null, cancellationToken);
            repaired.Add($"{why} {meta}.{table} dropped");
        }

        var schemas = await ListAsync(engine, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sg\\_fdw\\_%'", cancellationToken);
        foreach (var schema in schemas)
        {
            await engine.ExecuteAsync($"DROP SCHEMA {Identifiers.Quote(schema)} CASCADE", null, cancellationToken);
            repaired.Add($"foreign schema {schema} of an unfinished transfer dropped");
        }

        var servers = await ListAsync(engine, "SELECT srvname FROM pg_foreign_server WHERE srvname LIKE 'sg\\_fdw\\_server\\_%'", cancellationToken);
        foreach (var server in servers)
        {
            await engine.ExecuteAsync($"DROP SERVER {Identifiers.Quote(server)} CASCADE", null, cancellationToken);
            repaired.Add($"foreign server {server} of an unfinished transfer dropped");
        }

        return repaired;
    }

    private static Task<List<string>> ListAsync(SqlEngine engine, string sql, CancellationToken cancellationToken) =>
        engine.QueryAsync(sql, null, r => r.GetString(0), cancellationToken);
}
