using System.Text.RegularExpressions;

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

public static partial class TagNames
{
    /// <summary>Tags the engine reserves: HEAD is what the schema was checked out from, latest the newest image.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "HEAD", "latest" };

    /// <summary>Why a name cannot be a user tag, or null when it can.</summary>
    public static string? Problem(string? name) => name?.Trim() switch
    {
        null or "" => "Name the tag.",
        { Length: > 64 } => "At most 64 characters.",
        var n when Reserved.Contains(n) => $"{n} is set by the engine.",
        var n when !Valid().IsMatch(n) => "Letters, digits, '.', '_' and '-' only.",
        _ => null,
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex Valid();
}
