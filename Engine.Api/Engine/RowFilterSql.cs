using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>Turns structured filters into a WHERE clause: quoted columns, whitelisted operators, values as parameters.</summary>
public static class RowFilterSql
{
    private static readonly Dictionary<string, string> BinaryOperators = new(StringComparer.OrdinalIgnoreCase)
    {
        ["="] = "=", ["<>"] = "<>", ["!="] = "<>", ["<"] = "<", ["<="] = "<=", [">"] = ">", [">="] = ">=",
    };

    private static readonly Dictionary<string, string> NullOperators = new(StringComparer.OrdinalIgnoreCase)
    {
        ["is null"] = "IS NULL", ["is not null"] = "IS NOT NULL",
    };

    /// <summary>
    /// Conditions joined by AND (empty string when there are none). Parameters are appended to
    /// <paramref name="arguments"/> and numbered after the ones already there. Each comparison uses the operator of its
    /// column's type's default btree operator class, schema-qualified (<see cref="ComparisonsAsync"/>): a bare <c>=</c>
    /// on a varchar, domain or enum column resolves through the session's search_path, where an exact-type operator
    /// planted in public wins.
    /// </summary>
    /// <param name="schema">With <paramref name="table"/>: the table whose columns are filtered (their types are read from it).</param>
    /// <param name="columnPrefix">e.g. <c>f.</c> to qualify columns; empty for none.</param>
    public static async Task<string> BuildAsync(SqlEngine engine, string schema, string table, IReadOnlyList<RowFilter>? filter, IReadOnlyList<TableColumn> columns,
        List<object?> arguments, string columnPrefix = "", CancellationToken cancellationToken = default)
    {
        if (filter is null || filter.Count == 0)
        {
            return string.Empty;
        }

        var conditions = new List<(TableColumn Column, string? Null, string? Binary, string? Value)>();
        foreach (var condition in filter)
        {
            var column = columns.FirstOrDefault(c => c.Name == condition.Column)
                ?? throw new InvalidInputException("Invalid filter", $"Filter column '{Identifiers.Printable(condition.Column)}' is not a column of the table.");
            if (NullOperators.TryGetValue(condition.Operator ?? string.Empty, out var nullOperator))
            {
                conditions.Add((column, nullOperator, null, null));
            }
            else if (BinaryOperators.TryGetValue(condition.Operator ?? string.Empty, out var binary))
            {
                conditions.Add((column, null, binary, condition.Value
                    ?? throw new InvalidInputException("Invalid filter", $"Operator '{binary}' on '{column.Name}' needs a value.")));
            }
            else
            {
                throw new InvalidInputException("Invalid filter", $"Operator '{Identifiers.Printable(condition.Operator)}' is not one of =, <>, <, <=, >, >=, is null, is not null.");
            }
        }

        var compared = conditions.Where(c => c.Binary is not null).Select(c => c.Column.Name).Distinct().ToList();
        var operators = compared.Count == 0 ? [] : await ComparisonsAsync(engine, schema, table, compared, cancellationToken);
        return string.Join(" AND ", conditions.Select(c =>
        {
            var quoted = columnPrefix + Identifiers.Quote(c.Column.Name);
            if (c.Null is not null)
            {
                return $"{quoted} {c.Null}";
            }

            var op = operators.GetValueOrDefault((c.Column.Name, c.Binary!))
                ?? throw new InvalidInputException("Invalid filter", $"Column '{Identifiers.Printable(c.Column.Name)}' ({c.Column.Type}) has no '{c.Binary}': its type has no default btree (or, for = and <>, hash) operator class.");
            arguments.Add(c.Value);
            // The type name comes from the catalogue (format_type), never from the caller.
            return $"{quoted} {op.Sql} CAST(${arguments.Count}::text AS {c.Column.Type})";
        }));
    }

    /// <summary>
    /// The comparison operators (<c>&lt;</c> … <c>&gt;</c> by btree strategy, <c>&lt;&gt;</c> as the negator of <c>=</c>) of
    /// each column's type (a domain's base type) as PostgreSQL picks its default btree operator class: for the type
    /// itself, else the polymorphic class (arrays, enums, composites, ranges), else one of a type it is binary-coercible
    /// to (varchar: text's), preferred types first; without one, <c>=</c> and <c>&lt;&gt;</c> of its default hash class
    /// (xid). citext's are in citext's schema.
    /// </summary>
    private static async Task<Dictionary<(string Column, string Operator), QualifiedOperator>> ComparisonsAsync(SqlEngine engine, string schema, string table,
        IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            """
            WITH RECURSIVE chain AS (
                SELECT a.attname, a.atttypid AS typ, 0 AS depth
                FROM pg_attribute a
                WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)
                  AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY ($3::name[])
                UNION ALL
                SELECT c.attname, t.typbasetype, c.depth + 1 FROM chain c JOIN pg_type t ON t.oid = c.typ WHERE t.typtype = 'd'
            ),
            base AS (
                SELECT DISTINCT ON (c.attname) c.attname, t.oid AS typ,
                       CASE WHEN t.typcategory = 'A' THEN 'pg_catalog.anyarray' WHEN t.typtype = 'e' THEN 'pg_catalog.anyenum'
                            WHEN t.typtype = 'c' THEN 'pg_catalog.record' WHEN t.typtype = 'r' THEN 'pg_catalog.anyrange'
                            WHEN t.typtype = 'm' THEN 'pg_catalog.anymultirange' END::pg_catalog.regtype::oid AS polymorphic
                FROM chain c JOIN pg_type t ON t.oid = c.typ
                ORDER BY c.attname, c.depth DESC
            )
            SELECT b.attname, s.op, n.nspname, o.oprname
            FROM base b
            CROSS JOIN LATERAL (
                SELECT c.opcfamily, c.opcintype, c.opcmethod, am.amname FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod JOIN pg_type it ON it.oid = c.opcintype
                WHERE am.amname IN ('btree', 'hash') AND c.opcdefault
                  AND (c.opcintype IN (b.typ, b.polymorphic)
                       OR EXISTS (SELECT 1 FROM pg_cast k WHERE k.castsource = b.typ AND k.casttarget = c.opcintype AND k.castmethod = 'b' AND k.castcontext = 'i'))
                ORDER BY am.amname = 'btree' DESC, c.opcintype = b.typ DESC, c.opcintype = b.polymorphic DESC, it.typispreferred DESC LIMIT 1) c
            CROSS JOIN LATERAL (VALUES ('btree', 1, '<'), ('btree', 2, '<='), ('btree', 3, '='), ('btree', 4, '>='), ('btree', 5, '>'), ('btree', 3, '<>'),
                                       ('hash', 1, '='), ('hash', 1, '<>')) AS s(method, strategy, op)
            JOIN pg_amop m ON s.method = c.amname AND m.amopfamily = c.opcfamily AND m.amopmethod = c.opcmethod AND m.amopstrategy = s.strategy
                          AND m.amoplefttype = c.opcintype AND m.amoprighttype = c.opcintype
            JOIN pg_operator e ON e.oid = m.amopopr
            JOIN pg_operator o ON o.oid = CASE WHEN s.op = '<>' THEN e.oprnegate ELSE e.oid END
            JOIN pg_namespace n ON n.oid = o.oprnamespace
            """, [schema, table, columns.ToArray()],
            r => (Column: r.GetString(0), Operator: r.GetString(1), Qualified: new QualifiedOperator(r.GetString(2), r.GetString(3))), cancellationToken);
        return rows.ToDictionary(r => (r.Column, r.Operator), r => r.Qualified);
    }
}
