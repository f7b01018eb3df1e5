using Engine.Api.Engine;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Infrastructure;

/// <summary>Input checks shared by requests' <see cref="IValidatable.Validate"/>; each throws a 400 naming the problem.</summary>
public static class Check
{
    public const int MaxPageSize = 10_000;
    public const int MaxListSize = 10_000;

    public static void Table(string? schema, string? table)
    {
        Schema(schema);
        Identifiers.Validate(table, "table name");
    }

    /// <summary>A schema name that may hold user tables (see <see cref="UserTables"/>).</summary>
    public static void Schema(string? schema) => UserTables.RequireUserSchema(Identifiers.Validate(schema, "schema name"));

    public static void Tables(IReadOnlyList<TableRef>? tables)
    {
        NotEmpty(tables, "tables");
        foreach (var table in tables!)
        {
            if (table is null)
            {
                throw new InvalidInputException("Invalid table", "A table entry is null.");
            }

            Table(table.Schema, table.Table);
        }
    }

    public static void ObjectIds(IReadOnlyList<string>? ids)
    {
        NotEmpty(ids, "objectIds");
        foreach (var id in ids!)
        {
            Identifiers.ValidateObjectId(id);
        }
    }

    public static void NotEmpty<T>(IReadOnlyList<T>? list, string what)
    {
        if (list is null || list.Count == 0)
        {
            throw new InvalidInputException("Empty list", $"The list '{what}' is empty.");
        }

        if (list.Count > MaxListSize)
        {
            throw new InvalidInputException("List too long", $"The list '{what}' has more than {MaxListSize} entries.");
        }
    }

    public static void Paging(long after, int limit)
    {
        if (after < 0)
        {
            throw new InvalidInputException("Invalid paging", "'after' must not be negative.");
        }

        if (limit is < 1 or > MaxPageSize)
        {
            throw new InvalidInputException("Invalid paging", $"'limit' must be between 1 and {MaxPageSize}.");
        }
    }
}
