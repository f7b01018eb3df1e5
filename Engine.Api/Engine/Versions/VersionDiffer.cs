using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine.Versions;

/// <summary>
/// Diff between two images, or an image and the live tables, read from the objects without checking anything out.
/// A table's version from a chain is, per key, the row of the last object that has the key (gone when that row is a
/// delete); without a primary key, each distinct row counted up by upserts and down by deletes (a multiset). Rows are
/// compared as jsonb; a key on both sides with a different row is an update (old → new).
/// </summary>
public sealed class VersionDiffer(SqlEngine engine)
{
    private readonly VersionCatalog _catalog = new(engine);

    /// <summary>One side of a diff for one table: an image's chain, the live table, or nothing (table absent).</summary>
    /// <param name="Flags">The flag column of each object of the chain (its last column).</param>
    private sealed record Side(string Table, TableRow? Chain, IReadOnlyList<string> Flags, string? LiveSchema, IReadOnlyList<ObjectColumn>? Spec)
    {
        public bool Present => Spec is not null;
    }

    public async Task<VersionDiff> DiffAsync(string schema, string from, string? to, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var (fromHash, fromTables) = await ImageAsync(schema, from, cancellationToken);
        var (toHash, toTables, liveTables) = await TargetAsync(schema, to, cancellationToken);
        var names = fromTables.Keys.Union(toHash is null ? liveTables : toTables.Keys).Order(StringComparer.Ordinal);
        var result = new List<TableDiff>();
        foreach (var table in names)
        {
            var a = await SideAsync(schema, table, fromTables, null, cancellationToken);
            var b = await SideAsync(schema, table, toTables, toHash is null ? liveTables : null, cancellationToken);
            var schemaChanged = a.Present && b.Present && !WorkingState.SameSpec(a.Spec!, b.Spec!);
            if (a.Chain is not null && b.Chain is not null && !schemaChanged && a.Chain.ObjectIds.SequenceEqual(b.Chain.ObjectIds))
            {
                result.Add(new TableDiff(table, "unchanged", 0, 0, 0, false));
                continue;
            }

            var (sql, arguments) = DiffSql(a, b);
            var (added, removed, updated) = (await engine.QueryAsync(
                sql + " SELECT pg_catalog.count(*) FILTER (WHERE d.added), pg_catalog.count(*) FILTER (WHERE d.removed), pg_catalog.count(*) FILTER (WHERE d.updated) FROM d",
                arguments, r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken)).Single();
            var state = !a.Present ? "added" : !b.Present ? "removed" : added + removed + updated > 0 || schemaChanged ? "modified" : "unchanged";
            result.Add(new TableDiff(table, state, added, removed, updated, schemaChanged));
        }

        return new VersionDiff(schema, fromHash, toHash, result);
    }

    /// <summary>A page of one table's row changes, ordered by key (by row without one); <c>after</c> is a position.</summary>
    public async Task<ChangePage> RowsAsync(string schema, string table, string from, string? to, long after, int limit, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var (_, fromTables) = await ImageAsync(schema, from, cancellationToken);
        var (toHash, toTables, liveTables) = await TargetAsync(schema, to, cancellationToken);
        var a = await SideAsync(schema, table, fromTables, null, cancellationToken);
        var b = await SideAsync(schema, table, toTables, toHash is null ? liveTables : null, cancellationToken);
        if (!a.Present && !b.Present)
        {
            throw new TableNotFoundException(schema, table);
        }

        var (sql, arguments) = DiffSql(a, b);
        var rows = await engine.QueryAsync(
            sql + $" SELECT d.k::text, d.old::text, d.new::text, d.added OR d.updated FROM d ORDER BY d.k, d.copy OFFSET ${arguments.Count + 1} LIMIT ${arguments.Count + 2}",
            [.. arguments, after, limit],
            r => (Key: r.GetString(0), Old: r.IsDBNull(1) ? null : r.GetString(1), New: r.IsDBNull(2) ? null : r.GetString(2), Upsert: r.GetBoolean(3)),
            cancellationToken);
        var entries = rows.Select((r, i) => new ChangeEntry(after + i + 1,
            JsonDocument.Parse(r.Key).RootElement, r.Upsert,
            r.Old is { } old ? JsonDocument.Parse(old).RootElement : null,
            r.New is { } @new ? JsonDocument.Parse(@new).RootElement : null)).ToList();
        return new ChangePage(entries, rows.Count == limit ? after + limit : null);
    }

