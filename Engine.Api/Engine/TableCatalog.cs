using System.Text.RegularExpressions;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>A column of a user table as the catalogue describes it.</summary>
/// <param name="Type">Type with typmod, e.g. <c>character varying(20)</c>, from <c>format_type</c>.</param>
/// <param name="Comparable">Usable in a change key of a table without a primary key (no json, jsonb, xml…).</param>
/// <param name="Generated">A generated column (<c>GENERATED ALWAYS AS (…) STORED</c>): never inserted, the table computes it.</param>
/// <param name="IdentityAlways">A <c>GENERATED ALWAYS AS IDENTITY</c> column: inserting its values needs OVERRIDING SYSTEM VALUE.</param>
/// <param name="Domain">Its type is a domain (whose constraints may refuse NULL).</param>
public sealed record TableColumn(int Ordinal, string Name, string Type, bool NotNull, bool Comparable,
    bool Generated = false, bool IdentityAlways = false, bool Domain = false);

/// <summary>Catalogue reads about user tables; identifiers arrive as parameters, never as SQL text.</summary>
public static class TableCatalog
{
    /// <summary>Columns in attribute order, or null when the table does not exist (or is not a table).</summary>
    public static async Task<IReadOnlyList<TableColumn>?> GetColumnsAsync(SqlEngine engine, string schema, string table, CancellationToken cancellationToken)
    {
        Identifiers.Validate(schema, "schema name");
        Identifiers.Validate(table, "table name");
        var rows = await engine.QueryAsync(
            """
            SELECT a.attnum::int, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   (t.typcategory IN ('N', 'S', 'D', 'B', 'I', 'T', 'E') OR t.typname = 'uuid'),
                   a.attgenerated = 's', a.attidentity = 'a', t.typtype = 'd'
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_type t ON t.oid = a.atttypid
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            ORDER BY a.attnum
            """, [schema, table],
            // A table without columns still gives one row (the LEFT JOIN's NULLs): it exists, with no columns.
            r => r.IsDBNull(0) ? null : new TableColumn(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetBoolean(3), r.GetBoolean(4), r.GetBoolean(5), r.GetBoolean(6), r.GetBoolean(7)),
            cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        return rows.OfType<TableColumn>().ToList();
    }

    /// <summary>User tables (of <paramref name="schema"/>, or all) with primary key, tracked flag and row estimate.</summary>
    public static Task<List<TableInfo>> ListTablesAsync(SqlEngine engine, string? schema, CancellationToken cancellationToken) =>
        engine.QueryAsync(
            $"""
            SELECT n.nspname, c.relname,
                   coalesce((SELECT pg_catalog.array_agg(a.attname ORDER BY k.position)
                             FROM pg_index i CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                             WHERE i.indrelid = c.oid AND i.indisprimary), ARRAY[]::name[]),
                   EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = '{ChangeEngine.RowTrigger}' AND t.tgparentid = 0),
                   -- Live rows as the statistics collector counts them (kept by every insert and delete, no ANALYZE
                   -- needed); reltuples is -1 until the first ANALYZE, so a freshly loaded table would show 0.
                   coalesce(s.n_live_tup, greatest(c.reltuples, 0)::bigint)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND {UserTables.SqlCondition("n.nspname")}
              AND ($1::text IS NULL OR n.nspname = $1)
            ORDER BY 1, 2
            """, [(object?)schema ?? DBNull.Value],
            r => new TableInfo(r.GetString(0), r.GetString(1), r.GetFieldValue<string[]>(2), r.GetBoolean(3), r.GetInt64(4)), cancellationToken);

    /// <summary>Columns, or a 404 when the table does not exist.</summary>
    public static async Task<IReadOnlyList<TableColumn>> RequireColumnsAsync(SqlEngine engine, string schema, string table, CancellationToken cancellationToken) =>
        await GetColumnsAsync(engine, schema, table, cancellationToken) ?? throw new TableNotFoundException(schema, table);

    /// <summary>Columns of a user table (see <see cref="UserTables"/>): 403 for a system or engine schema, 404 when missing.</summary>
    public static Task<IReadOnlyList<TableColumn>> RequireUserColumnsAsync(SqlEngine engine, string schema, string table, CancellationToken cancellationToken) =>
        RequireColumnsAsync(engine, UserTables.RequireUserSchema(Identifiers.Validate(schema, "schema name")), table, cancellationToken);

    /// <summary>
    /// The change key: primary-key columns in key order (each with its equality operator), or every comparable column
    /// for a table without one.
    /// </summary>
    public static async Task<ChangeKey> GetChangeKeyAsync(SqlEngine engine, string schema, string table, IReadOnlyList<TableColumn> columns, CancellationToken cancellationToken)
    {
        var primaryKey = await GetPrimaryKeyEqualitiesAsync(engine, schema, table, cancellationToken);
        if (primaryKey.Count > 0)
        {
            return ChangeKey.Primary(primaryKey.Select(k => columns.First(c => c.Name == k.Column)).ToList(), primaryKey.Select(k => k.Equality).ToList());
        }

        var comparable = columns.Where(c => c.Comparable).ToList();
        return ChangeKey.WithoutPrimaryKey(comparable.Count > 0 ? comparable : columns);
    }

    /// <summary>
    /// The primary key's columns in key order, each with the <c>=</c> of its index's btree operator class: the operator
    /// the key's uniqueness is defined by (a primary key always has its types' default classes), read from the catalogue
    /// instead of resolved by name through the session's search_path, where an <c>=(varchar, varchar)</c> planted in
    /// public would win; citext's or ltree's <c>=</c> is found in whatever schema the extension lives in. Empty
    /// without a primary key.
    /// </summary>
    public static async Task<IReadOnlyList<(string Column, KeyEquality Equality)>> GetPrimaryKeyEqualitiesAsync(SqlEngine engine, string schema, string table,
        CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            """
            SELECT a.attname, n.nspname, o.oprname,
                   -- B-tree's "equalimage" support: equal keys are identical datums (not citext, numeric, interval, a
                   -- nondeterministic collation), so two keys logged differently are never equal.
                   EXISTS (SELECT 1 FROM pg_amproc p WHERE p.amprocfamily = c.opcfamily AND p.amprocnum = 4
                                  AND p.amproclefttype = c.opcintype AND p.amprocrighttype = c.opcintype)
                   AND coalesce((SELECT l.collisdeterministic FROM pg_collation l WHERE l.oid = k.coll), true)
            FROM pg_index i
            JOIN pg_class r ON r.oid = i.indrelid
            JOIN pg_namespace rn ON rn.oid = r.relnamespace
            CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(i.indkey), pg_catalog.unnest(i.indclass), pg_catalog.unnest(i.indcollation))
                 WITH ORDINALITY AS k(attnum, opclass, coll, position)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            JOIN pg_opclass c ON c.oid = k.opclass
            JOIN pg_am am ON am.oid = c.opcmethod
            LEFT JOIN pg_amop m ON am.amname = 'btree' AND m.amopfamily = c.opcfamily AND m.amopmethod = c.opcmethod AND m.amopstrategy = 3
                               AND m.amoplefttype = c.opcintype AND m.amoprighttype = c.opcintype
            LEFT JOIN pg_operator o ON o.oid = m.amopopr
            LEFT JOIN pg_namespace n ON n.oid = o.oprnamespace
            WHERE i.indisprimary AND rn.nspname = $1 AND r.relname = $2
            ORDER BY k.position
            """, [schema, table],
            r => (Column: r.GetString(0), Schema: r.IsDBNull(1) ? null : r.GetString(1), Name: r.IsDBNull(2) ? null : r.GetString(2), ImageExact: r.GetBoolean(3)),
            cancellationToken);
        return rows.Select(r => (r.Column, r.Schema is not null && r.Name is not null
            ? new KeyEquality(new QualifiedOperator(r.Schema, r.Name), r.ImageExact)
            : throw new InvalidInputException("Key not comparable",
                $"Primary key column {Identifiers.Printable(r.Column)} of \"{Identifiers.Printable(schema)}\".\"{Identifiers.Printable(table)}\" has no btree equality operator to match keys with."))).ToList();
    }
}

