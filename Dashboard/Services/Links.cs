namespace Dashboard.Services;

/// <summary>Dashboard page addresses, in one place.</summary>
public static class Links
{
    private static string E(string s) => Uri.EscapeDataString(s);

    public static string Tables(string engine) => $"engines/{E(engine)}/tables";

    public static string Objects(string engine) => $"engines/{E(engine)}/objects";

    public static string Sql(string engine) => $"engines/{E(engine)}/sql";

    public static string Repositories(string engine) => $"engines/{E(engine)}/repositories";

    public static string Repository(string engine, string schema) => $"engines/{E(engine)}/repositories/{E(schema)}";

    public static string Image(string engine, string schema, string image) => $"{Repository(engine, schema)}/images/{E(image)}";

    /// <summary>In a diff address, the live tables instead of an image.</summary>
    public const string WorkingState = "@working";

    /// <summary>
    /// The diff from one image to another (or to <see cref="WorkingState"/>); left out, the page compares the newest
    /// image with its parent.
    /// </summary>
    public static string Diff(string engine, string schema, string? from, string? to)
    {
        var query = string.Join("&", new[] { ("from", from), ("to", to) }.Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => $"{p.Item1}={E(p.Item2!)}"));
        return $"{Repository(engine, schema)}/diff{(query.Length == 0 ? "" : "?" + query)}";
    }

    public static string Changes(string engine, string schema, string table) => $"engines/{E(engine)}/changes/{E(schema)}/{E(table)}";
}
