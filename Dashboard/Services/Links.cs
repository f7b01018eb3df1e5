namespace Dashboard.Services;

/// <summary>Dashboard page addresses, in one place.</summary>
public static class Links
{
    private static string E(string s) => Uri.EscapeDataString(s);

    public static string Tables(string engine) => $"engines/{E(engine)}/tables";

    public static string Objects(string engine) => $"engines/{E(engine)}/objects";

    public static string Sql(string engine) => $"engines/{E(engine)}/sql";

    public static string Changes(string engine, string schema, string table) => $"engines/{E(engine)}/changes/{E(schema)}/{E(table)}";
}
