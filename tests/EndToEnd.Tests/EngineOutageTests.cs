using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests;

/// <summary>A topology of its own for tests that stop resources, which the shared one must not see.</summary>
public sealed class OutageTopologyFixture : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), $"sga-{Environment.ProcessId}-out{Guid.NewGuid():N}"[..28]);
        App = await TopologyFixture.StartAsync(dataRoot);
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await App.DisposeAsync();
    }

    /// <summary>A fresh client: the API's address stays, but a restarted API must not meet stale connections.</summary>
    public HttpClient Api()
    {
        var client = App.CreateHttpClient("engine-api");
        client.DefaultRequestHeaders.Add("X-Api-Key", TopologyFixture.ApiKey);
        client.Timeout = TimeSpan.FromMinutes(5);
        return client;
    }
}

/// <summary>
/// An engine that goes down and comes back: the API keeps answering (the engine reported unhealthy with the reason,
/// its routes a 503 problem, never a 500) and recovers by itself once the engine is back. And the API killed during a
/// transfer: nothing half-made is left, and a retry after its restart finishes the job.
/// </summary>
public sealed class EngineOutageTests(OutageTopologyFixture topology) : IClassFixture<OutageTopologyFixture>
{
    // Bounds a broken test only; every wait ends on its condition.
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly HttpClient _api = topology.Api();
    private DistributedApplication App => topology.App;

    [Fact]
    public async Task A_stopped_engine_is_reported_unhealthy_and_served_again_when_it_returns()
    {
        var commands = App.Services.GetRequiredService<ResourceCommandService>();
        Assert.True((await _api.GetAsync("/api/engines/remote/objects")).IsSuccessStatusCode);

        var stop = await commands.ExecuteCommandAsync("remote", "resource-stop");
        Assert.True(stop.Success, stop.Message);
        var down = await WaitForAsync(engine => !engine.Healthy);
        Assert.False(string.IsNullOrWhiteSpace(down.Error));
        Assert.True((await EngineAsync("local")).Healthy);

        var unavailable = await _api.GetAsync("/api/engines/remote/objects");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        Assert.Equal("application/problem+json", unavailable.Content.Headers.ContentType?.MediaType);

        // The reasons name the engine, never its credentials.
        var password = new Npgsql.NpgsqlConnectionStringBuilder(await App.GetConnectionStringAsync("remote")).Password!;
        Assert.DoesNotContain(password, down.Error!);
        Assert.DoesNotContain(password, await unavailable.Content.ReadAsStringAsync());

        var start = await commands.ExecuteCommandAsync("remote", "resource-start");
        Assert.True(start.Success, start.Message);
        await App.ResourceNotifications.WaitForResourceHealthyAsync("remote").WaitAsync(Patience);
        await WaitForAsync(engine => engine.Healthy);

        // Pooled connections to the old server are broken; the next requests must still work.
        var objects = await _api.GetAsync("/api/engines/remote/objects");
        Assert.True(objects.IsSuccessStatusCode, await objects.Content.ReadAsStringAsync());
        Assert.True((await _api.GetAsync("/api/engines/remote/tracked-tables")).IsSuccessStatusCode);
    }

