using Npgsql;

namespace Engine.Api.Engine;

/// <summary>The engine's server refused the API itself (credentials, privileges): unhealthy until fixed, with the fix.</summary>
public sealed class EngineAccessException(string engine, string reason, Exception inner)
    : EngineException("Engine refused access", $"Engine '{engine}': {reason}", 503, inner);

/// <summary>Turns a server's refusal of the API's role into a reason that names the fix.</summary>
public static class EngineAccess
{
    /// <summary>Where the refusal happened: opening the engine's database, the maintenance database, or creating the database.</summary>
    public enum Stage
    {
        EngineDatabase,
        MaintenanceDatabase,
        CreateDatabase,
    }

    /// <summary>An <see cref="EngineAccessException"/> for refusals the API cannot work around, else null.</summary>
    public static EngineAccessException? Describe(EngineEndpoint endpoint, PostgresException ex, Stage stage)
    {
        var user = endpoint.Username;
        string? reason = (ex.SqlState, stage) switch
        {
            (PostgresErrorCodes.InvalidPassword, _) or (PostgresErrorCodes.InvalidAuthorizationSpecification, _) =>
                $"the server refused role '{user}' ({ex.MessageText}): check the engine's user name and password (its Aspire parameter / connection string).",
            (PostgresErrorCodes.InsufficientPrivilege, Stage.MaintenanceDatabase) =>
                $"role '{user}' may not connect to the maintenance database 'postgres', needed to create database '{endpoint.Database}' ({ex.MessageText}): " +
                $"GRANT CONNECT ON DATABASE postgres TO {Identifiers.Quote(user)}, or create database {Identifiers.Quote(endpoint.Database)} beforehand.",
            (PostgresErrorCodes.InsufficientPrivilege, Stage.CreateDatabase) =>
                $"role '{user}' may not create database '{endpoint.Database}' ({ex.MessageText}): ALTER ROLE {Identifiers.Quote(user)} CREATEDB, " +
                $"or create the database beforehand with '{user}' as its owner.",
            (PostgresErrorCodes.InsufficientPrivilege, Stage.EngineDatabase) =>
                $"role '{user}' may not connect to database '{endpoint.Database}' ({ex.MessageText}): GRANT CONNECT ON DATABASE {Identifiers.Quote(endpoint.Database)} TO {Identifiers.Quote(user)}.",
            (PostgresErrorCodes.InvalidCatalogName, Stage.MaintenanceDatabase) =>
                $"the server has no maintenance database 'postgres' to create database '{endpoint.Database}' from: create the database beforehand.",
            (PostgresErrorCodes.TooManyConnections, _) =>
                $"the server has no connection slot for role '{user}' ({ex.MessageText}): raise max_connections or the role's connection limit.",
            _ => null,
        };
        return reason is null ? null : new EngineAccessException(endpoint.Name, reason, ex);
    }
}