    private async Task<(string Hash, Dictionary<string, TableRow> Tables)> ImageAsync(string schema, string reference, CancellationToken cancellationToken)
    {
        var hash = await _catalog.ResolveAsync(schema, reference, cancellationToken);
        return (hash, (await _catalog.TablesAsync(schema, hash, cancellationToken)).ToDictionary(t => t.Table));
    }

    /// <summary>The right-hand side: an image, or (no reference) the live tables of the schema.</summary>
    private async Task<(string? Hash, Dictionary<string, TableRow> Tables, IReadOnlyList<string> Live)> TargetAsync(string schema, string? to, CancellationToken cancellationToken)
    {
        if (to is not null)
        {
            var (hash, tables) = await ImageAsync(schema, to, cancellationToken);
            return (hash, tables, []);
        }

        return (null, [], await new WorkingState(engine).TablesAsync(schema, cancellationToken));
    }

    private async Task<Side> SideAsync(string schema, string table, Dictionary<string, TableRow> tables, IReadOnlyList<string>? live, CancellationToken cancellationToken)
    {
        if (live is not null)
        {
            return live.Contains(table)
                ? new Side(table, null, [], schema, await new WorkingState(engine).SpecAsync(schema, table, cancellationToken))
                : new Side(table, null, [], null, null);
        }

        if (!tables.TryGetValue(table, out var row))
        {
            return new Side(table, null, [], null, null);
        }

        var objects = new ObjectEngine(engine);
        await objects.RequireAsync(row.ObjectIds, cancellationToken);
        var flags = new List<string>();
        foreach (var id in row.ObjectIds)
        {
            flags.Add(ObjectEngine.SplitFlag(await objects.GetObjectSchemaAsync(id, cancellationToken)).Flag);
        }

        return new Side(table, row, flags, null, row.Schema);
    }

