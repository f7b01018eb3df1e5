using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests.Versions;

/// <summary>Canned answers of the versions API, built from the contract's own records and serialized as the API does.</summary>
public static class VersionsData
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public const string First = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
    public const string Second = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";

    public static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    public static string Json(object value) => JsonSerializer.Serialize(value, value.GetType(), Web);

    public static ImageInfo FirstImage(params string[] tags) => new(First, null, At, "Initial import", "ana", tags, 1, 2, 0);

    public static ImageInfo SecondImage(params string[] tags) => new(Second, First, At.AddMinutes(5), "Rename alpha", "ana", tags, 1, 2, 1);

    public static readonly IReadOnlyList<ObjectColumn> ItemColumns =
    [
        new(1, "id", "integer", true),
        new(2, "name", "text", false),
        new(3, "qty", "integer", false),
    ];

    public static RepositoryInfo Repository(string? head = Second, bool pending = false) =>
        new("shop", "", head, Second, 2, ["items"], pending);

    public static RepositoryStatus Status(long added = 0, long updated = 0, long removed = 0) =>
        new("shop", SecondImage("HEAD", "latest"), [new TableStatus("items", added + updated + removed > 0 ? "modified" : "unchanged", added, removed, updated)],
            added + updated + removed > 0);

    public static ImageDetail SecondDetail() => new(SecondImage("latest"),
    [
        new ImageTable("items", ItemColumns, ["o-base", "o-frag"],
        [
            new ObjectInfo("o-base", "SNAP", 2, 8192, At),
            new ObjectInfo("o-frag", "FRAG", 3, 4096, At.AddMinutes(5)),
        ], 2, 1),
    ]);

    public static ImageDetail FirstDetail() => new(FirstImage(),
        [new ImageTable("items", ItemColumns, ["o-base"], [new ObjectInfo("o-base", "SNAP", 2, 8192, At)], 2, 0)]);
}
