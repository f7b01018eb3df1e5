using System.Text.Json;
using System.Text.Json.Serialization;

namespace SplitgraphAspire.Contracts;

/// <summary>What a change entry does to its key's row.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangeKind>))]
public enum ChangeKind
{
    Insert,
    Update,
    Delete,
}

/// <summary>
/// One pending change: an upsert (<see cref="Upserted"/> true, <see cref="NewRow"/> set) or a delete
/// (<see cref="OldRow"/> set, <see cref="NewRow"/> null). Rows and keys keep their JSON types.
/// </summary>
/// <param name="EventId">The log row the change comes from (a bulk insert entry holds many keys; a key-changing update gives two entries).</param>
public sealed record ChangeEntry(long EventId, JsonElement PrimaryKey, bool Upserted, JsonElement? OldRow, JsonElement? NewRow)
{
    /// <summary>
    /// Insert (new row only), update (old and new row) or delete (old row only), as the API reads it from the log;
    /// a key-changing update is a delete of the old key and an insert of the new one.
    /// </summary>
    public ChangeKind Kind { get; init; } = !Upserted ? ChangeKind.Delete
        : OldRow is null or { ValueKind: JsonValueKind.Null } ? ChangeKind.Insert
        : ChangeKind.Update;
}

/// <summary>
/// A page of change entries; pass <see cref="NextAfter"/> as <c>after</c> to read the next page (a position: the
/// event ID and the entry's place within it, in one number), null on the last page.
/// </summary>
/// <param name="Total">How many entries the whole view has (net view: exact at the page's log position).</param>
/// <param name="Offset">The index of the page's first entry in the whole view (net view).</param>
public sealed record ChangePage(IReadOnlyList<ChangeEntry> Entries, long? NextAfter, long? Total = null, long? Offset = null);

/// <summary>Result of <c>DELETE …/changes</c>.</summary>
public sealed record DiscardResult(long Discarded);

/// <summary>Result of a commit: the object created (null when there was nothing to commit).</summary>
public sealed record CommitResult(string? ObjectId, long Upserts, long Deletes, bool Created);

/// <summary>
/// The pending-change counters of one tracked table, as <c>GET …/pending-counts</c> gives them for every tracked table
/// of an engine at once (raw counts, as <see cref="AggregateChanges"/>).
/// </summary>
public sealed record TablePendingCounts(string Schema, string Table, long Added, long Removed, long Updated)
{
    public long Total => Added + Removed + Updated;
}
