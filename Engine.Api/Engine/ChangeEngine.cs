using System.Text.Json;
using NpgsqlTypes;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Splitgraph's <c>AuditTriggerChangeEngine</c>: installs the audit triggers and reads the change log.
/// Works inside the transaction of the <see cref="SqlEngine"/> it is given.
/// </summary>
public sealed class ChangeEngine(SqlEngine engine)
{
    /// <summary>The row-level trigger's name; every tracked table has it (Splitgraph's name).</summary>
    public const string RowTrigger = "audit_trigger_row";

    public SqlEngine Sql => engine;

    /// <summary>Installs the audit triggers on each table; idempotent. An unknown table is a 404.</summary>
    public async Task TrackTablesAsync(IReadOnlyList<TableRef> tables, CancellationToken cancellationToken = default)
    {
        // A dropped table's leftovers go before a new table of its name is tracked.
        await ReconcileAsync(cancellationToken);
        foreach (var table in tables)
        {
            // System, engine and temporary schemas: 403 (the shared user-tables rule); then what the relation is.
            UserTables.RequireUserSchema(Identifiers.Validate(table.Schema, "schema name"));
            await RequireTrackableAsync(table, cancellationToken);
            await TableCatalog.RequireUserColumnsAsync(engine, table.Schema, table.Table, cancellationToken);
            // The triggers and their arguments are splitgraph_audit.install_triggers' (trigger_args: 'rows' without a
            // primary key, 'json' with a json column, 'texts' with a key and a column jsonb does not write exactly,
            // 'part' and the root's OID for a partitioned table, whose partitions get triggers too).
            await engine.ExecuteAsync(
                "SELECT splitgraph_audit.install_triggers(pg_catalog.format('%I.%I', $1::text, $2::text)::regclass)",
                [table.Schema, table.Table], cancellationToken);
            await engine.ExecuteAsync(
                """
                INSERT INTO splitgraph_audit.tracked_tables (relid, schema_name, table_name, column_types, accepted_members)
                SELECT x.r, $1, $2, splitgraph_audit.column_types(x.r), splitgraph_audit.family_members(x.r)
                FROM (SELECT pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text))::oid AS r) x
                ON CONFLICT (relid) DO UPDATE SET schema_name = excluded.schema_name, table_name = excluded.table_name,
                    column_types = excluded.column_types
                """, [table.Schema, table.Table], cancellationToken);
        }
    }

    /// <summary>
    /// Re-installs the triggers of a tracked table whose primary key, json columns or columns jsonb does not write exactly
    /// came or went since they were installed, so their arguments match the table (see <see cref="TrackTablesAsync"/>).
    /// </summary>
    public async Task SyncTriggerModeAsync(string schema, string table, CancellationToken cancellationToken = default)
    {
        var stale = await engine.ScalarAsync<bool?>(
            """
            SELECT t.tgargs IS DISTINCT FROM splitgraph_audit.encoded_trigger_args(splitgraph_audit.trigger_args(t.tgrelid))
            FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE t.tgname = $1 AND t.tgparentid = 0 AND n.nspname = $2 AND c.relname = $3
            """, [RowTrigger, schema, table], cancellationToken);
        if (stale is true)
        {
            await TrackTablesAsync([new TableRef(schema, table)], cancellationToken);
        }
    }

