using System.Data;
using System.Runtime.CompilerServices;
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

        // A snapshot is how a partitioned table whose partitions changed (ATTACH, DETACH, DROP) is committed again.
        var acceptPartitions = snapshot && await changes.IsTrackedAsync(schema, table, cancellationToken)
            && await changes.ReconcileAsync(cancellationToken) && await changes.GetPartitionChangesAsync(schema, table, cancellationToken) is not null;
        var members = acceptPartitions ? await changes.GetFamilyMembersAsync(schema, table, cancellationToken) : [];

        var key = await TableCatalog.GetChangeKeyAsync(engine, schema, table, columns, cancellationToken);
        var objects = new ObjectEngine(engine);
        var staging = "sg_staging_" + Guid.NewGuid().ToString("N");
        await objects.CreateFragmentTableAsync(ObjectEngine.MetaSchema, staging, columns, key, cancellationToken);

        // Every statement below is in ChangeLogSql, built for this table and its staging fragment.
        var shape = new ChangeLogTable(schema, table, key, columns, staging);
        string Sql(string template, [CallerArgumentExpression(nameof(template))] string name = "") =>
            ChangeLogSql.Build(template, shape, engine.Endpoint.Log, name);
        if (snapshot)
        {
            await engine.ExecuteAsync(Sql(ChangeLogSql.CommitSnapshot), null, cancellationToken);
        }
        else if (!key.IsPrimaryKey)
        {
            await changes.SyncTriggerModeAsync(schema, table, cancellationToken);
            await using (await LogSettings.FixAsync(engine, cancellationToken))
            {
                await engine.ExecuteAsync(Sql(ChangeLogSql.CommitMultiset), ChangeLogSql.TableArgs(schema, table), cancellationToken);
            }
        }
        else
        {
            await changes.SyncTriggerModeAsync(schema, table, cancellationToken);
            await engine.ExecuteAsync(Sql(ChangeLogSql.CommitKeyed), ChangeLogSql.KeyedArgs(schema, table, key), cancellationToken);
        }

        var (upserts, deletes) = (await engine.QueryAsync(Sql(ChangeLogSql.CommitCounts),
            null, r => (Upserts: r.GetInt64(0), Deletes: r.GetInt64(1)), cancellationToken)).Single();

        string? objectId = null;
        var created = false;
        if (upserts + deletes == 0 && !snapshot)
        {
            await engine.ExecuteAsync(Sql(ChangeLogSql.CommitDropEmpty), null, cancellationToken);
        }
        else
        {
            (objectId, created) = await objects.StoreContentAddressedAsync(ObjectEngine.MetaSchema, staging, cancellationToken);
        }

        if (acceptPartitions)
        {
            await changes.AcceptPartitionsAsync(schema, table, members, cancellationToken);
        }

        if (!snapshot)
        {
            // Repeatable read: deletes exactly the log rows the snapshot saw, not ones committed since.
            await changes.DiscardPendingChangesAsync(schema, table, cancellationToken);
        }

        return new CommitResult(objectId, upserts, deletes, created);
    }
}
