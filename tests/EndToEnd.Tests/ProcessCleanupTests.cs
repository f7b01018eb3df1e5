using System.Diagnostics;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>Stopping the topology leaves no PostgreSQL server and no throw-away data behind.</summary>
public sealed class ProcessCleanupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Stopping_the_app_stops_its_engines_and_removes_their_data()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), $"sga-{Environment.ProcessId}-cl{Guid.NewGuid():N}"[..28]);
        var watch = Stopwatch.StartNew();
        var app = await TopologyFixture.StartAsync(dataRoot);
        output.WriteLine($"Topology start to all resources healthy: {watch.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(2, ProcessesUsing(dataRoot).Count(p => p.Contains("postgres", StringComparison.Ordinal)));

        await app.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await app.DisposeAsync();

        // The orchestrator stops servers asynchronously; give it a bounded moment.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while ((ProcessesUsing(dataRoot).Count > 0 || Directory.Exists(dataRoot)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.Empty(ProcessesUsing(dataRoot));
        Assert.False(Directory.Exists(dataRoot), $"{dataRoot} was left behind");
    }

    /// <summary>Command lines of live processes that mention <paramref name="text"/>.</summary>
    private static List<string> ProcessesUsing(string text)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal))
                {
                    found.Add(cmdline);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