    /// <summary>
    /// 400 for relations of a user schema that cannot be tracked, saying why: views, materialized views and foreign
    /// tables (no rows of their own to log). The engine's own schemas, PostgreSQL's and temporary ones are refused
    /// before, by <see cref="UserTables"/> (tracking the log itself made every tracked write recurse until "stack depth
    /// limit exceeded"; a temporary table's changes would vanish with its session).
    /// </summary>
    private async Task RequireTrackableAsync(TableRef table, CancellationToken cancellationToken)
    {
        Identifiers.Validate(table.Schema, "schema name");
        Identifiers.Validate(table.Table, "table name");
        var quoted = $"\"{table.Schema}\".\"{table.Table}\"";

        if (await engine.QueryFirstOrDefaultAsync(
                """
                SELECT c.relkind::text, c.relpersistence::text FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2
                """, [table.Schema, table.Table], r => new Relation(r.GetString(0), r.GetString(1)), cancellationToken) is not { } relation)
        {
            return;
        }

        var kind = relation.Kind switch
        {
            "v" => "a view",
            "m" => "a materialized view",
            "f" => "a foreign table",
            "S" => "a sequence",
            "i" or "I" => "an index",
            "c" => "a composite type",
            _ => null,
        };
        if (kind is not null)
        {
            throw new InvalidInputException("Table cannot be tracked", $"{quoted} is {kind}, not a table; only tables can be tracked.");
        }

        if (relation.Persistence == "t")
        {
            throw new InvalidInputException("Table cannot be tracked",
                $"{quoted} is a temporary table; its rows and changes would vanish with its session, so it cannot be tracked.");
        }

        // A partitioned table is tracked at its root (its partitions log under it); a partition on its own, and legacy
        // inheritance (whose parents and children each see only their own rows' statements), are refused.
        var family = await engine.ScalarAsync<string?>(
            """
            SELECT CASE WHEN c.relispartition THEN pg_catalog.format('a partition of %s: track the partitioned table %s instead, which covers its partitions',
                                                                        i.inhparent::regclass, pg_catalog.pg_partition_root(c.oid)::regclass)
                        WHEN i.inhparent IS NOT NULL THEN pg_catalog.format('a child table of %s (inheritance)', i.inhparent::regclass)
                        WHEN c.relkind <> 'p' AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits ch WHERE ch.inhparent = c.oid) THEN 'a parent of inheritance child tables'
                   END
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
            WHERE n.nspname = $1 AND c.relname = $2
            LIMIT 1
            """, [table.Schema, table.Table], cancellationToken);
        if (family is not null)
        {
            throw new InvalidInputException("Table cannot be tracked",
                family.Contains("inheritance", StringComparison.Ordinal)
                    ? $"{quoted} is {family}; table inheritance is not supported: a statement on one table of the family fires only that " +
                      "table's statement triggers, so rows written through another would be missed. Use declarative partitioning " +
                      "(PARTITION BY), which is supported, or track a plain table."
                    : $"{quoted} is {family}.");
        }

        var foreign = await engine.ScalarAsync<string?>(
            """
            SELECT pg_catalog.string_agg(m.relid::regclass::text, ', ' ORDER BY m.relid::oid)
            FROM pg_catalog.pg_partition_tree(pg_catalog.format('%I.%I', $1::text, $2::text)::regclass) m
            JOIN pg_catalog.pg_class c ON c.oid = m.relid WHERE c.relkind = 'f'
            """, [table.Schema, table.Table], cancellationToken);
        if (foreign is not null)
        {
            throw new InvalidInputException("Table cannot be tracked",
                $"{quoted} has foreign tables as partitions ({foreign}): their rows live on another server, where TRUNCATE and " +
                "writes issued there cannot be logged. Detach them to track the table.");
        }

        // Row texts are written in each partition's column order and read in the root's.
        var misaligned = await engine.ScalarAsync<string?>(
            """
            SELECT pg_catalog.string_agg(m::regclass::text, ', ' ORDER BY m)
            FROM pg_catalog.unnest(splitgraph_audit.misaligned_members(pg_catalog.format('%I.%I', $1::text, $2::text)::regclass)) m
            """, [table.Schema, table.Table], cancellationToken);
        if (misaligned is not null)
        {
            throw new InvalidInputException("Table cannot be tracked",
                $"{quoted} has partitions whose columns are not in the same order as its own ({misaligned}); its changes are logged as " +
                "row texts, which must line up. Re-create them with CREATE TABLE … PARTITION OF (columns in the root's order).");
        }
    }

