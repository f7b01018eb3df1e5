using Npgsql;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Applies fragments to a table in list order: delete target rows whose change key matches a fragment row, then
/// insert the fragment's upserts (optionally filtered; the filter never limits the delete). One round trip, in the
/// engine's transaction. The result speaks the commit's language: rows upserted and rows deleted by delete entries,
/// not the internal delete+insert counts (an upsert of an existing key is one delete and one insert inside).
/// </summary>
public sealed class FragmentApplier(SqlEngine engine)
{
    /// <param name="schemaSpec">Columns to apply (defaults to the first object's schema, checked against the target).</param>
    /// <param name="createTable">Create a missing target from the first object's columns and key (no triggers) first.</param>
    public async Task<ApplyResult> ApplyFragmentsAsync(IReadOnlyList<string> objectIds, string targetSchema, string targetTable,
        IReadOnlyList<RowFilter>? filter = null, IReadOnlyList<ObjectColumn>? schemaSpec = null, bool createTable = false,
        CancellationToken cancellationToken = default)
    {
        if (objectIds.Count == 0)
        {
            throw new InvalidInputException("No objects", "The list of objects to apply is empty.");
        }

        var objects = new ObjectEngine(engine);
        await objects.RequireAsync(objectIds, cancellationToken);
        var created = createTable && await TableDefinition.CreateFromObjectAsync(engine, objectIds[0], targetSchema, targetTable, cancellationToken);
        var targetColumns = await TableCatalog.RequireUserColumnsAsync(engine, targetSchema, targetTable, cancellationToken);

        var specs = new List<IReadOnlyList<ObjectColumn>>();
        var flags = new List<string>();
        foreach (var id in objectIds)
        {
            // The flag is the last column (sg_ud_flag, or sg_ud_flag_… when a user column has that name).
            var (spec, flag) = ObjectEngine.SplitFlag(await objects.GetObjectSchemaAsync(id, cancellationToken));
            EnsureMatches(id, spec, targetColumns, targetSchema, targetTable);
            specs.Add(spec);
            flags.Add(flag);
        }

        // Generated columns are computed by the target; identity values are kept (OVERRIDING SYSTEM VALUE).
        var generated = targetColumns.Where(c => c.Generated).Select(c => c.Name).ToHashSet();
        var columns = (schemaSpec?.Where(c => c.Name != flags[0]).ToList() ?? specs[0]).Where(c => !generated.Contains(c.Name)).ToList();
        var target = Identifiers.Qualify(targetSchema, targetTable);
        var columnList = string.Join(", ", columns.Select(c => Identifiers.Quote(c.Name)));

        var keys = new List<ChangeKey>();
        for (var i = 0; i < objectIds.Count; i++)
        {
            keys.Add(await KeyOfAsync(objectIds[i], specs[i], targetColumns, i > 0 ? keys[i - 1] : null, cancellationToken));
        }

        var filterArguments = new List<object?>();
        var where = await RowFilterSql.BuildAsync(engine, targetSchema, targetTable, filter, targetColumns, filterArguments, "f.", cancellationToken);

        var connection = await engine.ConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, engine.CurrentTransaction);
        for (var i = 0; i < objectIds.Count; i++)
        {
            var fragment = Identifiers.Qualify(ObjectEngine.MetaSchema, objectIds[i]);
            var key = keys[i];
            // Counts only the rows a delete entry removed; rows an upsert replaces are not deletions to the reader.
            // Without a primary key a delete row removes one copy of an identical row (duplicates are counted).
            batch.BatchCommands.Add(new NpgsqlBatchCommand(key.IsPrimaryKey
                ? $"WITH d AS (DELETE FROM {target} t USING {fragment} f WHERE {KeyMatch.Sql(key, "t", "f")} RETURNING f.{Identifiers.Quote(flags[i])} AS upsert) " +
                  "SELECT pg_catalog.count(*) FILTER (WHERE NOT d.upsert) FROM d"
                : $"WITH d AS ({DeleteCopies(target, fragment, Identifiers.Quote(flags[i]), specs[i].Select(c => Identifiers.Quote(c.Name)).ToList())} RETURNING 1) " +
                  "SELECT pg_catalog.count(*) FROM d"));

            var insert = new NpgsqlBatchCommand(
                $"INSERT INTO {target} ({columnList}) OVERRIDING SYSTEM VALUE SELECT {string.Join(", ", columns.Select(c => "f." + Identifiers.Quote(c.Name)))} " +
                $"FROM {fragment} f WHERE f.{Identifiers.Quote(flags[i])}" + (where.Length > 0 ? $" AND {where}" : string.Empty));
            foreach (var argument in filterArguments)
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = argument });
            }

            batch.BatchCommands.Add(insert);
        }

        var deletes = await engine.GuardAsync(async () => await ReadDeleteCountsAsync(batch, cancellationToken));
        var fragments = objectIds.Select((id, i) => new FragmentApplied(id, batch.BatchCommands[2 * i + 1].RecordsAffected, deletes[i])).ToList();
        return new ApplyResult(fragments.Sum(f => f.Upserted), fragments.Sum(f => f.Deleted), fragments, created);
    }

    /// <summary>Runs the batch; each fragment's delete statement answers one row (its delete count), the inserts none.</summary>
    private static async Task<List<long>> ReadDeleteCountsAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        var counts = new List<long>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        do
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                counts.Add(reader.GetInt64(0));
            }
        }
        while (await reader.NextResultAsync(cancellationToken));

        return counts;
    }

    private static void EnsureMatches(string objectId, IReadOnlyList<ObjectColumn> spec, IReadOnlyList<TableColumn> target, string schema, string table)
    {
        var expected = string.Join(", ", spec.Select(c => $"{c.Name} {c.Type}"));
        var actual = string.Join(", ", target.Select(c => $"{c.Name} {c.Type}"));
        if (expected != actual)
        {
            throw new ConflictException("Schema mismatch",
                $"Object {objectId} has columns ({expected}) but \"{schema}\".\"{table}\" has ({actual}).");
        }
    }

    /// <summary>
    /// The object's key columns, matched with the equality operators of the object table's own primary key (the
    /// target may have none), or every comparable column of an object made from a table without a key. The previous
    /// fragment's key is reused when it has the same columns (a chain's objects share their types).
    /// </summary>
    private async Task<ChangeKey> KeyOfAsync(string objectId, IReadOnlyList<ObjectColumn> spec, IReadOnlyList<TableColumn> targetColumns, ChangeKey? previous,
        CancellationToken cancellationToken)
    {
        var primary = spec.Where(c => c.IsPrimaryKey).Select(c => targetColumns.First(t => t.Name == c.Name)).ToList();
        if (primary.Count == 0)
        {
            var comparable = targetColumns.Where(c => c.Comparable).ToList();
            return ChangeKey.WithoutPrimaryKey(comparable.Count > 0 ? comparable : targetColumns);
        }

        if (previous is { IsPrimaryKey: true } && previous.Columns.SequenceEqual(primary))
        {
            return previous;
        }

        var equalities = (await TableCatalog.GetPrimaryKeyEqualitiesAsync(engine, ObjectEngine.MetaSchema, objectId, cancellationToken))
            .ToDictionary(k => k.Column, k => k.Equality);
        return ChangeKey.Primary(primary, primary.Select(c => equalities.TryGetValue(c.Name, out var equality)
            ? equality
            : throw new ConflictException("Object damaged", $"Object {objectId}'s table has no primary key on its key column {Identifiers.Printable(c.Name)}.")).ToList());
    }

    /// <summary>
    /// Deletes exactly as many copies of each row as the fragment's delete rows hold (of every row text, the first n
    /// copies found), as <c>ROW(…)::text</c> of the given columns on both sides, compared with pg_catalog's text equality.
    /// </summary>
    private static string DeleteCopies(string target, string fragment, string flag, IReadOnlyList<string> quotedColumns)
    {
        string Row(string alias) => $"ROW({string.Join(", ", quotedColumns.Select(c => $"{alias}.{c}"))})::text";
        var equal = KeyEquality.Builtin.Sql;
        return $"""
            DELETE FROM {target} t USING (
                SELECT x.ctid FROM (
                    SELECT s.ctid, {Row("s")} AS image, pg_catalog.row_number() OVER (PARTITION BY {Row("s")}) AS copy
                    FROM {target} s WHERE {Row("s")} {equal} ANY (SELECT {Row("f")} FROM {fragment} f WHERE NOT f.{flag})) x
                JOIN (SELECT {Row("f")} AS image, pg_catalog.count(*) AS n FROM {fragment} f WHERE NOT f.{flag} GROUP BY 1) d
                  ON d.image {equal} x.image AND x.copy <= d.n) v
            WHERE t.ctid = v.ctid
            """;
    }
}
