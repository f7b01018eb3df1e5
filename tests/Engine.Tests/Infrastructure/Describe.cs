using System.Text;
using System.Text.Json;

namespace Engine.Tests.Infrastructure;

/// <summary>Compact, key-sorted text of change entries, so expectations read like the spec's scenarios.</summary>
public static class Describe
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>+{"fruit_id":3} {"fruit_id":3,"name":"x"}</c> for an upsert, <c>-{key} {old row}</c> for a delete.</summary>
    public static string Entry(ChangeEntry entry) => entry.Upserted
        ? $"+{Canon(entry.PrimaryKey)} {Canon(entry.NewRow)}"
        : $"-{Canon(entry.PrimaryKey)}";

    public static List<string> Entries(ChangePage page) => page.Entries.Select(Entry).ToList();

    public static string Canon(JsonElement? element)
    {
        if (element is null)
        {
            return "null";
        }

        var text = new StringBuilder();
        Write(element.Value, text);
        return text.ToString();
    }

    private static void Write(JsonElement element, StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var first = true;
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    text.Append(first ? string.Empty : ",").Append(JsonSerializer.Serialize(property.Name, Relaxed)).Append(':');
                    Write(property.Value, text);
                    first = false;
                }

                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[').AppendJoin(',', element.EnumerateArray().Select(e => Canon(e))).Append(']');
                break;
            case JsonValueKind.String:
                text.Append(JsonSerializer.Serialize(element.GetString(), Relaxed));
                break;
            default:
                text.Append(element.GetRawText());
                break;
        }
    }
}