    /// <summary>Drops the triggers and deletes the tables' pending changes, in the same transaction.</summary>
    public async Task UntrackTablesAsync(IReadOnlyList<TableRef> tables, CancellationToken cancellationToken = default)
    {
        foreach (var table in tables)
        {
            await TableCatalog.RequireUserColumnsAsync(engine, table.Schema, table.Table, cancellationToken);
            await engine.ExecuteAsync(
                "SELECT splitgraph_audit.remove_triggers(pg_catalog.format('%I.%I', $1::text, $2::text)::regclass)",
                [table.Schema, table.Table], cancellationToken);
            await engine.ExecuteAsync("DELETE FROM splitgraph_audit.tracked_tables WHERE relid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text))::oid",
                [table.Schema, table.Table], cancellationToken);
            await DiscardPendingChangesAsync(table.Schema, table.Table, cancellationToken);
        }
    }

    /// <summary>Every table that has the audit trigger, ordered by schema and name.</summary>
    public async Task<IReadOnlyList<TableRef>> GetTrackedTablesAsync(CancellationToken cancellationToken = default) =>
        await engine.QueryAsync(
            """
            SELECT n.nspname, c.relname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE t.tgname = $1 AND t.tgparentid = 0 ORDER BY 1, 2
            """, [RowTrigger], r => new TableRef(r.GetString(0), r.GetString(1)), cancellationToken);

    public async Task<bool> IsTrackedAsync(string schema, string table, CancellationToken cancellationToken = default) =>
        await engine.ScalarAsync<int?>(
            """
            SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE t.tgname = $1 AND t.tgparentid = 0 AND n.nspname = $2 AND c.relname = $3
            """, [RowTrigger, schema, table], cancellationToken) is not null;

    /// <summary>True if the log has any change for the schema.</summary>
    public async Task<bool> HasPendingChangesAsync(string schema, CancellationToken cancellationToken = default) =>
        await ReconcileAsync(cancellationToken) && await engine.ScalarAsync<int?>(
            "SELECT 1 FROM splitgraph_audit.changed_tables($1) LIMIT 1",
            [schema], cancellationToken) is not null;

    /// <summary>Tables of the schema with pending changes (from the counters, not a scan of the log).</summary>
    public async Task<IReadOnlyList<string>> GetChangedTablesAsync(string schema, CancellationToken cancellationToken = default)
    {
        await ReconcileAsync(cancellationToken);
        return await engine.QueryAsync(
            "SELECT t FROM splitgraph_audit.changed_tables($1) AS t ORDER BY 1",
            [schema], r => r.GetString(0), cancellationToken);
    }

    /// <summary>
    /// Raw counts of logged inserts, deletes and updates (no conflation, as Splitgraph), read from the per-statement
    /// counters and the updates' partial index, so the cost does not grow with the log.
    /// </summary>
    public async Task<AggregateChanges> GetAggregateChangesAsync(string schema, string table, CancellationToken cancellationToken = default)
    {
        await ReconcileAsync(cancellationToken);
        return await engine.QueryFirstOrDefaultAsync(
            "SELECT inserted, deleted, updated FROM splitgraph_audit.count_changes($1, $2)",
            [schema, table], r => new AggregateChanges(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken)
            ?? throw new InvalidOperationException("splitgraph_audit.count_changes returned no row.");
    }

    /// <summary>
    /// <see cref="GetAggregateChangesAsync"/> for every tracked table at once: one query over the counters and the
    /// updates' partial index, however many tables are tracked.
    /// </summary>
    public async Task<IReadOnlyList<TablePendingCounts>> GetPendingCountsAsync(CancellationToken cancellationToken = default) =>
        await engine.QueryAsync(
            """
            SELECT n.nspname, c.relname, coalesce(p.inserted, 0), coalesce(p.deleted, 0), coalesce(u.updated, 0)
            FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN (SELECT schema_name, table_name, sum(inserted)::bigint AS inserted, sum(deleted)::bigint AS deleted
                       FROM splitgraph_audit.pending_counts GROUP BY 1, 2) p
                   ON p.schema_name = n.nspname AND p.table_name = c.relname
            LEFT JOIN (SELECT schema_name, table_name, count(*) AS updated
                       FROM splitgraph_audit.logged_actions WHERE action = 'U' GROUP BY 1, 2) u
                   ON u.schema_name = n.nspname AND u.table_name = c.relname
            WHERE t.tgname = $1 AND t.tgparentid = 0 ORDER BY 1, 2
            """, [RowTrigger], r => new TablePendingCounts(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4)), cancellationToken);