    /// <summary>
    /// <c>WITH … d AS (k, old, new, added, removed, updated, copy)</c>: one row per changed key (per added or removed copy
    /// of a row without a key). Names reach the SQL quoted (validated from the catalogue); column names as parameters.
    /// </summary>
    private static (string Sql, List<object?> Arguments) DiffSql(Side a, Side b)
    {
        var keyA = a.Spec?.Where(c => c.IsPrimaryKey).Select(c => c.Name).ToList() ?? [];
        var keyB = b.Spec?.Where(c => c.IsPrimaryKey).Select(c => c.Name).ToList() ?? [];
        var key = !a.Present ? keyB : !b.Present ? keyA : keyA.SequenceEqual(keyB) ? keyA : [];
        var arguments = new List<object?>();
        string Param(object value)
        {
            arguments.Add(value);
            return "$" + arguments.Count;
        }

        var columns = (a.Spec ?? []).Concat(b.Spec ?? []).Select(c => c.Name).Distinct().ToList();
        var nonKey = Param(columns.Except(key).ToArray());
        string KeyOf(string row) => key.Count > 0 ? $"{row} - {nonKey}::text[]" : row;

        // The flag goes from the row by name (a parameter); it is the object's last column, never a user column.
        string Rows(Side side, int i) =>
            $"SELECT {i} AS p, pg_catalog.to_jsonb(o) - {Param(side.Flags[i])}::text AS r, o.{Identifiers.Quote(side.Flags[i])} AS f " +
            $"FROM {Identifiers.Qualify(ObjectEngine.MetaSchema, side.Chain!.ObjectIds[i])} o";

        // Two chains of the same columns sharing a prefix (adjacent images): a key only the prefix mentions is the same
        // on both sides, so each side reads only the keys that the objects after the prefix mention.
        var shared = a.Chain is not null && b.Chain is not null && WorkingState.SameSpec(a.Spec!, b.Spec!)
            ? a.Chain.ObjectIds.Zip(b.Chain.ObjectIds).TakeWhile(pair => pair.First == pair.Second).Count()
            : 0;
        string? candidates = null;
        if (shared > 0)
        {
            var suffix = new[] { a, b }.SelectMany(side => Enumerable.Range(shared, side.Chain!.ObjectIds.Count - shared).Select(i => Rows(side, i))).ToList();
            candidates = suffix.Count == 0
                ? "cand AS (SELECT NULL::jsonb AS k WHERE false), "
                : $"cand AS (SELECT DISTINCT {KeyOf("x.r")} AS k FROM ({string.Join(" UNION ALL ", suffix)}) x), ";
        }
        string Version(Side side, string name)
        {
            if (!side.Present)
            {
                return $"{name} AS (SELECT NULL::jsonb AS k, NULL::jsonb AS r, 0::bigint AS n WHERE false)";
            }

            if (side.Chain is null)
            {
                var live = $"SELECT pg_catalog.to_jsonb(o) AS r, true AS f FROM {Identifiers.Qualify(side.LiveSchema!, side.Table)} o";
                return key.Count > 0
                    ? $"{name} AS (SELECT x.r - {nonKey}::text[] AS k, x.r, 1::bigint AS n FROM ({live}) x)"
                    : $"{name} AS (SELECT x.r AS k, x.r, pg_catalog.count(*) AS n FROM ({live}) x GROUP BY x.r)";
            }

            var all = string.Join(" UNION ALL ", Enumerable.Range(0, side.Chain.ObjectIds.Count).Select(i => Rows(side, i)));
            if (candidates is not null)
            {
                all = $"SELECT y.* FROM ({all}) y WHERE {KeyOf("y.r")} IN (SELECT c.k FROM cand c)";
            }

            return key.Count > 0
                ? $"{name} AS (SELECT z.k, z.r, 1::bigint AS n FROM (SELECT DISTINCT ON (x.r - {nonKey}::text[]) x.r - {nonKey}::text[] AS k, x.r, x.f FROM ({all}) x " +
                  $"ORDER BY x.r - {nonKey}::text[], x.p DESC) z WHERE z.f)"
                : $"{name} AS (SELECT x.r AS k, x.r, pg_catalog.sum(CASE WHEN x.f THEN 1 ELSE -1 END)::bigint AS n FROM ({all}) x GROUP BY x.r HAVING pg_catalog.sum(CASE WHEN x.f THEN 1 ELSE -1 END) > 0)";
        }

        var sql = key.Count > 0
            ? $"""
              WITH {candidates}{Version(a, "va")}, {Version(b, "vb")},
              d AS (SELECT coalesce(va.k, vb.k) AS k, va.r AS old, vb.r AS new, va.k IS NULL AS added, vb.k IS NULL AS removed,
                           va.k IS NOT NULL AND vb.k IS NOT NULL AS updated, 1 AS copy
                    FROM va FULL JOIN vb ON va.k = vb.k WHERE va.r IS DISTINCT FROM vb.r)
              """
            : $"""
              WITH {candidates}{Version(a, "va")}, {Version(b, "vb")},
              m AS (SELECT coalesce(va.k, vb.k) AS k, coalesce(va.n, 0) AS an, coalesce(vb.n, 0) AS bn FROM va FULL JOIN vb ON va.k = vb.k),
              d AS (SELECT m.k, CASE WHEN m.an > m.bn THEN m.k END AS old, CASE WHEN m.bn > m.an THEN m.k END AS new,
                           m.bn > m.an AS added, m.an > m.bn AS removed, false AS updated, c.copy
                    FROM m, pg_catalog.generate_series(1, pg_catalog.abs(m.bn - m.an)) AS c(copy) WHERE m.an <> m.bn)
              """;
        return (sql, arguments);
    }
}
