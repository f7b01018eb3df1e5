using Npgsql;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Streams a table as multi-row INSERT statements. Literals are made by the server (<c>quote_nullable</c> plus a
/// cast to the column's type) under fixed output settings, so every type round-trips exactly.
/// </summary>
internal static class TableDumper
{
    private const int RowsPerStatement = 500;

    public static async Task DumpAsync(SqlEngine engine, string schema, string table, IReadOnlyList<TableColumn> tableColumns, TextWriter output,
        IReadOnlyList<string>? columns, IReadOnlyList<RowFilter>? filter, string targetSchema, string targetTable, CancellationToken cancellationToken)
    {
        // Generated columns are left out (the target computes them); identity values are kept.
        var selected = (columns is null || columns.Count == 0
            ? tableColumns
            : columns.Select(name => tableColumns.FirstOrDefault(c => c.Name == name)
                ?? throw new InvalidInputException("Invalid column", $"'{Identifiers.Printable(name)}' is not a column of \"{schema}\".\"{table}\".")).ToList())
            .Where(c => !c.Generated).ToList();
        if (selected.Count == 0)
        {
            throw new InvalidInputException("No insertable column", $"The columns chosen of \"{schema}\".\"{table}\" are all generated.");
        }

        await CanonicalOutput.ApplyAsync(engine, cancellationToken);

        var arguments = new List<object?>();
        var literals = new List<string>();
        foreach (var column in selected)
        {
            arguments.Add("::" + column.Type);
            // "char" has no unambiguous quote_nullable and its text cast is one raw byte: take its output text.
            var value = column.Type == "\"char\"" ? $"pg_catalog.textin(pg_catalog.charout({Identifiers.Quote(column.Name)}))" : Identifiers.Quote(column.Name);
            // Qualified: quote_nullable(anyelement) loses to an exact-type quote_nullable(varchar) planted in public.
            literals.Add($"pg_catalog.quote_nullable({value}) || ${arguments.Count}");
        }

        var where = await RowFilterSql.BuildAsync(engine, schema, table, filter, tableColumns, arguments, cancellationToken: cancellationToken);
        var sql = $"SELECT {string.Join(" || ',' || ", literals)} FROM {Identifiers.Qualify(schema, table)}" +
                  (where.Length > 0 ? $" WHERE {where}" : string.Empty);
        var header = $"INSERT INTO {Identifiers.Qualify(targetSchema, targetTable)} ({string.Join(", ", selected.Select(c => Identifiers.Quote(c.Name)))})" +
                     (selected.Any(c => c.IdentityAlways) ? " OVERRIDING SYSTEM VALUE VALUES" : " VALUES");

        await using var command = await engine.CommandAsync(sql, arguments, cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
        var inStatement = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            await output.WriteAsync(inStatement == 0 ? header + "\n(" : ",\n(");
            await output.WriteAsync(reader.GetString(0));
            await output.WriteAsync(')');
            if (++inStatement == RowsPerStatement)
            {
                await output.WriteAsync(";\n");
                inStatement = 0;
            }
        }

        if (inStatement > 0)
        {
            await output.WriteAsync(";\n");
        }
    }
}

/// <summary>Fixed output settings for the current transaction, so text forms of values do not depend on the session.</summary>
internal static class CanonicalOutput
{
    public static Task ApplyAsync(SqlEngine engine, CancellationToken cancellationToken) => engine.ExecuteAsync(
        """
        SELECT set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
               set_config('TimeZone', 'UTC', true), set_config('bytea_output', 'hex', true),
               set_config('extra_float_digits', '1', true)
        """, null, cancellationToken);
}
