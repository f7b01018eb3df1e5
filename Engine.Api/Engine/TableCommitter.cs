using System.Data;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Commit of one tracked table: its net pending changes become a fragment object under its content-addressed ID,
/// and exactly the log rows read are discarded — one repeatable-read transaction, so the log, the table and the
/// discard all see one snapshot: a change written meanwhile is neither lost nor counted twice.
/// </summary>
public sealed class TableCommitter(SqlEngine engine)
{
    /// <summary>Isolation a commit needs; set on the engine before its first statement.</summary>
    public const IsolationLevel Isolation = IsolationLevel.RepeatableRead;

    /// <param name="snapshot">Store the whole table as one object instead of its pending changes.</param>
    public async Task<CommitResult> CommitAsync(string schema, string table, bool snapshot = false, CancellationToken cancellationToken = default)
    {
        var columns = await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        var changes = new ChangeEngine(engine);
        if (!snapshot && !await changes.IsTrackedAsync(schema, table, cancellationToken))
        {
            throw new TableNotTrackedException(schema, table);
        }

        if (!snapshot)
        {
            await changes.ReconcileAsync(cancellationToken);
            await changes.RequireLoggedColumnsAsync(schema, table, columns, cancellationToken);
        }

        var key = await TableCatalog.GetChangeKeyAsync(engine, schema, table, columns, cancellationToken);
        var objects = new ObjectEngine(engine);
        var staging = "sg_staging_" + Guid.NewGuid().ToString("N");
        await objects.CreateFragmentTableAsync(ObjectEngine.MetaSchema, staging, columns, key, cancellationToken);

        var source = Identifiers.Qualify(schema, table);
        var target = Identifiers.Qualify(ObjectEngine.MetaSchema, staging);
        var names = string.Join(", ", columns.Select(c => Identifiers.Quote(c.Name)));
        var flag = Identifiers.Quote(ObjectEngine.FlagFor(columns.Select(c => c.Name)));
        if (snapshot)
        {
            await engine.ExecuteAsync($"INSERT INTO {target} SELECT s.*, true FROM {source} s", null, cancellationToken);
        }
        else if (!key.IsPrimaryKey)
        {
            // No primary key: the net multiset of logged row texts, each copy a fragment row (upsert = add one copy,
            // delete = remove one), straight from the log's exact texts.
            await changes.SyncTriggerModeAsync(schema, table, cancellationToken);
            await using (await LogSettings.FixAsync(engine, cancellationToken))
            {
                await engine.ExecuteAsync(
                    MultisetChangesSql.Copies(source) +
                    $"""
                    INSERT INTO {target} ({names}, {flag})
                    SELECT {string.Join(", ", columns.Select(c => "(x.r)." + Identifiers.Quote(c.Name)))}, c.added
                    FROM copies c, LATERAL (SELECT CAST(c.image AS {source}) AS r) x
                    """, [schema, table], cancellationToken);
            }
        }
        else
        {
            await changes.SyncTriggerModeAsync(schema, table, cancellationToken);
            // Upserts are the live rows of every changed key (same snapshot as the log, as Splitgraph's store_fragment):
            // values from the log's jsonb would turn a json 'null' into SQL NULL, bulk entries hold only keys, and
            // without a primary key a key can match several identical rows that the net view does not count. Keys with
            // no live row become deletes. One outer join does both (two passes over 1M keys took twice as long).
            // A delete carries its key, plus the old values of domain columns (a NOT NULL domain refuses NULL);
            // other columns are NULL there, as in Splitgraph.
            var domains = columns.Where(c => c.Domain && !key.Columns.Contains(c)).ToList();
            var values = string.Join(", ", columns.Select(c => key.Columns.Contains(c)
                ? $"CASE WHEN s.ctid IS NULL THEN k.{Identifiers.Quote(c.Name)} ELSE s.{Identifiers.Quote(c.Name)} END"
                : domains.Contains(c)
                    ? $"CASE WHEN s.ctid IS NULL THEN k.{Identifiers.Quote(c.Name)}::{c.Type} ELSE s.{Identifiers.Quote(c.Name)} END"
                    : $"s.{Identifiers.Quote(c.Name)}"));
            await engine.ExecuteAsync(
                NetChangesSql.Net(source, key) +
                $"""
                , net_keys AS (SELECT k.* FROM net n, LATERAL {KeyMatch.KeyRecord("coalesce(n.old_row, n.row_key)", key, "k", domains)})
                INSERT INTO {target} ({names}, {flag})
                SELECT {values}, s.ctid IS NOT NULL
                FROM net_keys k LEFT JOIN {source} s ON {KeyMatch.Sql(key, "s", "k")}
                """, [schema, table, ChangeEngine.KeyArray(key)], cancellationToken);
        }

        var (upserts, deletes) = (await engine.QueryAsync(
            $"SELECT count(*) FILTER (WHERE {flag}), count(*) FILTER (WHERE NOT {flag}) FROM {target}",
            null, r => (Upserts: r.GetInt64(0), Deletes: r.GetInt64(1)), cancellationToken)).Single();

        string? objectId = null;
        var created = false;
        if (upserts + deletes == 0 && !snapshot)
        {
            await engine.ExecuteAsync($"DROP TABLE {target}", null, cancellationToken);
        }
        else
        {
            (objectId, created) = await objects.StoreContentAddressedAsync(ObjectEngine.MetaSchema, staging, cancellationToken);
        }

        if (!snapshot)
        {
            // Repeatable read: deletes exactly the log rows the snapshot saw, not ones committed since.
            await changes.DiscardPendingChangesAsync(schema, table, cancellationToken);
        }

        return new CommitResult(objectId, upserts, deletes, created);
    }
}
