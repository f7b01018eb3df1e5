using Engine.Api.Engine;

namespace Engine.Api.Infrastructure;

public sealed class SchemaNotFoundException(string schema)
    : EngineException("Schema not found", $"Schema \"{schema}\" does not exist.", 404);

/// <summary>Routes that name a schema answer 404 for one that does not exist, rather than an empty 200.</summary>
public static class SchemaCheck
{
    public static async Task RequireAsync(SqlEngine engine, string schema, CancellationToken cancellationToken)
    {
        if (await engine.ScalarAsync<int?>("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema], cancellationToken) is null)
        {
            throw new SchemaNotFoundException(Identifiers.Printable(schema));
        }
    }
}
