using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppHost.Engines;

/// <summary>
/// Chooses where local servers keep their data: a persistent folder for <c>dotnet run</c>, a throw-away one per
/// AppHost process for tests (<c>Engines:Ephemeral=true</c>), removed when the AppHost stops and swept at the next
/// start if the AppHost died.
/// </summary>
internal static class LocalDataFolders
{
    private const string EphemeralPrefix = "sga-";

    public static LocalPostgresLayout For(IDistributedApplicationBuilder builder, string engineName, string binDirectory)
    {
        var ephemeral = EngineModeResolver.IsEphemeral(builder);
        var runAsPostgres = PostgresUser.IsRoot;
        var root = builder.Configuration["Engines:DataRoot"] is { Length: > 0 } configured
            ? configured
            : ephemeral ? EphemeralRoot() : PersistentRoot(runAsPostgres);
        if (ephemeral)
        {
            RegisterCleanup(builder, root);
        }

        var engineFolder = Path.Combine(root, engineName);
        var socketFolder = Path.Combine(engineFolder, "run");
        if (socketFolder.Length > 80)
        {
            // Unix socket paths are limited to ~107 characters including the socket's own name.
            socketFolder = Path.Combine(Path.GetTempPath(), $"{EphemeralPrefix}sock-{Environment.ProcessId}-{engineName}");
        }

        Directory.CreateDirectory(engineFolder);
        return new LocalPostgresLayout(binDirectory, Path.Combine(engineFolder, "data"), socketFolder, !ephemeral, runAsPostgres);
    }

    private static string PersistentRoot(bool runAsRoot) => runAsRoot
        // /root is not traversable by the postgres user, so root keeps engine data where services keep theirs.
        ? "/var/lib/splitgraph-aspire"
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "splitgraph-aspire");

    private static string EphemeralRoot() =>
        Path.Combine(RunFolders.TempRoot, $"{EphemeralPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..(EphemeralPrefix.Length + 16)]);

    /// <summary>Once per AppHost: sweep folders of dead AppHosts, and delete this one's when it stops.</summary>
    private static void RegisterCleanup(IDistributedApplicationBuilder builder, string root)
    {
        if (builder.Services.Any(s => s.ServiceType == typeof(EphemeralFolderCleanup)))
        {
            return;
        }

        RunFolders.SweepDead(EphemeralPrefix);
        RunFolders.CreateOwned(root);
        builder.Services.AddSingleton(sp => new EphemeralFolderCleanup(root, sp.GetRequiredService<IHostApplicationLifetime>()));
        builder.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<EphemeralFolderCleanup>());
    }
}

/// <summary>
/// Deletes an AppHost's throw-away engine folder once it has stopped and its servers have exited (the orchestrator
/// stops them after the AppHost's own services, so deleting earlier would race a shutting-down server).
/// </summary>
internal sealed class EphemeralFolderCleanup(string root, IHostApplicationLifetime lifetime) : IHostedService
{
    private static readonly TimeSpan ServerExitWait = TimeSpan.FromSeconds(30);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopped.Register(() => _ = Task.Run(DeleteWhenServersExitAsync));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task DeleteWhenServersExitAsync()
    {
        var deadline = DateTime.UtcNow + ServerExitWait;
        while (DateTime.UtcNow < deadline && Directory.Exists(root) && RunFolders.LiveServers(root).Count > 0)
        {
            await Task.Delay(200);
        }

        RunFolders.TryDelete(root);
    }
}
