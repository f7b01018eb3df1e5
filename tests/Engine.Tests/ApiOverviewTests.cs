using System.Collections.Concurrent;
using System.Net.Http.Json;
using Engine.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Engine.Tests;

/// <summary>
/// The routes a first-run overview reads, through the real API against a real engine: every tracked table's pending
/// counts in one call, the capabilities, row counts of freshly loaded tables, and what the API logs by default.
/// </summary>
public sealed class ApiOverviewTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const string ApiKey = "api-overview-test-key";
    private const string Engine = "e1";

    private TestDatabase Db => fixture.Db;

    [Fact]
    public async Task Pending_counts_of_every_tracked_table_come_in_one_call_and_match_each_tables_counters()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var schema = await Db.NewSchemaAsync();
        // More tables than the Dashboard's old per-table loop looked at (50).
        const int tables = 60;
        var expected = new Dictionary<string, AggregateChanges>();
        var sql = new System.Text.StringBuilder();
        for (var i = 0; i < tables; i++)
        {
            sql.Append($"CREATE TABLE {schema}.t{i} (id int PRIMARY KEY, v text); INSERT INTO {schema}.t{i} SELECT g, 'x' FROM generate_series(1, 20) g; ");
        }

        await Db.ExecAsync(sql.ToString());
        await using (var engine = Db.Engine())
        {
            await new ChangeEngine(engine).TrackTablesAsync(Enumerable.Range(0, tables).Select(i => new TableRef(schema, $"t{i}")).ToList());
            await engine.CommitAsync();
        }

        sql.Clear();
        for (var i = 0; i < tables; i++)
        {
            // Raw counts: one per row inserted / deleted / updated (ids 1–20 exist; new ones start at 100).
            var (added, removed, updated) = (random.Next(0, 6), random.Next(0, 4), random.Next(0, 4));
            expected[$"t{i}"] = new AggregateChanges(added, removed, updated);
            sql.Append($"INSERT INTO {schema}.t{i} SELECT g, 'n' FROM generate_series(100, {99 + added}) g; ")
               .Append($"DELETE FROM {schema}.t{i} WHERE id BETWEEN 1 AND {removed}; ")
               .Append($"UPDATE {schema}.t{i} SET v = 'u' WHERE id BETWEEN 11 AND {10 + updated}; ");
        }

        await Db.ExecAsync(sql.ToString());
        output.WriteLine(string.Join(", ", expected.Select(e => $"{e.Key}={e.Value}")));

        await using var factory = Api();
        using var api = Client(factory);
        var counts = (await api.GetFromJsonAsync<List<TablePendingCounts>>($"/api/engines/{Engine}/pending-counts"))!
            .Where(c => c.Schema == schema).ToList();

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), counts.Select(c => c.Table));
        await using var check = Db.Engine();
        foreach (var c in counts)
        {
            Assert.Equal(expected[c.Table], new AggregateChanges(c.Added, c.Removed, c.Updated));
            Assert.Equal(await new ChangeEngine(check).GetAggregateChangesAsync(schema, c.Table), new AggregateChanges(c.Added, c.Removed, c.Updated));
        }

        var unknown = await api.GetAsync("/api/engines/nope/pending-counts");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_loaded_table_lists_its_row_count_before_any_analyze()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.loaded (id int PRIMARY KEY); INSERT INTO {schema}.loaded SELECT generate_series(1, 1234)");

        await using var factory = Api();
        using var api = Client(factory);
        // The statistics collector publishes a backend's counts when it goes idle (within seconds); wait for that.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        long rows;
        while ((rows = await RowsOfAsync(api, schema, "loaded")) != 1234)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the table lists {rows} rows, not 1234");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task By_default_the_console_is_off_and_statements_are_not_logged_at_information()
    {
        using var logs = new CapturingLoggerProvider();
        await using var factory = Api(logs);
        using var api = Client(factory);

        var capabilities = (await api.GetFromJsonAsync<ApiCapabilities>("/api/capabilities"))!;
        Assert.False(capabilities.SqlConsole);
        Assert.Equal("Engine:SqlConsole:Enabled", capabilities.SqlConsoleSetting);
        var version = await Db.ScalarAsync<string>("SELECT current_setting('server_version')");
        Assert.Equal([new EngineVersion(Engine, version)], capabilities.Engines);

        (await api.GetAsync($"/api/engines/{Engine}/tables")).EnsureSuccessStatusCode();
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Npgsql.Command", StringComparison.Ordinal) && e.Level >= LogLevel.Information);
    }

    [Fact]
    public async Task The_console_setting_shows_in_the_capabilities_and_statement_logging_can_be_turned_on()
    {
        using var logs = new CapturingLoggerProvider();
        await using var factory = Api(logs, ("Engine:SqlConsole:Enabled", "true"), ("Logging:LogLevel:Npgsql.Command", "Information"));
        using var api = Client(factory);

        Assert.True((await api.GetFromJsonAsync<ApiCapabilities>("/api/capabilities"))!.SqlConsole);
        await api.GetFromJsonAsync<List<TableInfo>>($"/api/engines/{Engine}/tables");
        // The same request as above does log its statements once asked to: the default's silence is the filter's doing.
        Assert.Contains(logs.Entries, e => e.Category.StartsWith("Npgsql.Command", StringComparison.Ordinal) && e.Message.Contains("pg_class", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_table_download_creates_the_table_then_inserts_its_rows()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, name varchar(10) NOT NULL); INSERT INTO {schema}.t VALUES (1, 'a'), (2, 'b')");
        var rows = await Db.RowsAsync($"{schema}.t");

        await using var factory = Api();
        using var api = Client(factory);
        var sql = await api.GetStringAsync($"/api/engines/{Engine}/schemas/{schema}/tables/t/dump");

        Assert.StartsWith($"CREATE TABLE IF NOT EXISTS \"{schema}\".\"t\" (", sql);
        Assert.Contains("PRIMARY KEY (\"id\")", sql);
        // Run where the table is gone: the download alone rebuilds it.
        await Db.ExecAsync($"DROP TABLE {schema}.t");
        await Db.ExecAsync(sql);
        Assert.Equal(rows, await Db.RowsAsync($"{schema}.t"));
        Assert.Equal("character varying(10)", await Db.ScalarAsync<string>(
            $"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '{schema}.t'::regclass AND attname = 'name'"));
    }

    [Fact]
    public async Task A_tables_columns_come_in_table_order_with_the_key_marked()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (z text, id int, amount numeric(10,2), PRIMARY KEY (id))");

        await using var factory = Api();
        using var api = Client(factory);
        var columns = await api.GetFromJsonAsync<List<ObjectColumn>>($"/api/engines/{Engine}/schemas/{schema}/tables/t/columns");

        Assert.Equal([new ObjectColumn(1, "z", "text", false), new ObjectColumn(2, "id", "integer", true), new ObjectColumn(3, "amount", "numeric(10,2)", false)], columns);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await api.GetAsync($"/api/engines/{Engine}/schemas/{schema}/tables/nope/columns")).StatusCode);
    }

    [Fact]
    public async Task Change_entries_carry_their_kind_so_clients_need_not_infer_it()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        // (1,apple) and (2,orange) exist: one insert, one update, one delete, and a key change (a delete and an insert).
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'kiwi'); UPDATE {schema}.fruits SET name = 'pear' WHERE fruit_id = 1; " +
                           $"DELETE FROM {schema}.fruits WHERE fruit_id = 2; UPDATE {schema}.fruits SET fruit_id = 4 WHERE fruit_id = 3");

        await using var factory = Api();
        using var api = Client(factory);
        var json = await api.GetStringAsync($"/api/engines/{Engine}/schemas/{schema}/tables/fruits/changes");
        output.WriteLine(json);
        using var page = System.Text.Json.JsonDocument.Parse(json);
        var kinds = page.RootElement.GetProperty("entries").EnumerateArray()
            .Select(e => (Key: e.GetProperty("primaryKey").GetProperty("fruit_id").GetInt32(), Kind: e.GetProperty("kind").GetString())).ToList();

        Assert.Equal([(3, "Insert"), (1, "Update"), (2, "Delete"), (3, "Delete"), (4, "Insert")], kinds);
        var typed = System.Text.Json.JsonSerializer.Deserialize<ChangePage>(json, System.Text.Json.JsonSerializerOptions.Web)!;
        Assert.Equal([ChangeKind.Insert, ChangeKind.Update, ChangeKind.Delete, ChangeKind.Delete, ChangeKind.Insert], typed.Entries.Select(e => e.Kind));
    }

    private static async Task<long> RowsOfAsync(HttpClient api, string schema, string table) =>
        (await api.GetFromJsonAsync<List<TableInfo>>($"/api/engines/{Engine}/tables?schema={schema}"))!.Single(t => t.Table == table).RowEstimate;

    private ApiFactory Api(CapturingLoggerProvider? logs = null, params (string Key, string Value)[] settings) =>
        new(
            [($"ConnectionStrings:{Engine}", Db.Endpoint.ConnectionString), ("Engine:ApiKey", ApiKey), .. settings],
            logs is null ? null : web => web.ConfigureLogging(logging => logging.AddProvider(logs)));

    private static HttpClient Client(WebApplicationFactory<Program> factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    /// <summary>Keeps every log entry that passes the app's filters.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
