namespace Engine.Api.Engine;

/// <summary>
/// The one rule for which tables the engine serves: user tables only. PostgreSQL's own schemas (<c>pg_catalog</c>,
/// <c>pg_toast</c>, temporary <c>pg_temp_N</c> — every <c>pg_</c> name is reserved), <c>information_schema</c>, and the
/// engine's own schemas (<c>splitgraph_audit</c>, <c>splitgraph_meta</c>, the foreign schemas of transfers) are never
/// dumped, tracked, committed, applied to or read through a route that names a schema or table.
/// </summary>
public static class UserTables
{
    /// <summary>Prefixes of schemas that are not the user's.</summary>
    private static readonly string[] ReservedPrefixes = ["pg_", "splitgraph_", "sg_fdw_"];

    public static bool IsUserSchema(string schema) =>
        schema != "information_schema" && !ReservedPrefixes.Any(prefix => schema.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>403 naming the schema unless it may hold user tables.</summary>
    public static string RequireUserSchema(string schema) =>
        IsUserSchema(schema) ? schema : throw new NotUserSchemaException(Identifiers.Printable(schema));

    /// <summary>The same rule in SQL over a schema-name column, for listings (constants only).</summary>
    public static string SqlCondition(string schemaColumn) =>
        $"({schemaColumn} <> 'information_schema' AND " +
        string.Join(" AND ", ReservedPrefixes.Select(prefix => $"{schemaColumn} NOT LIKE '{prefix.Replace("_", "\\_")}%'")) + ")";
}
