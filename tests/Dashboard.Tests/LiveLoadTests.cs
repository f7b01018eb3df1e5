using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;
using Postgres.Testing;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

/// <summary>
/// The load the Changes page makes itself (issue 17), against the real API and a real PostgreSQL while 16 writers
/// run: it polls the counters once per tick and reads the grid only when the reader asks, whatever the writers do.
/// Requests are counted, never timed; the page's clock is advanced by hand, so the number of polls is exact.
/// </summary>
public sealed class LiveLoadTests : DashboardTestBase
{
    private const string ApiKey = "live-load-test-key";
    private const string Engine = "e1";

    [Fact]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "Each writer runs one of three fixed statements; the id is a parameter.")]
    public async Task The_grid_is_read_once_per_reader_action_while_16_writers_run()
    {
        await using var server = await ThrowawayPostgres.StartAsync(new ThrowawayPostgresOptions
        {
            FolderPrefix = "sg-dashboard-tests-",
            Fast = true,
            Settings = ["max_connections=100"],
        });
        var connectionString = server.ConnectionString("postgres");
        // The root factory is disposed too (WithWebHostBuilder derives one from it).
        await using var root = new WebApplicationFactory<Engine.Api.Engine.SqlEngine>();
        await using var factory = root.WithWebHostBuilder(web =>
            web.UseSetting($"ConnectionStrings:{Engine}", connectionString).UseSetting("Engine:ApiKey", ApiKey));
        using var apiHandler = factory.Server.CreateHandler();
        using var invoker = new HttpMessageInvoker(apiHandler, disposeHandler: false);
        // Every request of the page goes through FakeApi (which records it) to the real API.
        Api.Handle("GET /api/", Forward);
        Api.Handle("POST /api/", Forward);

        Task<HttpResponseMessage> Forward(HttpRequestMessage request)
        {
            request.Headers.Add("X-Api-Key", ApiKey);
            return invoker.SendAsync(request, CancellationToken.None);
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var setup = dataSource.CreateCommand("CREATE SCHEMA live; CREATE TABLE live.t (id int PRIMARY KEY, v int)"))
        {
            await setup.ExecuteNonQueryAsync();
        }

        using (var direct = new HttpClient(Api) { BaseAddress = new Uri("http://engine-api") })
        {
            (await direct.PostAsync($"/api/engines/{Engine}/initialize", null)).EnsureSuccessStatusCode();
            (await direct.PostAsJsonAsync($"/api/engines/{Engine}/tracked-tables", new TablesRequest([new TableRef("live", "t")]))).EnsureSuccessStatusCode();
        }

        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<Dashboard.Components.Pages.Changes>(p => p.Add(c => c.Engine, Engine).Add(c => c.Schema, "live").Add(c => c.Table, "t"));
        const string changes = $"GET /api/engines/{Engine}/schemas/live/tables/t/changes";
        int GridReads() => Api.Requests.Count(r => r.StartsWith(changes, StringComparison.Ordinal) && !r.Contains("aggregate=true"));
        int CounterReads() => Api.Requests.Count(r => r.StartsWith(changes, StringComparison.Ordinal) && r.Contains("aggregate=true"));
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("#no-changes")));
        Assert.True(GridReads() == 1, string.Join("\n", Api.Requests));

        // 16 writers: single-row inserts, updates and deletes in autocommit, until the test has seen what it needs.
        using var stop = new CancellationTokenSource();
        var written = 0L;
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = w * 1_000_000 + i / 3;
                var sql = (i % 3) switch
                {
                    0 => "INSERT INTO live.t VALUES ($1, 0)",
                    1 => "UPDATE live.t SET v = v + 1 WHERE id = $1",
                    _ => "DELETE FROM live.t WHERE id = $1 AND id % 2 = 0",
                };
                await using var command = new NpgsqlCommand(sql, connection) { Parameters = { new() { Value = id } } };
                await command.ExecuteNonQueryAsync();
                Interlocked.Increment(ref written);
            }
        })).ToList();

        // 20 ticks of the page's clock, each waiting for its poll's answer to be on screen: the counters follow the
        // writers, the grid offers a refresh, and is not read again.
        const int ticks = 20;
        var before = CounterReads();
        for (var tick = 1; tick <= ticks; tick++)
        {
            var seen = Interlocked.Read(ref written);
            // Each tick after at least one more change, so every poll has something new to say.
            await WaitUntilAsync(() => Interlocked.Read(ref written) > seen);
            Time.Advance(TimeSpan.FromSeconds(1.5));
            var expected = before + tick;
            cut.WaitForAssertion(() => Assert.True(CounterReads() >= expected, $"poll {tick}: {CounterReads() - before} counter reads"));
        }

        cut.WaitForAssertion(() => Assert.True(long.Parse(cut.Find("#new-changes").GetAttribute("data-count")!, System.Globalization.CultureInfo.InvariantCulture) > 0));
        Assert.Equal(1, GridReads());
        Assert.Equal(ticks, CounterReads() - before);

        // The reader asks: one read of page 1 of the net view, however many changes arrived, with its exact total;
        // then the raw log, one read more.
        // Found and clicked on the renderer's thread: a poll's answer may still be re-rendering the banner.
        await cut.InvokeAsync(() => cut.Find("#new-changes-refresh").Click());
        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll("tr.change-row")));
        Assert.Equal("true", cut.Find("#change-pager").GetAttribute("data-total-known"));
        Assert.Equal(2, GridReads());
        Assert.All(Api.Requests.Where(r => r.StartsWith(changes, StringComparison.Ordinal) && !r.Contains("aggregate=true")), r => Assert.Contains("net=true", r));
        await cut.InvokeAsync(() => cut.Find("input#net-toggle, #net-toggle input").Change(false));
        cut.WaitForAssertion(() => Assert.Contains(Api.Requests, r => r.StartsWith(changes, StringComparison.Ordinal) && r.Contains("net=false")));

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.Equal(3, GridReads());
        // Everything the page sent: the table's columns, the counters' polls (and their first read), the three grid reads.
        Assert.All(Api.Requests, r => Assert.True(r.StartsWith(changes, StringComparison.Ordinal) || r.Contains("/columns") || r.StartsWith("POST", StringComparison.Ordinal), r));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
