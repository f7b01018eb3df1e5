using System.Globalization;
using System.Text.Json;

namespace Dashboard.Services;

/// <summary>Small display helpers shared by pages and parts.</summary>
public static class Formatting
{
    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("F1", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("F2", CultureInfo.InvariantCulture) + " GiB",
    };

    /// <summary>A JSON value as a person reads it: strings unquoted, null as <c>NULL</c>, the rest as JSON text.</summary>
    public static string Value(JsonElement? value) => value switch
    {
        null => "NULL",
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => "NULL",
        { ValueKind: JsonValueKind.String } v => v.GetString() ?? "",
        { } v => v.GetRawText(),
    };

    /// <summary>A primary key object as <c>col=value, …</c>.</summary>
    public static string Key(JsonElement key) => key.ValueKind == JsonValueKind.Object
        ? string.Join(", ", key.EnumerateObject().Select(p => $"{p.Name}={Value(p.Value)}"))
        : Value(key);

    /// <summary>An apply result in the commit's terms: upserts written and rows deleted.</summary>
    public static string ApplySummary(long upserted, long deleted) =>
        $"{upserted} row{(upserted == 1 ? "" : "s")} upserted, {deleted} deleted";

    /// <summary>A short object ID for tight spaces (full ID in a tooltip).</summary>
    public static string ShortId(string objectId, int length = 14) => objectId.Length > length ? objectId[..length] + "…" : objectId;

    public static string Cell(object? value) => value switch
    {
        null => "NULL",
        JsonElement e => Value(e),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
