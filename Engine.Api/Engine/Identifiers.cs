using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Engine.Api.Engine;

/// <summary>Validation and quoting of every identifier that reaches SQL text.</summary>
public static partial class Identifiers
{
    /// <summary>PostgreSQL's NAMEDATALEN - 1: longer names would be silently truncated.</summary>
    public const int MaxBytes = 63;

    [GeneratedRegex("^o[0-9a-f]{62}$")]
    private static partial Regex ObjectIdPattern();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,40}$")]
    private static partial Regex EngineNamePattern();

    /// <summary>Throws a 400 unless <paramref name="name"/> can be a PostgreSQL identifier (any characters but NUL, 1–63 bytes).</summary>
    public static string Validate(string? name, string what)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new InvalidInputException($"Invalid {what}", $"The {what} is empty.");
        }

        if (name.Contains('\0'))
        {
            throw new InvalidInputException($"Invalid {what}", $"The {what} contains a NUL character.");
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxBytes)
        {
            throw new InvalidInputException($"Invalid {what}", $"The {what} is longer than {MaxBytes} bytes.");
        }

        return name;
    }

    /// <summary>Double-quotes an identifier (validated first).</summary>
    public static string Quote(string name) => NpgsqlCommandBuilderQuote(Validate(name, "identifier"));

    /// <summary><c>"schema"."table"</c>.</summary>
    public static string Qualify(string schema, string table) => $"{Quote(schema)}.{Quote(table)}";

    public static bool IsObjectId(string? id) => id is not null && ObjectIdPattern().IsMatch(id);

    /// <summary>Throws a 400 unless <paramref name="id"/> is <c>o</c> + 62 lowercase hex characters.</summary>
    public static string ValidateObjectId(string? id) => IsObjectId(id)
        ? id!
        : throw new InvalidInputException("Invalid object ID", $"'{Printable(id)}' is not an object ID (o followed by 62 lowercase hex characters).");

    public static bool IsEngineName(string? name) => name is not null && EngineNamePattern().IsMatch(name);

    /// <summary>For error messages: no control characters, bounded length.</summary>
    public static string Printable(string? text)
    {
        if (text is null)
        {
            return "(null)";
        }

        var cleaned = new string(text.Select(c => char.IsControl(c) ? '?' : c).Take(80).ToArray());
        return text.Length > 80 ? cleaned + "…" : cleaned;
    }

    private static readonly NpgsqlCommandBuilder QuoteBuilder = new();

    private static string NpgsqlCommandBuilderQuote(string name) => QuoteBuilder.QuoteIdentifier(name);
}