    private async Task<EngineInfo> EngineAsync(string name)
    {
        var response = await _api.GetAsync("/api/engines");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<List<EngineInfo>>())!.Single(e => e.Name == name);
    }

    private async Task<EngineInfo> WaitForAsync(Func<EngineInfo, bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var remote = await EngineAsync("remote");
            if (condition(remote))
            {
                return remote;
            }

            Assert.True(DateTime.UtcNow < deadline, $"remote stayed {(remote.Healthy ? "healthy" : "unhealthy")}: {remote.Error}");
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task Killing_the_api_during_an_upload_leaves_no_half_object_and_a_retry_finishes()
    {
        var schema = "kill_" + Guid.NewGuid().ToString("N")[..8];
        await ExecAsync("local", $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.big (id int PRIMARY KEY, v text); " +
                                 $"INSERT INTO {schema}.big SELECT g, md5(g::text) FROM generate_series(1, 400000) g");
        var commit = await (await _api.PostAsJsonAsync($"/api/engines/local/schemas/{schema}/tables/big/commit?snapshot=true", new { }))
            .Content.ReadFromJsonAsync<CommitResult>();
        var id = commit!.ObjectId!;
        var commands = App.Services.GetRequiredService<ResourceCommandService>();

        // The remote's catalogue is locked against inserts, so the upload copies every row and then waits to register
        // the object: provably in flight, at its most delicate point, when the API is killed.
        long blocked;
        await using (var catalogueLock = await ConnectAsync("remote"))
        {
            await using var transaction = await catalogueLock.BeginTransactionAsync();
            await using (var lockCatalogue = new Npgsql.NpgsqlCommand("LOCK TABLE splitgraph_meta.objects IN SHARE ROW EXCLUSIVE MODE", catalogueLock, transaction))
            {
                await lockCatalogue.ExecuteNonQueryAsync();
            }

            var upload = _api.PostAsJsonAsync("/api/engines/local/objects/upload", new TransferRequest([id], "remote"));
            var deadline = DateTime.UtcNow + Patience;
            while ((blocked = await CountAsync("remote",
                       "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'relation'")) == 0)
            {
                if (upload.IsCompleted)
                {
                    var early = await upload;
                    Assert.Fail($"the upload ended before registering the object: {(int)early.StatusCode} {await early.Content.ReadAsStringAsync()}");
                }

                Assert.True(DateTime.UtcNow < deadline, "the upload never reached the object's registration");
                await Task.Delay(50);
            }

            // SIGKILL, as a crash: no graceful shutdown that would let the request finish.
            Assert.True(await KillApiProcessAsync() > 0, "the API process was not found");
            await Assert.ThrowsAsync<HttpRequestException>(() => upload);
            await transaction.RollbackAsync();
        }

        Assert.Equal(1L, blocked);

        // The remote rolls the object's transaction back once it sees the connection gone.
        var ended = DateTime.UtcNow + Patience;
        while (await CountAsync("remote", $"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{id}%' AND pid <> pg_backend_pid()") > 0)
        {
            Assert.True(DateTime.UtcNow < ended, "the interrupted transfer never ended on the remote");
            await Task.Delay(100);
        }

        Assert.Equal(0L, await CountAsync("remote", $"SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = '{id}'"));
        Assert.Equal(0L, await CountAsync("remote", $"SELECT count(*) FROM pg_tables WHERE schemaname = 'splitgraph_meta' AND tablename = '{id}'"));

        var start = await commands.ExecuteCommandAsync("engine-api", "resource-start");
        Assert.True(start.Success, start.Message);
        await App.ResourceNotifications.WaitForResourceHealthyAsync("engine-api").WaitAsync(Patience);

        using var api = topology.Api();
        var retry = await (await api.PostAsJsonAsync("/api/engines/local/objects/upload", new TransferRequest([id], "remote")))
            .Content.ReadFromJsonAsync<TransferResult>();
        Assert.Equal([id], retry!.Transferred);
        Assert.Equal(400000L, await CountAsync("remote", $"SELECT count(*) FROM splitgraph_meta.\"{id}\""));
    }

    /// <summary>Kills this topology's Engine.Api process: the one whose environment holds this run's local engine.</summary>
    private async Task<int> KillApiProcessAsync()
    {
        var marker = "ConnectionStrings__local=" + await App.GetConnectionStringAsync("local");
        var killed = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = await File.ReadAllTextAsync(Path.Combine(dir, "cmdline"));
                var environment = (await File.ReadAllTextAsync(Path.Combine(dir, "environ"))).Split('\0');
                if (cmdline.Contains("Engine.Api", StringComparison.Ordinal) && environment.Contains(marker))
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: false);
                    killed++;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // Gone while we looked, or not ours to read.
            }
        }

        return killed;
    }

    private async Task<Npgsql.NpgsqlConnection> ConnectAsync(string engine)
    {
        var connection = new Npgsql.NpgsqlConnection(await App.GetConnectionStringAsync(engine));
        await connection.OpenAsync();
        return connection;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Test helper: runs statement text that its calling test wrote (fixed SQL with names the test generated); no outside input reaches it.")]
    private async Task ExecAsync(string engine, string sql)
    {
        await using var connection = await ConnectAsync(engine);
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Test helper: runs statement text that its calling test wrote (fixed SQL with names the test generated); no outside input reaches it.")]
    private async Task<long> CountAsync(string engine, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(await App.GetConnectionStringAsync(engine));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
