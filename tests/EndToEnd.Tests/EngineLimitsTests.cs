using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using SplitgraphAspire.Contracts;
using Xunit.Abstractions;

namespace EndToEnd.Tests;

/// <summary>
/// A topology of its own, for freezing an engine and crowding one with slow readers: a short probe timeout, a small
/// pool (12) with 4 dump slots, and a stalled stream aborted after 15 s.
/// </summary>
public sealed class EngineLimitsFixture : IAsyncLifetime
{
    public const int PoolSize = 12;
    public const int DumpSlots = 4;

    public DistributedApplication App { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), $"sga-{Environment.ProcessId}-frz{Guid.NewGuid():N}"[..28]);
        App = await TopologyFixture.StartAsync(dataRoot, "--Engine:ProbeTimeoutSeconds=2", $"--Engine:MaxPoolSize={PoolSize}",
            $"--Engine:Dumps:MaxConcurrentPerEngine={DumpSlots}", "--Engine:Dumps:IdleTimeoutSeconds=15");
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await App.DisposeAsync();
    }
}

/// <summary>
/// Limits that keep one engine's trouble from spreading. An engine whose server is frozen (SIGSTOP: it accepts TCP but never answers) is reported as not answering by
/// <c>/health</c> and <c>GET /api/engines</c>, and the other engine as healthy, instead of both replies hanging. Slow readers of dumps hold at most the engine's dump slots (the rest get 429), so
/// other requests to that engine still get connections, and a stalled stream is aborted, freeing its slot.
/// </summary>
public sealed class EngineLimitsTests(EngineLimitsFixture topology, ITestOutputHelper output) : IClassFixture<EngineLimitsFixture>
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

    [Fact]
    public async Task Slow_readers_get_at_most_the_dump_slots_and_other_requests_to_the_engine_still_succeed()
    {
        var schema = "slow_" + Guid.NewGuid().ToString("N")[..8];
        // Far more SQL than socket buffers hold, so a reader that stops makes the server wait with its connection.
        await ExecAsync("local", $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.big (id int PRIMARY KEY, v text); " +
                                 $"INSERT INTO {schema}.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 300000) g");
        using var api = topology.App.CreateHttpClient("engine-api");
        api.DefaultRequestHeaders.Add("X-Api-Key", TopologyFixture.ApiKey);
        api.Timeout = TimeSpan.FromMinutes(5);

        // More slow readers than the engine's pool: each reads a few bytes and stalls.
        const int readers = EngineLimitsFixture.PoolSize + 2;
        var responses = await Task.WhenAll(Enumerable.Range(0, readers).Select(_ =>
            api.GetAsync($"/api/engines/local/schemas/{schema}/tables/big/dump", HttpCompletionOption.ResponseHeadersRead)));
        var streams = new List<Stream>();
        try
        {
            foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.OK))
            {
                var stream = await response.Content.ReadAsStreamAsync();
                Assert.True(await stream.ReadAsync(new byte[16]) > 0);
                streams.Add(stream);
            }

            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            output.WriteLine($"{streams.Count} dumps streaming, {refused.Count} refused, of {readers}");
            Assert.Equal(EngineLimitsFixture.DumpSlots, streams.Count);
            Assert.Equal(readers - EngineLimitsFixture.DumpSlots, refused.Count);
            foreach (var response in refused)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 without Retry-After");
            }

            // While the readers stall, everything else on that engine still gets a connection: count failures.
            var others = await Task.WhenAll(Enumerable.Range(0, 3 * EngineLimitsFixture.PoolSize).Select(i =>
                api.GetAsync(i % 2 == 0 ? "/api/engines/local/tables" : "/api/engines/local/objects")));
            var failures = others.Where(r => !r.IsSuccessStatusCode).Select(r => (int)r.StatusCode).ToList();
            Assert.True(failures.Count == 0, $"{failures.Count} of {others.Length} other requests failed: {string.Join(", ", failures)}");

            // Stalled streams are aborted after the idle timeout: their slots come back while the readers still hold on.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                using var again = await api.GetAsync($"/api/engines/local/schemas/{schema}/tables/big/dump", HttpCompletionOption.ResponseHeadersRead);
                if (again.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }

                Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
                Assert.True(DateTime.UtcNow < deadline, "no dump slot came back while its readers stalled");
                await Task.Delay(1000);
            }

            // And a stalled reader finds its stream broken, not silently cut short.
            await Assert.ThrowsAnyAsync<IOException>(() => streams[0].CopyToAsync(Stream.Null));
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }

            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Test helper: runs statement text that its calling test wrote (fixed SQL with names the test generated); no outside input reaches it.")]
    private async Task ExecAsync(string engine, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(await topology.App.GetConnectionStringAsync(engine));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
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
