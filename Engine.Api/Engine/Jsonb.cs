using Npgsql;
using NpgsqlTypes;

namespace Engine.Api.Engine;

internal static class Jsonb
{
    /// <summary>A jsonb parameter from JSON text.</summary>
    public static NpgsqlParameter Parameter(string json) => new() { Value = json, NpgsqlDbType = NpgsqlDbType.Jsonb };
}
