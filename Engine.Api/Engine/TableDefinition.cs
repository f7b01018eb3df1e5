using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// CREATE TABLE statements: columns and primary key only (no triggers, defaults or other constraints). Column types are
/// always this server's own <c>format_type</c> output, checked to name the type they came from — never text from a
/// request, a file or another engine's catalogue.
/// </summary>
public static class TableDefinition
{
    /// <summary>A user table of this engine as <c>CREATE TABLE IF NOT EXISTS</c> (for its SQL download).</summary>
    public static async Task<string> OfTableAsync(SqlEngine engine, string schema, string table, CancellationToken cancellationToken)
    {
        var columns = await TableCatalog.RequireUserColumnsAsync(engine, schema, table, cancellationToken);
        var key = await engine.GetPrimaryKeysAsync(schema, table, cancellationToken);
        return Sql(schema, table, columns.Select(c => (c.Name, c.Type, c.NotNull)).ToList(), key.Select(k => k.Column).ToList(), ifNotExists: true);
    }

    /// <summary>
    /// Creates <paramref name="schema"/>.<paramref name="table"/> (and the schema if missing) with the columns and key of
    /// an object stored on this engine, unless the table exists. True when it was created.
    /// </summary>
    public static async Task<bool> CreateFromObjectAsync(SqlEngine engine, string objectId, string schema, string table, CancellationToken cancellationToken)
    {
        UserTables.RequireUserSchema(Identifiers.Validate(schema, "schema name"));
        if (await TableCatalog.GetColumnsAsync(engine, schema, table, cancellationToken) is not null)
        {
            return false;
        }

        // The object's own table on this engine gives the types; the catalogue's spec says which columns form the key
        // and which is the fragment's flag (its last column, not always called sg_ud_flag).
        var (objectColumns, flag) = ObjectEngine.SplitFlag(await new ObjectEngine(engine).GetObjectSchemaAsync(objectId, cancellationToken));
        var rows = (List<object?[]>)(await engine.RunSqlAsync(
            $"""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), to_regtype(format_type(a.atttypid, NULL)) = a.atttypid
            FROM pg_attribute a
            WHERE a.attrelid = format('%I.%I', '{ObjectEngine.MetaSchema}', $1::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attname <> $2
            ORDER BY a.attnum
            """, [Identifiers.ValidateObjectId(objectId), flag], ResultShape.ManyMany, cancellationToken))!;
        var unresolved = rows.Where(r => r[2] is not true).Select(r => (string)r[0]!).ToList();
        if (rows.Count == 0 || unresolved.Count > 0)
        {
            throw new ConflictException("Type not resolvable",
                $"Object {objectId} has columns whose types this engine cannot name safely ({string.Join(", ", unresolved.Select(Identifiers.Printable))}); create the table by hand.");
        }

        var columns = rows.Select(r => ((string)r[0]!, (string)r[1]!, false)).ToList();
        var key = objectColumns.Where(c => c.IsPrimaryKey).Select(c => c.Name).Where(name => columns.Any(c => c.Item1 == name)).ToList();
        await engine.RunSqlAsync($"CREATE SCHEMA IF NOT EXISTS {Identifiers.Quote(schema)}; {Sql(schema, table, columns, key, ifNotExists: false)}",
            null, ResultShape.None, cancellationToken);
        return true;
    }

    private static string Sql(string schema, string table, IReadOnlyList<(string Name, string Type, bool NotNull)> columns, IReadOnlyList<string> key, bool ifNotExists)
    {
        var definitions = columns.Select(c => $"{Identifiers.Quote(c.Name)} {c.Type}{(c.NotNull ? " NOT NULL" : "")}").ToList();
        if (key.Count > 0)
        {
            definitions.Add($"PRIMARY KEY ({string.Join(", ", key.Select(Identifiers.Quote))})");
        }

        return $"CREATE TABLE {(ifNotExists ? "IF NOT EXISTS " : "")}{Identifiers.Qualify(schema, table)} (\n    {string.Join(",\n    ", definitions)}\n);\n";
    }
}
