namespace Engine.Api.Engine;

/// <summary>SQL scripts kept as readable .sql files in Engine/Sql and embedded in the assembly.</summary>
internal static class EmbeddedSql
{
    public static string Initialize { get; } = Load("initialize.sql");

    private static string Load(string name)
    {
        using var stream = typeof(EmbeddedSql).Assembly.GetManifestResourceStream($"Engine.Api.Sql.{name}")
            ?? throw new InvalidOperationException($"Embedded SQL '{name}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
