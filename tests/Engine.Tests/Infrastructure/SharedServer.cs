namespace Engine.Tests.Infrastructure;

/// <summary>
/// One throw-away server for the whole test run (tests get their own databases on it, see <see cref="TestDatabase"/>),
/// with fast non-durable settings: the data is thrown away, so fsync only costs time.
/// </summary>
public static class SharedServer
{
    private static readonly Lazy<Task<ThrowawayPostgres>> Shared = new(() => ThrowawayPostgres.StartAsync(new ThrowawayPostgresOptions
    {
        FolderPrefix = "sg-engine-tests-",
        Fast = true,
        Settings = ["max_connections=200"],
        ConfigureConnection = builder => builder.MaxPoolSize = 40,
    }));

    /// <summary>The server of this test run, started on first use.</summary>
    public static Task<ThrowawayPostgres> InstanceAsync() => Shared.Value;

    /// <summary>Stops the run's server if it was started (idempotent).</summary>
    public static void StopIfStarted()
    {
        if (Shared.IsValueCreated && Shared.Value.IsCompletedSuccessfully)
        {
            Shared.Value.Result.Stop();
        }
    }
}
