using System.Text;

namespace Dashboard.Services;

/// <summary>What the commit dialog answers: the image's message, and whether to store whole tables.</summary>
public sealed record CommitImageChoice(string Message, bool Snapshot);

/// <summary>Which way a repository moves between engines, seen from the engine whose page it is.</summary>
public enum RepositoryTransferKind
{
    Push,
    Pull,
    Clone,
}

/// <summary>The API's rule for user tags, checked before a round trip: a PostgreSQL identifier (1–63 bytes, no NUL), not HEAD or latest.</summary>
public static class TagNames
{
    /// <summary>Tags the engine maintains: HEAD is what the schema was checked out from, latest the newest image.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.Ordinal) { "HEAD", "latest" };

    /// <summary>Why a name cannot be a user tag, or null when it can.</summary>
    public static string? Problem(string? name) => name?.Trim() switch
    {
        null or "" => "Name the tag.",
        var n when Encoding.UTF8.GetByteCount(n) > 63 => "At most 63 bytes.",
        var n when n.Contains('\0', StringComparison.Ordinal) => "No NUL characters.",
        var n when Reserved.Contains(n) => $"{n} is maintained by the engine.",
        _ => null,
    };
}
