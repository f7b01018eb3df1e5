using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace Dashboard.Services;

/// <summary>One column of a change entry, old and new side by side.</summary>
public sealed record ChangedField(string Column, JsonElement? Old, JsonElement? New, bool InOld, bool InNew)
{
    /// <summary>True when the value differs between the old and the new row (or exists on one side only).</summary>
    public bool Changed => InOld != InNew || !JsonEquals(Old, New);

    private static bool JsonEquals(JsonElement? a, JsonElement? b) =>
        (a, b) switch
        {
            (null, null) => true,
            ({ } x, { } y) => JsonElement.DeepEquals(x, y),
            _ => false,
        };
}

public static class ChangeEntries
{
    /// <summary>Insert, update or delete, as the API says (<see cref="ChangeEntry.Kind"/>).</summary>
    public static ChangeKind Kind(ChangeEntry entry) => entry.Kind;

    /// <summary>Every column of the old and new rows, in the rows' order, with both values.</summary>
    public static IReadOnlyList<ChangedField> Fields(ChangeEntry entry)
    {
        var old = Props(entry.OldRow);
        var @new = Props(entry.NewRow);
        var names = old.Keys.Concat(@new.Keys).Distinct().ToList();
        return names.Select(n => new ChangedField(n,
            old.TryGetValue(n, out var o) ? o : null,
            @new.TryGetValue(n, out var v) ? v : null,
            old.ContainsKey(n), @new.ContainsKey(n))).ToList();
    }

    /// <summary>
    /// The columns to show for a page of entries: the table's own, in table order, then any the entries have beyond
    /// them (a column added since the change was logged).
    /// </summary>
    public static IReadOnlyList<string> Columns(IReadOnlyList<string> tableColumns, IEnumerable<ChangeEntry> entries) =>
        tableColumns.Concat(entries.SelectMany(e => Props(e.OldRow).Keys.Concat(Props(e.NewRow).Keys))).Distinct().ToList();

    /// <summary>One column of an entry, old and new.</summary>
    public static ChangedField Field(ChangeEntry entry, string column)
    {
        var old = Props(entry.OldRow);
        var @new = Props(entry.NewRow);
        return new ChangedField(column, old.TryGetValue(column, out var o) ? o : null, @new.TryGetValue(column, out var v) ? v : null,
            old.ContainsKey(column), @new.ContainsKey(column));
    }

    private static Dictionary<string, JsonElement> Props(JsonElement? row) =>
        row is { ValueKind: JsonValueKind.Object } r
            ? r.EnumerateObject().ToDictionary(p => p.Name, p => p.Value)
            : [];
}

/// <summary>Two successive readings of a table's pending-change counters.</summary>
public sealed record CountsChange(SplitgraphAspire.Contracts.AggregateChanges Before, SplitgraphAspire.Contracts.AggregateChanges After)
{
    /// <summary>How many more (or, negative, fewer) logged changes there are.</summary>
    public static long Total(SplitgraphAspire.Contracts.AggregateChanges counts) => counts.Added + counts.Removed + counts.Updated;
}
