using Engine.Api.Engine;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Initialises every engine at start. Start-up waits (bounded) for one attempt at each, so the API is ready once
/// healthy; whatever an engine answers — down, wrong password, no right to create its database — never stops the API:
/// the engine is reported unhealthy with the reason (<see cref="EngineStatus"/>) and retried with back-off while the
/// others are served.
/// </summary>
public sealed class EngineInitializer(EngineRegistry registry, EngineStatus status, ILogger<EngineInitializer> logger) : BackgroundService
{
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _roundLock = new();
    private int _attempted;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await Task.WhenAny(_firstRound.Task, Task.Delay(StartupWait, cancellationToken));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(registry.Names.Select(name => InitializeWithRetriesAsync(name, stoppingToken)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            _firstRound.TrySetResult();
        }
    }

    private async Task InitializeWithRetriesAsync(string name, CancellationToken stoppingToken)
    {
        var delay = FirstRetry;
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            var done = await TryInitializeAsync(name, stoppingToken);
            if (first)
            {
                first = false;
                lock (_roundLock)
                {
                    // Start-up waits for one attempt at every engine, not for engines that are down.
                    if (++_attempted == registry.Names.Count)
                    {
                        _firstRound.TrySetResult();
                    }
                }
            }

            if (done)
            {
                return;
            }

            await Task.Delay(delay, stoppingToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetry.Ticks));
        }
    }

    private async Task<bool> TryInitializeAsync(string name, CancellationToken stoppingToken)
    {
        try
        {
            await using var engine = new SqlEngine(registry.Get(name));
            var repaired = await engine.InitializeAsync(stoppingToken);
            status.Initialized(name);
            foreach (var repair in repaired)
            {
                logger.LogWarning("Engine {Engine}: crash leftover repaired: {Repair}", name, repair);
            }

            logger.LogInformation("Engine {Engine} initialised", name);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Anything else is this engine's problem only; its reason is what GET /api/engines reports.
            var reason = ex is EngineException ? ex.Message : $"Engine '{name}' could not be initialised: {ex.Message}";
            status.Failed(name, reason);
            logger.LogWarning("Engine {Engine} not initialised yet: {Reason}", name, reason);
            return false;
        }
    }
}