    /// <summary>
    /// One entry per change in log order, from the position <paramref name="after"/> (exclusive, a page's
    /// <see cref="ChangePage.NextAfter"/>), at most <paramref name="limit"/> entries. A key-changing update gives two
    /// entries: a delete of the old key, then an upsert of the new one; a bulk insert entry one per key.
    /// </summary>
    /// <param name="columns">The table's columns when the caller has read them already (saves a catalogue round trip).</param>
    public async Task<ChangePage> GetPendingChangesAsync(string schema, string table, long after = 0, int limit = 1000,
        IReadOnlyList<TableColumn>? columns = null, CancellationToken cancellationToken = default)
    {
        columns ??= await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        await ReconcileAsync(cancellationToken);
        var key = await TableCatalog.GetChangeKeyAsync(engine, schema, table, columns, cancellationToken);
        return await new LogPageReader(engine, schema, table, key).ReadAsync(after, limit, cancellationToken);
    }

    /// <summary>
    /// The raw log's page at <paramref name="offset"/> (entries in log order, as <see cref="GetPendingChangesAsync"/>),
    /// with the log's exact total: an index of entries per log row is kept per log state in <paramref name="cache"/>.
    /// </summary>
    public async Task<ChangePage> GetPendingChangesAtAsync(string schema, string table, long offset, int limit,
        IReadOnlyList<TableColumn>? columns, NetViewCache cache, string scope, CancellationToken cancellationToken = default)
    {
        columns ??= await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        await ReconcileAsync(cancellationToken);
        var key = await TableCatalog.GetChangeKeyAsync(engine, schema, table, columns, cancellationToken);
        return await new RawLogPager(engine, schema, table, key, cache, scope).ReadAsync(offset, limit, cancellationToken);
    }

    /// <summary>
    /// Net (conflated) changes, one entry per changed key, ordered by the position of the key's last change: what a
    /// commit would contain. Insert-then-delete and update-then-revert cancel; insert-then-update is one upsert.
    /// </summary>
    /// <param name="columns">The table's columns when the caller has read them already (saves a catalogue round trip).</param>
    /// <remarks>
    /// Without a <see cref="NetViewCache"/> each page is computed on its own: one pass over the table's whole log per
    /// page, no total. Readers that page (the API) pass a cache to the overload below.
    /// </remarks>
    public async Task<ChangePage> GetNetChangesAsync(string schema, string table, long after = 0, int limit = 1000,
        IReadOnlyList<TableColumn>? columns = null, CancellationToken cancellationToken = default)
    {
        columns ??= await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        await ReconcileAsync(cancellationToken);
        await RequireLoggedColumnsAsync(schema, table, columns, cancellationToken);
        var key = await TableCatalog.GetChangeKeyAsync(engine, schema, table, columns, cancellationToken);
        List<(long Position, ChangeEntry Entry)> rows;
        if (key.IsPrimaryKey)
        {
            rows = await engine.QueryAsync(
                ChangeLogSql.Build(ChangeLogSql.NetPage, new ChangeLogTable(schema, table, key), engine.Endpoint.Log),
                [.. ChangeLogSql.KeyedArgs(schema, table, key), ChangeLogSql.Named("after", after), ChangeLogSql.Named("limit", limit)],
                ReadNetEntry, cancellationToken);
        }
        else
        {
            // No primary key: one entry per copy of a row added or removed (a multiset), the row as its key.
            await using (await LogSettings.FixAsync(engine, cancellationToken))
            {
                rows = await engine.QueryAsync(
                    ChangeLogSql.Build(ChangeLogSql.MultisetPage, new ChangeLogTable(schema, table, key), engine.Endpoint.Log),
                    [.. ChangeLogSql.TableArgs(schema, table), ChangeLogSql.Named("after", after), ChangeLogSql.Named("limit", limit)],
                    ReadNetEntry, cancellationToken);
            }
        }

        return new ChangePage(rows.Select(r => r.Entry).ToList(), rows.Count == limit ? rows[^1].Position : null);
    }

