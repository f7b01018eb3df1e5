using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Json;
using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>A throw-away server of its own: these tests change server-wide privileges and create and drop databases.</summary>
public sealed class OwnServerFixture : IAsyncLifetime
{
    public ThrowawayPostgres Server { get; private set; } = default!;

    public async Task InitializeAsync() =>
        Server = await ThrowawayPostgres.StartAsync(new ThrowawayPostgresOptions { FolderPrefix = "sg-engine-tests-start-", Fast = true });

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>A connection string to <paramref name="database"/>, optionally as another role.</summary>
    public string ConnectionString(string database, string? user = null, string? password = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Server.ConnectionString(database));
        if (user is not null)
        {
            builder.Username = user;
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.Helper)]
    public async Task ExecAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Server.ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Start-up never dies for one engine: an engine that refuses the API (wrong password, no access to the maintenance
/// database, no CREATEDB) is reported unhealthy with a reason naming the fix and retried, while the others are served;
/// concurrent initialisations from two APIs all succeed or answer 409/503, never 500.
/// </summary>
public sealed class EngineStartTests(OwnServerFixture fixture) : IClassFixture<OwnServerFixture>
{
    [Fact]
    public async Task Engines_that_refuse_the_API_are_reported_with_the_fix_while_the_others_are_served()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        string nomaint = $"nomaint_{suffix}", nocreate = $"nocreate_{suffix}";
        await fixture.ExecAsync(
            $"""
            CREATE ROLE {nomaint} LOGIN PASSWORD 'pw-nomaint' CREATEDB;
            CREATE ROLE {nocreate} LOGIN PASSWORD 'pw-nocreate' NOCREATEDB;
            REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
            GRANT CONNECT ON DATABASE postgres TO {nocreate};
            """);

        await using var api = ApiHost.Start(
            ("ConnectionStrings:good", fixture.ConnectionString($"good_{suffix}")),
            ("ConnectionStrings:wrongpw", fixture.ConnectionString($"wrongpw_{suffix}", ThrowawayPostgres.Superuser, "not-the-password")),
            ("ConnectionStrings:nomaint", fixture.ConnectionString($"nomaint_{suffix}", nomaint, "pw-nomaint")),
            ("ConnectionStrings:nocreate", fixture.ConnectionString($"nocreate_{suffix}", nocreate, "pw-nocreate")));
        using var client = api.Client();

        var engines = (await client.GetFromJsonAsync<List<EngineInfo>>("/api/engines"))!.ToDictionary(e => e.Name);
        Assert.True(engines["good"] is { Healthy: true, Error: null }, engines["good"].Error);
        AssertUnhealthy(engines["wrongpw"], "password");
        AssertUnhealthy(engines["nomaint"], "GRANT CONNECT ON DATABASE postgres");
        AssertUnhealthy(engines["nocreate"], "CREATEDB");

        var served = await client.GetAsync("/api/engines/good/objects");
        Assert.True(served.IsSuccessStatusCode, await served.Content.ReadAsStringAsync());
        var refused = await client.GetAsync("/api/engines/wrongpw/objects");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("password", await refused.Content.ReadAsStringAsync());

        // Fixing the role is enough: the background retries find it, no restart. CREATEDB lets it create its database;
        // the rest of Initialize (CREATE EXTENSION postgres_fdw) still needs a superuser here, so that comes second.
        await fixture.ExecAsync($"ALTER ROLE {nocreate} CREATEDB");
        await WaitForAsync(client, e => e.Error?.Contains("CREATEDB", StringComparison.Ordinal) == false, "the database created after CREATEDB");
        await using (var check = new NpgsqlConnection(fixture.ConnectionString("postgres")))
        {
            await check.OpenAsync();
            await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", check) { Parameters = { new() { Value = $"nocreate_{suffix}" } } };
            Assert.Equal(1L, (long)(await exists.ExecuteScalarAsync())!);
        }

        await fixture.ExecAsync($"ALTER ROLE {nocreate} SUPERUSER");
        await WaitForAsync(client, e => e is { Healthy: true, Error: null }, "the fixed engine initialised");

        await fixture.ExecAsync("GRANT CONNECT ON DATABASE postgres TO PUBLIC");
    }

    [Fact]
    public async Task Concurrent_initialisations_from_two_APIs_never_fail_with_500()
    {
        var database = $"fresh_{Guid.NewGuid().ToString("N")[..6]}";
        var connection = fixture.ConnectionString(database);
        // Two APIs start at once on a database that does not exist yet: both initialisers race to create it.
        var apis = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var api = ApiHost.Start(("ConnectionStrings:fresh", connection));
            return (Api: api, Client: api.Client());
        })));
        try
        {
            foreach (var (_, client) in apis)
            {
                var fresh = (await client.GetFromJsonAsync<List<EngineInfo>>("/api/engines"))!.Single();
                Assert.True(fresh is { Healthy: true, Error: null }, fresh.Error);
            }

            // Then eight concurrent initialisations, four through each API, of a dropped database, made to overlap: a
            // third connection holds a lock on template1 that CREATE DATABASE waits for, until all eight are queued
            // (in CREATE DATABASE, or behind whatever serialises them).
            await fixture.ExecAsync($"DROP DATABASE {database} WITH (FORCE)");
            HttpResponseMessage[] responses;
            await using (var holder = new NpgsqlConnection(fixture.ConnectionString("postgres") + ";Pooling=false"))
            {
                await holder.OpenAsync();
                await using (var hold = new NpgsqlCommand("BEGIN; COMMENT ON DATABASE template1 IS 'held by a test'", holder))
                {
                    await hold.ExecuteNonQueryAsync();
                }

                var requests = apis.SelectMany(a => Enumerable.Range(0, 4).Select(_ => a.Client.PostAsync("/api/engines/fresh/initialize", null))).ToList();
                // Polled from a connection of its own: inside the holder's transaction pg_stat_activity would stay frozen.
                await using var watcher = new NpgsqlConnection(fixture.ConnectionString("postgres") + ";Pooling=false");
                await watcher.OpenAsync();
                await using var waiting = new NpgsqlCommand(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND (query LIKE 'CREATE DATABASE%' OR query LIKE '%pg\\_advisory\\_lock%')", watcher);
                // Bounded below the admin connection's 30 s command timeout, after which the queued statements give up.
                var deadline = DateTime.UtcNow.AddSeconds(25);
                while ((long)(await waiting.ExecuteScalarAsync())! < requests.Count)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the initialisations never all queued behind the held lock");
                    await Task.Delay(50);
                }

                await using (var release = new NpgsqlCommand("ROLLBACK", holder))
                {
                    await release.ExecuteNonQueryAsync();
                }

                responses = await Task.WhenAll(requests);
            }

            foreach (var response in responses)
            {
                var status = (int)response.StatusCode;
                Assert.True(status is 204 or 409 or 503, $"{status}: {await response.Content.ReadAsStringAsync()}");
            }

            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.NoContent);
            foreach (var (_, client) in apis)
            {
                var objects = await client.GetAsync("/api/engines/fresh/objects");
                Assert.True(objects.IsSuccessStatusCode, await objects.Content.ReadAsStringAsync());
            }
        }
        finally
        {
            foreach (var (api, client) in apis)
            {
                client.Dispose();
                await api.DisposeAsync();
            }
        }
    }

    private static async Task WaitForAsync(HttpClient client, Func<EngineInfo, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var engine = (await client.GetFromJsonAsync<List<EngineInfo>>("/api/engines"))!.Single(e => e.Name == "nocreate");
            if (condition(engine))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}: {engine.Error}");
            await Task.Delay(250);
        }
    }

    private static void AssertUnhealthy(EngineInfo engine, string fix)
    {
        Assert.False(engine.Healthy, $"{engine.Name} reported healthy");
        Assert.True(engine.Error?.Contains(fix, StringComparison.Ordinal) == true, $"{engine.Name}: '{engine.Error}' does not name '{fix}'");
    }
}
