using Engine.Api.Engine;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Initialises every engine at start. Start-up waits (bounded) so the API is ready once healthy; an engine that is
/// down does not stop the API — it is retried in the background until it answers.
/// </summary>
public sealed class EngineInitializer(EngineRegistry registry, ILogger<EngineInitializer> logger) : BackgroundService
{
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await Task.WhenAny(_firstRound.Task, Task.Delay(StartupWait, cancellationToken));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = registry.Names.ToHashSet();
        while (pending.Count > 0 && !stoppingToken.IsCancellationRequested)
        {
            foreach (var name in pending.ToList())
            {
                try
                {
                    await using var engine = new SqlEngine(registry.Get(name));
                    await engine.InitializeAsync(stoppingToken);
                    pending.Remove(name);
                    logger.LogInformation("Engine {Engine} initialised", name);
                }
                catch (EngineException ex)
                {
                    logger.LogWarning("Engine {Engine} not initialised yet: {Reason}", name, ex.Message);
                }
            }

            // Start-up waits for one attempt at every engine, not for engines that are down.
            _firstRound.TrySetResult();

            if (pending.Count > 0)
            {
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }

        _firstRound.TrySetResult();
    }
}
