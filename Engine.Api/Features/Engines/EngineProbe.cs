using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Engine.Api.Features.Engines;

/// <summary>
/// How long health and listings wait for one engine (<c>Engine:ProbeTimeoutSeconds</c>, default 5): a frozen engine
/// (a stopped postmaster accepts TCP but never answers) is reported as not answering instead of holding the reply.
/// </summary>
public sealed class EngineProbe(IConfiguration configuration)
{
    public const string ConfigurationKey = "Engine:ProbeTimeoutSeconds";

    public TimeSpan Timeout { get; } = TimeSpan.FromSeconds(Math.Max(0.1, configuration.GetValue(ConfigurationKey, 5.0)));

    public string NotAnswering(string engine) => $"Engine '{engine}' did not answer within {Timeout.TotalSeconds:0.#} s.";

    /// <summary>Runs <paramref name="probe"/> for at most <see cref="Timeout"/>; null if the engine did not answer in time.</summary>
    public async Task<T?> RunAsync<T>(Func<CancellationToken, Task<T>> probe, CancellationToken cancellationToken) where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var work = probe(timeout.Token);
        try
        {
            // WaitAsync returns on time even when the driver ignores the token (a connect to a frozen server).
            return await work.WaitAsync(Timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            Forget(work);
            return null;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    // The abandoned probe ends by itself (cancelled, or at the driver's connect timeout); observe its outcome.
    private static void Forget(Task task) => task.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
}

/// <summary>One engine in <c>/health</c>: degraded (not unhealthy, so the API stays up for the others) when it does not answer.</summary>
public sealed class EngineHealthCheck(string engine, EngineRegistry registry, EngineProbe probe) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var answered = await probe.RunAsync(async token =>
            {
                await using var connection = await registry.Get(engine).DataSource.OpenConnectionAsync(token);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                await command.ExecuteScalarAsync(token);
                return "answered";
            }, cancellationToken);
            return answered is null
                ? HealthCheckResult.Degraded(probe.NotAnswering(engine))
                : HealthCheckResult.Healthy($"Engine '{engine}' answers.");
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or EngineException)
        {
            // The reason without the driver's text, which may name hosts and users.
            return HealthCheckResult.Degraded($"Engine '{engine}' is not reachable ({ex.GetType().Name}).");
        }
    }

    public static void Register(IHealthChecksBuilder health, IEnumerable<string> engines, TimeSpan timeout)
    {
        foreach (var engine in engines)
        {
            health.Add(new HealthCheckRegistration($"engine-{engine}",
                services => new EngineHealthCheck(engine, services.GetRequiredService<EngineRegistry>(), services.GetRequiredService<EngineProbe>()),
                HealthStatus.Degraded, ["engine"], timeout + TimeSpan.FromSeconds(1)));
        }
    }
}