    /// <summary>One row of a net-changes page: (position, event ID, key, upsert, old row, new row), JSON as text.</summary>
    private static (long Position, ChangeEntry Entry) ReadNetEntry(Npgsql.NpgsqlDataReader r) => (
        r.GetInt64(0),
        new ChangeEntry(
            r.GetInt64(1),
            JsonDocument.Parse(r.GetString(2)).RootElement,
            r.GetBoolean(3),
            r.IsDBNull(4) ? null : JsonDocument.Parse(r.GetString(4)).RootElement,
            r.IsDBNull(5) ? null : JsonDocument.Parse(r.GetString(5)).RootElement));

    /// <summary>
    /// A page of the net view (see the overload above) with the view's total and the page's offset. The view is
    /// computed once per log state and kept in <paramref name="cache"/> (under <paramref name="scope"/>, e.g. the engine's
    /// name): later pages are slices of it, not recomputations of the whole table's net changes. An <c>after</c> page
    /// (no offset, no key) is a slice only when the view is cached already; else it is read by SQL, one page's worth,
    /// without a total. A view past the cache's budget is never held: its offset and key pages answer 422.
    /// </summary>
    public async Task<ChangePage> GetNetChangesAsync(string schema, string table, NetPageRequest request,
        IReadOnlyList<TableColumn>? columns, NetViewCache? cache, string scope, CancellationToken cancellationToken = default)
    {
        columns ??= await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        await ReconcileAsync(cancellationToken);
        await RequireLoggedColumnsAsync(schema, table, columns, cancellationToken);
        var key = await TableCatalog.GetChangeKeyAsync(engine, schema, table, columns, cancellationToken);
        return await new NetViewReader(engine, schema, table, key, columns, cache ?? new NetViewCache(), scope).ReadAsync(request, cancellationToken)
            ?? await GetNetChangesAsync(schema, table, request.After, request.Limit, columns, cancellationToken);
    }

    /// <summary>
    /// Deletes the logged changes of the schema, or of one table of it, that this transaction's snapshot sees, and
    /// takes them off the counters. Returns how many.
    /// </summary>
    public async Task<long> DiscardPendingChangesAsync(string schema, string? table = null, CancellationToken cancellationToken = default)
    {
        await ReconcileAsync(cancellationToken);
        return await engine.ScalarAsync<long>(
            "SELECT splitgraph_audit.discard_changes($1, $2)",
            [schema, (object?)table ?? DBNull.Value], cancellationToken);
    }

    /// <summary>
    /// Moves the pending changes of tracked tables renamed since (ALTER TABLE … RENAME, SET SCHEMA) to their new names
    /// and discards those of dropped ones (see splitgraph_audit.reconcile). Always true (chains in conditions).
    /// </summary>
    public async Task<bool> ReconcileAsync(CancellationToken cancellationToken = default)
    {
        await engine.ExecuteAsync("SELECT splitgraph_audit.reconcile()", null, cancellationToken);
        return true;
    }