/// <summary>The columns that identify a row for change tracking and fragment application.</summary>
/// <param name="IsPrimaryKey">True when the columns are the table's primary key (never NULL, unique).</param>
/// <param name="Equalities">A primary key's equality operator per column (see <see cref="KeyMatch"/>); empty otherwise.</param>
public sealed record ChangeKey(IReadOnlyList<TableColumn> Columns, bool IsPrimaryKey, IReadOnlyList<KeyEquality> Equalities)
{
    public IReadOnlyList<string> Names => Columns.Select(c => c.Name).ToList();

    /// <summary>
    /// Every column's equality says equal only of identical values: two keys that differ as logged are two keys. Not so
    /// for citext ('A' = 'a'), interval ('1 day' = '24:00:00'), numeric or float8 (0 = -0).
    /// </summary>
    public bool ImageExact => Equalities.All(e => e.ImageExact);

    public static ChangeKey Primary(IReadOnlyList<TableColumn> columns, IReadOnlyList<KeyEquality> equalities) =>
        equalities.Count == columns.Count
            ? new ChangeKey(columns, IsPrimaryKey: true, equalities)
            : throw new ArgumentException("A primary key needs one equality operator per column.", nameof(equalities));

    public static ChangeKey WithoutPrimaryKey(IReadOnlyList<TableColumn> columns) => new(columns, IsPrimaryKey: false, []);
}

/// <summary>
/// The equality operator a key column is matched with (<see cref="Sql"/>: <c>OPERATOR("schema".=)</c>).
/// </summary>
/// <param name="ImageExact">Equal values are identical datums (the operator class has btree's equalimage support).</param>
public sealed record KeyEquality(QualifiedOperator Operator, bool ImageExact)
{
    /// <summary>pg_catalog's <c>=</c> of a type whose equality is identity (int, text, uuid…).</summary>
    public static KeyEquality Builtin { get; } = new(QualifiedOperator.BuiltinEquals, ImageExact: true);

    public string Sql => Operator.Sql;
}

/// <summary>
/// An operator as <c>OPERATOR("schema".name)</c>, which PostgreSQL resolves among that schema's operators only: the
/// schema quoted, the name checked to be an operator name (both come from the catalogue, never from a request).
/// </summary>
public sealed partial record QualifiedOperator
{
    public QualifiedOperator(string schema, string name)
    {
        Schema = Identifiers.Validate(schema, "operator schema");
        Name = OperatorName().IsMatch(name) ? name : throw new InvalidInputException("Invalid operator", $"'{Identifiers.Printable(name)}' is not an operator name.");
    }

    /// <summary>pg_catalog's <c>=</c> (for text, an exact match no planted overload can beat; qualified all the same).</summary>
    public static QualifiedOperator BuiltinEquals { get; } = new("pg_catalog", "=");

    public string Schema { get; }

    public string Name { get; }

    public string Sql => $"OPERATOR({Identifiers.Quote(Schema)}.{Name})";

    [GeneratedRegex(@"^[+\-*/<>=~!@#%^&|`?]{1,63}$")]
    private static partial Regex OperatorName();
}
