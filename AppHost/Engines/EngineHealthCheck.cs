using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AppHost.Engines;

/// <summary>Healthy when the engine's server accepts a connection and answers <c>select 1</c>.</summary>
internal sealed class EngineHealthCheck(IResourceWithConnectionString resource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken);
            // The maintenance database: the engine's own database is created by Engine.Api's Initialize.
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Timeout = 3, Pooling = false };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("select 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy($"Engine '{resource.Name}' does not accept connections yet: {ex.Message}");
        }
    }
}
