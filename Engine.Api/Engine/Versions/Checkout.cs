using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine.Versions;

/// <summary>
/// Checkout: the repository's schema becomes exactly the image, in the engine's one transaction. Each table of the image
/// is recreated from its object chain applied in order (created from the base object's columns and key, without
/// triggers, when missing or when its columns differ; emptied otherwise, keeping its own indexes and grants), then
/// tracked again; tables the image lacks are dropped. A table whose chain and columns equal HEAD's and that has no
/// pending change is left as it is. Pending changes refuse the checkout (409) unless forced, which discards them. A
/// table to empty or drop that is partitioned or has inheritance children refuses it too (409): its partitions and
/// children, in any schema, would be emptied or dropped with it.
/// </summary>
public sealed class Checkout(SqlEngine engine)
{
    private readonly VersionCatalog _catalog = new(engine);
    private readonly WorkingState _working = new(engine);

    public async Task<CheckoutResult> RunAsync(string schema, string reference, bool force, CancellationToken cancellationToken)
    {
        await _catalog.LockRepositoryAsync(schema, cancellationToken);
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var target = await _catalog.ResolveAsync(schema, reference, cancellationToken);
        var head = await _catalog.HeadAsync(schema, cancellationToken);
        var headTables = head is null ? [] : await _catalog.TablesAsync(schema, head, cancellationToken);
        var status = await _working.StatusAsync(schema, headTables, cancellationToken);
        var pending = status.Where(s => s.State != "unchanged").ToList();
        if (pending.Count > 0 && !force)
        {
            throw new PendingChangesException(engine.Name, schema, pending);
        }

        var changes = new ChangeEngine(engine);
        var discarded = pending.Sum(s => s.Added + s.Removed + s.Updated);
        var targetTables = await _catalog.TablesAsync(schema, target, cancellationToken);
        var live = (await _working.TablesAsync(schema, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var unchanged = status.Where(s => s.State == "unchanged").Select(s => s.Table).ToHashSet(StringComparer.Ordinal);
        bool Kept(TableRow table) => unchanged.Contains(table.Table)
            && headTables.FirstOrDefault(t => t.Table == table.Table) is { } inHead && inHead.ObjectIds.SequenceEqual(table.ObjectIds);
        var toDrop = live.Except(targetTables.Select(t => t.Table)).Order(StringComparer.Ordinal).ToList();
        await _working.RefuseSharedAsync(schema, toDrop.Concat(targetTables.Where(t => !Kept(t) && live.Contains(t.Table)).Select(t => t.Table)).ToList(),
            cancellationToken);

        var dropped = new List<string>();
        foreach (var table in toDrop)
        {
            await DropAsync(changes, schema, table, cancellationToken);
            dropped.Add(table);
        }

        var created = new List<string>();
        foreach (var table in targetTables)
        {
            if (Kept(table))
            {
                continue;
            }

            if (live.Contains(table.Table))
            {
                if (WorkingState.SameSpec(table.Schema, await _working.SpecAsync(schema, table.Table, cancellationToken)))
                {
                    // Untracked first: the emptying and the chain's rows are not changes to log.
                    await changes.UntrackTablesAsync([new TableRef(schema, table.Table)], cancellationToken);
                    await engine.ExecuteAsync($"TRUNCATE ONLY {Identifiers.Qualify(schema, table.Table)}", null, cancellationToken);
                }
                else
                {
                    await DropAsync(changes, schema, table.Table, cancellationToken);
                    created.Add(table.Table);
                }
            }
            else
            {
                created.Add(table.Table);
            }

            await new FragmentApplier(engine).ApplyFragmentsAsync(table.ObjectIds, schema, table.Table, createTable: true, cancellationToken: cancellationToken);
            await changes.TrackTablesAsync([new TableRef(schema, table.Table)], cancellationToken);
        }

        // Anything a forced checkout left in the log (a table kept as it was) is discarded with the rest.
        await changes.DiscardPendingChangesAsync(schema, null, cancellationToken);
        await _catalog.SetTagAsync(schema, VersionCatalog.Head, target, cancellationToken);
        return new CheckoutResult(await _catalog.DescribeAsync(schema, target, cancellationToken), targetTables.Select(t => t.Table).ToList(),
            created, dropped, discarded);
    }

    private async Task DropAsync(ChangeEngine changes, string schema, string table, CancellationToken cancellationToken)
    {
        if (await changes.IsTrackedAsync(schema, table, cancellationToken))
        {
            await changes.UntrackTablesAsync([new TableRef(schema, table)], cancellationToken);
        }

        await engine.ExecuteAsync($"DROP TABLE {Identifiers.Qualify(schema, table)}", null, cancellationToken);
    }
}

public sealed class PendingChangesException(string engine, string schema, IReadOnlyList<TableStatus> pending)
    : EngineException("Pending changes",
        $"Repository \"{Identifiers.Printable(schema)}\" on engine '{engine}' has pending changes ({string.Join(", ", pending.Select(p => $"{Identifiers.Printable(p.Table)}: {p.State}"))}); " +
        "commit them, or check out with force to discard them.", 409);
