using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using SplitgraphAspire.Contracts;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>A topology of its own, with a short probe timeout, for freezing one engine.</summary>
public sealed class FrozenEngineFixture : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), $"sga-{Environment.ProcessId}-frz{Guid.NewGuid():N}"[..28]);
        App = await TopologyFixture.StartAsync(dataRoot, "--Engine:ProbeTimeoutSeconds=2");
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await App.DisposeAsync();
    }
}

/// <summary>
/// An engine whose server is frozen (SIGSTOP: it accepts TCP but never answers) is reported as not answering by
/// <c>/health</c> and <c>GET /api/engines</c>, and the other engine as healthy, instead of both replies hanging.
/// </summary>
public sealed class FrozenEngineTests(FrozenEngineFixture topology, ITestOutputHelper output) : IClassFixture<FrozenEngineFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_frozen_engine_is_reported_as_not_answering_and_the_other_as_healthy()
    {
        using var api = topology.App.CreateHttpClient("engine-api");
        api.DefaultRequestHeaders.Add("X-Api-Key", TopologyFixture.ApiKey);
        // Bounded: a reply that waited for the frozen engine (the driver's 15 s connect timeout) fails the test.
        api.Timeout = TimeSpan.FromSeconds(12);
        Assert.All(await EnginesAsync(api), e => Assert.True(e.Healthy, e.Error));

        var frozen = await FreezeServerAsync("remote");
        output.WriteLine($"frozen processes of remote: {string.Join(", ", frozen)}");
        try
        {
            var engines = await EnginesAsync(api);
            var remote = engines.Single(e => e.Name == "remote");
            Assert.False(remote.Healthy);
            Assert.Contains("did not answer", remote.Error);
            Assert.True(engines.Single(e => e.Name == "local").Healthy);

            var health = await api.GetAsync("/health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode); // the API itself is up, for the engines that answer
            var checks = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            Assert.Equal("Degraded", checks.GetProperty("engine-remote").GetProperty("status").GetString());
            Assert.Contains("did not answer", checks.GetProperty("engine-remote").GetProperty("description").GetString());
            Assert.Equal("Healthy", checks.GetProperty("engine-local").GetProperty("status").GetString());
        }
        finally
        {
            Signal(frozen, "CONT");
        }

        // Thawed, it answers again.
        var deadline = DateTime.UtcNow + Patience;
        while (!(await EnginesAsync(api)).Single(e => e.Name == "remote").Healthy)
        {
            Assert.True(DateTime.UtcNow < deadline, "remote never answered again after SIGCONT");
            await Task.Delay(500);
        }
    }

    private static async Task<List<EngineInfo>> EnginesAsync(HttpClient api) =>
        (await api.GetFromJsonAsync<List<EngineInfo>>("/api/engines"))!;

    /// <summary>SIGSTOPs the engine's postmaster and every backend it has forked: the whole server stops answering.</summary>
    private async Task<List<int>> FreezeServerAsync(string engine)
    {
        int backend;
        await using (var connection = new Npgsql.NpgsqlConnection(await topology.App.GetConnectionStringAsync(engine)))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT pg_backend_pid()", connection);
            backend = (int)(await command.ExecuteScalarAsync())!;
        }

        var postmaster = ParentOf(backend);
        var processes = new List<int> { postmaster };
        processes.AddRange(Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && SafeParentOf(pid) == postmaster));
        Signal(processes, "STOP");
        return processes;
    }

    private static int SafeParentOf(int pid)
    {
        try
        {
            return ParentOf(pid);
        }
        catch (IOException)
        {
            return 0; // gone while we looked
        }
    }

    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
    private static int ParentOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Signal(IEnumerable<int> processes, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", .. processes.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        kill.WaitForExit();
    }
}
