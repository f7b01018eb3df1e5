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
    /// <paramref name="arguments"/> and numbered after the ones already there.
    /// </summary>
    /// <param name="columnPrefix">e.g. <c>f.</c> to qualify columns; empty for none.</param>
    public static string Build(IReadOnlyList<RowFilter>? filter, IReadOnlyList<TableColumn> columns, List<object?> arguments, string columnPrefix = "")
    {
        if (filter is null || filter.Count == 0)
        {
            return string.Empty;
        }

        var conditions = new List<string>();
        foreach (var condition in filter)
        {
            var column = columns.FirstOrDefault(c => c.Name == condition.Column)
                ?? throw new InvalidInputException("Invalid filter", $"Filter column '{Identifiers.Printable(condition.Column)}' is not a column of the table.");
            var quoted = columnPrefix + Identifiers.Quote(column.Name);
            if (NullOperators.TryGetValue(condition.Operator ?? string.Empty, out var nullOperator))
            {
                conditions.Add($"{quoted} {nullOperator}");
            }
            else if (BinaryOperators.TryGetValue(condition.Operator ?? string.Empty, out var binary))
            {
                if (condition.Value is null)
                {
                    throw new InvalidInputException("Invalid filter", $"Operator '{binary}' on '{column.Name}' needs a value.");
                }

                arguments.Add(condition.Value);
                // The type name comes from the catalogue (format_type), never from the caller.
                conditions.Add($"{quoted} {binary} CAST(${arguments.Count}::text AS {column.Type})");
            }
            else
            {
                throw new InvalidInputException("Invalid filter", $"Operator '{Identifiers.Printable(condition.Operator)}' is not one of =, <>, <, <=, >, >=, is null, is not null.");
            }
        }

        return string.Join(" AND ", conditions);
    }
}