    /// <summary>
    /// 409 when the table's columns changed (ADD, DROP or RENAME COLUMN, or a column's type) since its oldest pending
    /// change was logged: entries of another shape cannot be read as rows of this one. Key changes need no check: every per-row entry holds
    /// the whole row, so the net changes are taken by the current key (bulk entries are checked by bulk_keys).
    /// </summary>
    public async Task RequireLoggedColumnsAsync(string schema, string table, IReadOnlyList<TableColumn> columns, CancellationToken cancellationToken = default)
    {
        var logged = await engine.ScalarAsync<string?>(ChangeLogSql.LoggedColumns, ChangeLogSql.TableArgs(schema, table), cancellationToken);
        var current = string.Join(", ", columns.Select(c => c.Name).Order(StringComparer.Ordinal));
        if (logged is not null && logged != current)
        {
            throw new ConflictException("Columns changed while changes were pending",
                $"Pending changes of \"{schema}\".\"{table}\" were logged with the columns ({logged}) but the table now has ({current}): " +
                "a column was added, dropped or renamed while they were pending. Undo the column change and commit them first, " +
                "or discard them (DELETE …/changes?table=), then commit.");
        }

        if (await GetPartitionChangesAsync(schema, table, cancellationToken) is { } partitions)
        {
            throw new ConflictException("Partitions changed while tracked",
                $"\"{schema}\".\"{table}\" is partitioned and its partitions changed in a way the change log cannot describe ({partitions}): " +
                "ATTACH, DETACH and DROP of a partition move rows without logging them. Commit the table as a snapshot " +
                "(POST …/commit?snapshot=true): it stores the table as it is, drops the pending changes it holds and accepts the " +
                "partitions as they are now. Or undo the change.");
        }

        if (await engine.QueryFirstOrDefaultAsync("SELECT logged_types, current_types FROM splitgraph_audit.retyped_columns($1, $2)", [schema, table],
                r => new ColumnTypes(r.IsDBNull(0) ? null : r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)), cancellationToken)
            is { Logged: { } before, Current: { } after })
        {
            throw new ConflictException("Column types changed while changes were pending",
                $"Pending changes of \"{schema}\".\"{table}\" were logged with the column types ({before}) but the table now has ({after}): " +
                "a column's type was changed (ALTER COLUMN … TYPE) while they were pending. Undo the type change and commit them first, " +
                "or discard them (DELETE …/changes?table=), then commit.");
        }
    }

    /// <summary>
    /// What changed in a tracked partitioned table's partitions that the log cannot describe (attached with rows, detached,
    /// dropped, columns out of line), or null (splitgraph_audit.partition_changes). Call after <see cref="ReconcileAsync"/>.
    /// </summary>
    public async Task<string?> GetPartitionChangesAsync(string schema, string table, CancellationToken cancellationToken = default) =>
        await engine.ScalarAsync<string?>("SELECT splitgraph_audit.partition_changes($1, $2)", [schema, table], cancellationToken);

    /// <summary>
    /// The partitions of a tracked partitioned table as splitgraph_audit.family_members lists them (OID and attach), to
    /// accept with <see cref="AcceptPartitionsAsync"/>: read before a snapshot's rows, so a partition attached meanwhile
    /// (catalogue reads do not wait for the snapshot) is not accepted without its rows.
    /// </summary>
    public async Task<string[]> GetFamilyMembersAsync(string schema, string table, CancellationToken cancellationToken = default) =>
        await engine.ScalarAsync<string[]?>(
            "SELECT splitgraph_audit.family_members(pg_catalog.format('%I.%I', $1::text, $2::text)::regclass)",
            [schema, table], cancellationToken) ?? [];

    /// <summary>
    /// After a snapshot commit of a partitioned table whose partitions changed: <paramref name="members"/> (read before
    /// the snapshot) become the accepted partitions, and the pending changes (held by the snapshot, and no longer
    /// describing the table) are discarded.
    /// </summary>
    public async Task AcceptPartitionsAsync(string schema, string table, string[] members, CancellationToken cancellationToken = default)
    {
        await engine.ExecuteAsync(
            "UPDATE splitgraph_audit.tracked_tables SET accepted_members = $3, rejected_members = NULL WHERE schema_name = $1 AND table_name = $2",
            [schema, table, ArrayParameter(members, NpgsqlDbType.Text)], cancellationToken);
        await DiscardPendingChangesAsync(schema, table, cancellationToken);
    }

    /// <summary>A relation's pg_class relkind and relpersistence.</summary>
    private sealed record Relation(string Kind, string Persistence);

    /// <summary>Column types as logged and as the table has them now (splitgraph_audit.retyped_columns).</summary>
    private sealed record ColumnTypes(string? Logged, string? Current);

    /// <summary>An array parameter of an explicit element type (so empty arrays type-check too).</summary>
    internal static Npgsql.NpgsqlParameter ArrayParameter<T>(T[] values, NpgsqlDbType elementType) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };
}
