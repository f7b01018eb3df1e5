using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine.Versions;

/// <summary>The live tables of a repository's schema, compared with an image (status, checkout, diff).</summary>
public sealed class WorkingState(SqlEngine engine)
{
    /// <summary>Tables (and partitioned tables, which tracking refuses with a 400) of the schema, by name.</summary>
    public async Task<IReadOnlyList<string>> TablesAsync(string schema, CancellationToken cancellationToken) =>
        await engine.QueryAsync(
            """
            SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1
            """, [schema], r => r.GetString(0), cancellationToken);

    /// <summary>
    /// 409 naming the tables of <paramref name="tables"/> that are partitioned or have inheritance children: emptying or
    /// dropping one would empty or drop its partitions or children too, in whatever schema they are.
    /// </summary>
    public async Task RefuseSharedAsync(string schema, IReadOnlyList<string> tables, CancellationToken cancellationToken)
    {
        var shared = await engine.QueryAsync(
            """
            SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = ANY($2)
              AND (c.relkind = 'p' OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid))
            ORDER BY 1
            """, [schema, tables.ToArray()], r => r.GetString(0), cancellationToken);
        if (shared.Count > 0)
        {
            throw new ConflictException("Table has partitions or children",
                $"Checkout would empty or drop {string.Join(", ", shared.Select(t => $"\"{Identifiers.Printable(schema)}\".\"{Identifiers.Printable(t)}\""))}, " +
                "which is partitioned or has inheritance children (emptied or dropped with it, in any schema): detach them first.");
        }
    }

    /// <summary>A live table's columns as an image records them (positions, names, types, primary-key flags).</summary>
    public async Task<IReadOnlyList<ObjectColumn>> SpecAsync(string schema, string table, CancellationToken cancellationToken)
    {
        var columns = await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        var key = (await engine.GetPrimaryKeysAsync(schema, table, cancellationToken)).Select(k => k.Column).ToHashSet();
        return columns.Select((c, i) => new ObjectColumn(i + 1, c.Name, c.Type, key.Contains(c.Name))).ToList();
    }

    public static bool SameSpec(IReadOnlyList<ObjectColumn> a, IReadOnlyList<ObjectColumn> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Name == p.Second.Name && p.First.Type == p.Second.Type && p.First.IsPrimaryKey == p.Second.IsPrimaryKey);

    /// <summary>
    /// Each table's state against <paramref name="head"/> (null: nothing checked out): added, removed, modified (pending
    /// changes, columns changed, or no longer tracked) or unchanged, with the raw pending counts.
    /// </summary>
    public async Task<IReadOnlyList<TableStatus>> StatusAsync(string schema, IReadOnlyList<TableRow> head, CancellationToken cancellationToken)
    {
        var changes = new ChangeEngine(engine);
        var live = await TablesAsync(schema, cancellationToken);
        var counts = (await changes.GetPendingCountsAsync(cancellationToken)).Where(c => c.Schema == schema).ToDictionary(c => c.Table);
        var inHead = head.ToDictionary(t => t.Table);
        var result = new List<TableStatus>();
        foreach (var table in live.Union(inHead.Keys).Order(StringComparer.Ordinal))
        {
            var pending = counts.GetValueOrDefault(table);
            var (added, removed, updated) = (pending?.Added ?? 0, pending?.Removed ?? 0, pending?.Updated ?? 0);
            string state;
            if (!inHead.TryGetValue(table, out var image))
            {
                state = "added";
            }
            else if (!live.Contains(table))
            {
                state = "removed";
            }
            else if (added + removed + updated > 0 || !await changes.IsTrackedAsync(schema, table, cancellationToken)
                     || !SameSpec(image.Schema, await SpecAsync(schema, table, cancellationToken)))
            {
                state = "modified";
            }
            else
            {
                state = "unchanged";
            }

            result.Add(new TableStatus(table, state, added, removed, updated));
        }

        return result;
    }
}
