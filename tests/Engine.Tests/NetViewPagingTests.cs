using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Engine.Tests;

/// <summary>
/// Paging of the net view through its cache (issue 17): pages by cursor and by offset are complete, ordered and
/// non-overlapping, carry the view's exact total, and are slices of one view per log state; the view itself equals
/// the table's base with the live table's differences. Set SG_NETVIEW_SEED to replay a seed.
/// </summary>
public sealed class NetViewPagingTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Pages_concatenate_to_the_whole_net_view_which_is_base_to_live(int round)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SG_NETVIEW_SEED"), out var fixedSeed) ? fixedSeed : Environment.TickCount + round;
        output.WriteLine($"seed {seed} (SG_NETVIEW_SEED={seed} replays it)");
        var random = new Random(seed);
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text, w int); INSERT INTO {schema}.t SELECT g, 'base' || g, g FROM generate_series(1, 300) g");
        await Db.ExecAsync($"CREATE TABLE {schema}.base AS SELECT * FROM {schema}.t");
        await Objects.TrackAsync(Db, schema, "t");

        var statements = Enumerable.Range(0, random.Next(20, 60)).Select(_ => Statement(random, schema)).ToList();
        output.WriteLine("statements:\n" + string.Join("\n", statements));
        foreach (var statement in statements)
        {
            await Db.ExecAsync(statement);
        }

        var cache = new NetViewCache();
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        // The whole view as one page of the uncached path (its own SQL, rows and all): the oracle of the cached pages.
        var whole = await changes.GetNetChangesAsync(schema, "t", 0, 10_000);
        Assert.True(whole.Entries.Count < 10_000);

        // Random page sizes, by cursor and by offset in turn: same entries, same order, no overlap, exact totals throughout.
        var pages = new List<ChangeEntry>();
        long after = 0;
        var pageSizes = new List<int>();
        while (true)
        {
            var size = random.Next(1, 40);
            pageSizes.Add(size);
            // The first page by offset computes the view; cursor pages are slices of it once it is held.
            var byOffset = pageSizes.Count % 2 == 1;
            var page = await changes.GetNetChangesAsync(schema, "t",
                byOffset ? new NetPageRequest(0, size, pages.Count) : new NetPageRequest(after, size), null, cache, "e", default);
            Assert.Equal(whole.Entries.Count, page.Total);
            Assert.Equal(pages.Count, page.Offset);
            pages.AddRange(page.Entries);
            if (page.NextAfter is not { } next)
            {
                break;
            }

            Assert.True(next > after, $"cursor went from {after} to {next}");
            after = next;
        }

        output.WriteLine($"page sizes {string.Join(",", pageSizes)}");

        // The raw log by offset, in random page sizes: the same entries as read by cursor, and its exact total.
        var rawAll = new List<ChangeEntry>();
        for (ChangePage? read = null; read is null || read.NextAfter is not null;)
        {
            read = await changes.GetPendingChangesAsync(schema, "t", read?.NextAfter ?? 0, 10_000);
            rawAll.AddRange(read.Entries);
        }

        var rawPages = new List<ChangeEntry>();
        while (true)
        {
            var page = await changes.GetPendingChangesAtAsync(schema, "t", rawPages.Count, random.Next(1, 600), null, cache, "e");
            Assert.Equal(rawAll.Count, page.Total);
            if (page.Entries.Count == 0)
            {
                break;
            }

            rawPages.AddRange(page.Entries);
        }

        Assert.Equal(Describe(rawAll), Describe(rawPages));
        Assert.Equal(Describe(whole.Entries), Describe(pages));
        Assert.Equal(pages.Count, pages.Select(e => e.PrimaryKey.GetRawText()).Distinct().Count());
        // One pass over the log served every page of each view (net, raw).
        Assert.Equal(2, cache.Computed);

        // The view is the difference between base and live table, key by key.
        var baseRows = await RowsByIdAsync($"{schema}.base");
        var liveRows = await RowsByIdAsync($"{schema}.t");
        var expected = baseRows.Keys.Union(liveRows.Keys)
            .Where(id => !(baseRows.TryGetValue(id, out var b) && liveRows.TryGetValue(id, out var l) && JsonNode.DeepEquals(b, l)))
            .Order().ToList();
        Assert.Equal(expected, pages.Select(e => e.PrimaryKey.GetProperty("id").GetInt32()).Order().ToList());
        foreach (var entry in pages)
        {
            var id = entry.PrimaryKey.GetProperty("id").GetInt32();
            Assert.Equal(liveRows.ContainsKey(id), entry.Upserted);
            AssertRow(baseRows.GetValueOrDefault(id), entry.OldRow, $"old row of {id}");
            AssertRow(liveRows.GetValueOrDefault(id), entry.NewRow, $"new row of {id}");
        }
    }

    [Fact]
    public async Task A_new_change_makes_a_new_view_and_later_pages_read_it()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(1, 10) g");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 1 WHERE id <= 6");
        var cache = new NetViewCache();

        async Task<ChangePage> PageAsync(NetPageRequest request)
        {
            await using var engine = Db.Engine();
            return await new ChangeEngine(engine).GetNetChangesAsync(schema, "t", request, null, cache, "e", default);
        }

        var first = await PageAsync(new NetPageRequest(0, 3, Offset: 0));
        var second = await PageAsync(new NetPageRequest(first.NextAfter!.Value, 3));
        Assert.Equal((6L, 6L), (first.Total!.Value, second.Total!.Value));
        Assert.Null(second.NextAfter);
        Assert.Equal(1, cache.Computed);

        // A writer deletes key 9: the next read sees it in a new view (one more computation), at the end of the order.
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE id = 9");
        var third = await PageAsync(new NetPageRequest(0, 3, Offset: 6));
        Assert.Equal(7, third.Total);
        var deleted = Assert.Single(third.Entries);
        Assert.False(deleted.Upserted);
        Assert.Equal(9, deleted.PrimaryKey.GetProperty("id").GetInt32());
        Assert.Equal(2, cache.Computed);

        // A commit empties the log: the cached view is not served for it.
        await Objects.CommitAsync(Db, schema, "t");
        var empty = await PageAsync(new NetPageRequest(0, 3, Offset: 0));
        Assert.Empty(empty.Entries);
        Assert.Equal(0, empty.Total);
    }

    [Fact]
    public async Task Jump_to_key_gives_the_aligned_page_that_holds_it()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"""
            CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(1, 100) g;
            CREATE TABLE {schema}.s (code text PRIMARY KEY, v int); INSERT INTO {schema}.s VALUES ('5', 0), ('abc', 0);
            CREATE TABLE {schema}.two (a int, b text, v int, PRIMARY KEY (a, b)); INSERT INTO {schema}.two VALUES (1, 'x', 0);
            """);
        foreach (var table in new[] { "t", "s", "two" })
        {
            await Objects.TrackAsync(Db, schema, table);
        }

        // Updated in id order 1…100: key 47 is the 47th entry, on the page at offset 40 for pages of 10.
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 1; UPDATE {schema}.s SET v = 1; UPDATE {schema}.two SET v = 1;");
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        var cache = new NetViewCache();
        Task<ChangePage> Jump(string table, string key, int limit = 10) =>
            changes.GetNetChangesAsync(schema, table, new NetPageRequest(0, limit, Key: key), null, cache, "e", default);

        var page = await Jump("t", "47");
        Assert.Equal(40, page.Offset);
        Assert.Contains(page.Entries, e => e.PrimaryKey.GetProperty("id").GetInt32() == 47);
        Assert.Equal(40, (await Jump("t", """{ "id" : 47 }""")).Offset);
        Assert.Equal(100, page.Total);

        // A text key reads a bare value as text too ('5' is a JSON number but the key is the text "5").
        Assert.Equal("5", Assert.Single((await Jump("s", "5", 1)).Entries).PrimaryKey.GetProperty("code").GetString());
        Assert.Equal("abc", Assert.Single((await Jump("s", "abc", 1)).Entries).PrimaryKey.GetProperty("code").GetString());
        Assert.Single((await Jump("two", """{"b": "x", "a": 1}""")).Entries);

        var missing = await Assert.ThrowsAsync<KeyNotPendingException>(() => Jump("t", "1000"));
        Assert.Contains("1000", missing.Message);
        Assert.Equal(404, missing.StatusCode);
        var bare = await Assert.ThrowsAsync<InvalidInputException>(() => Jump("two", "1"));
        Assert.Contains("(a, b)", bare.Message);
    }

    [Fact]
    public async Task The_route_pages_the_net_view_by_offset_and_key_and_names_bad_input()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(1, 30) g");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 1");
        await using var api = ApiHost.Start(("ConnectionStrings:db", Db.Endpoint.ConnectionString));
        using var client = api.Client();
        var path = $"/api/engines/db/schemas/{schema}/tables/t/changes";

        var page = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<ChangePage>(client, $"{path}?net=true&offset=20&limit=7");
        Assert.Equal((30L, 20L, 7), (page!.Total!.Value, page.Offset!.Value, page.Entries.Count));
        Assert.Equal(21, page.Entries[0].PrimaryKey.GetProperty("id").GetInt32());
        var raw = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<ChangePage>(client, $"{path}?offset=20&limit=7");
        Assert.Equal((30L, 20L, 21), (raw!.Total!.Value, raw.Offset!.Value, raw.Entries[0].PrimaryKey.GetProperty("id").GetInt32()));
        var jumped = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<ChangePage>(client, $"{path}?net=true&limit=7&key={Uri.EscapeDataString("{\"id\": 16}")}");
        Assert.Equal(14, jumped!.Offset);

        foreach (var (query, status, says) in new[]
                 {
                     ("net=true&key=99", 404, "has the key 99"),
                     ("key=3", 400, "net=true"),
                     ("net=true&offset=-1", 400, "'offset' must not be negative"),
                 })
        {
            var response = await client.GetAsync($"{path}?{query}");
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(says, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_view_past_the_budget_is_never_held_cursor_pages_are_read_by_sql_and_offset_pages_are_refused()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(1, 30) g");
        await Db.ExecAsync($"CREATE TABLE {schema}.m (v text); INSERT INTO {schema}.m SELECT 'r' || g FROM generate_series(1, 3) g");
        await Objects.TrackAsync(Db, schema, "t");
        await Objects.TrackAsync(Db, schema, "m");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 1; INSERT INTO {schema}.m VALUES (repeat('x', 2000))");
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);

        // 30 entries against a budget of 10: a cursor page is read by SQL (no total) and computes no view.
        var small = new NetViewCache(maxEntries: 10);
        var first = await changes.GetNetChangesAsync(schema, "t", new NetPageRequest(0, 7), null, small, "e");
        Assert.Equal((7, (long?)null), (first.Entries.Count, first.Total));
        var second = await changes.GetNetChangesAsync(schema, "t", new NetPageRequest(first.NextAfter!.Value, 7), null, small, "e");
        Assert.Equal(8, second.Entries[0].PrimaryKey.GetProperty("id").GetInt32());
        Assert.Equal(0, small.Computed);

        // Offset and key pages need the whole view: refused, naming the way that works.
        foreach (var request in new[] { new NetPageRequest(0, 7, Offset: 14), new NetPageRequest(0, 7, Key: "16") })
        {
            var refused = await Assert.ThrowsAsync<NetViewTooLargeException>(() => changes.GetNetChangesAsync(schema, "t", request, null, small, "e"));
            Assert.Equal(422, refused.StatusCode);
            Assert.Contains("page with after=", refused.Message);
        }

        // One kept row of 2,000 characters weighs more than 10 units: a view of 4 entries is too large as well.
        await Assert.ThrowsAsync<NetViewTooLargeException>(() => changes.GetNetChangesAsync(schema, "m", new NetPageRequest(0, 2, Offset: 0), null, small, "e"));

        // Within the budget: the offset page computes the view once, and cursor pages are slices of it with the total.
        var large = new NetViewCache(maxEntries: 100);
        var byOffset = await changes.GetNetChangesAsync(schema, "t", new NetPageRequest(0, 7, Offset: 14), null, large, "e");
        Assert.Equal((30L, 15), (byOffset.Total!.Value, byOffset.Entries[0].PrimaryKey.GetProperty("id").GetInt32()));
        var byCursor = await changes.GetNetChangesAsync(schema, "t", new NetPageRequest(byOffset.NextAfter!.Value, 7), null, large, "e");
        Assert.Equal((30L, 21L, 22), (byCursor.Total!.Value, byCursor.Offset!.Value, byCursor.Entries[0].PrimaryKey.GetProperty("id").GetInt32()));
        Assert.Equal(1, large.Computed);
    }

    [Fact]
    public void The_cache_keeps_the_most_recently_used_views_within_its_budget()
    {
        var cache = new NetViewCache(maxEntries: 5);
        static NetView View(int entries) =>
            new("fingerprint", Enumerable.Range(0, entries).Select(i => new NetViewEntry(i, i, "{}", true, null, false)).ToList(), false);
        static LogViewKey Key(string table) => new("net", "e", "s", table, "{}", "1:0:0");
        cache.Put(Key("a"), View(2));
        cache.Put(Key("b"), View(2));
        Assert.NotNull(cache.Get(Key("a")));

        // 6 entries > 5: the least recently used view (b) goes.
        cache.Put(Key("c"), View(2));
        Assert.Null(cache.Get(Key("b")));
        Assert.NotNull(cache.Get(Key("a")));
        Assert.NotNull(cache.Get(Key("c")));

        // A view larger than the whole budget is not kept, and evicts nothing.
        cache.Put(Key("d"), View(6));
        Assert.Null(cache.Get(Key("d")));
        Assert.NotNull(cache.Get(Key("a")));
        Assert.NotNull(cache.Get(Key("c")));

        // Forgetting a table's views leaves another table whose name starts the same way.
        cache.Put(Key("t"), View(1));
        cache.Put(Key("t\nx"), View(1));
        cache.Forget(Key("t"));
        Assert.Null(cache.Get(Key("t")));
        Assert.NotNull(cache.Get(Key("t\nx")));
    }

    [Fact]
    public async Task A_primary_key_added_without_a_log_change_makes_a_new_view()
    {
        var schema = await Db.NewSchemaAsync();
        // json has no equality: without a primary key the change key is (id) alone, the same name as the key added below.
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int, doc json); INSERT INTO {schema}.t SELECT g, '{{}}' FROM generate_series(1, 3) g");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"UPDATE {schema}.t SET doc = '{{\"x\": 1}}' WHERE id = 1");
        var cache = new NetViewCache();

        async Task<ChangePage> PageAsync()
        {
            await using var engine = Db.Engine();
            return await new ChangeEngine(engine).GetNetChangesAsync(schema, "t", new NetPageRequest(0, 10, Offset: 0), null, cache, "e", default);
        }

        // A multiset: the old row's copy removed, the new one added, each the whole row.
        var multiset = await PageAsync();
        Assert.Equal(2, multiset.Entries.Count);
        Assert.All(multiset.Entries, e => Assert.True(e.PrimaryKey.TryGetProperty("doc", out _), e.PrimaryKey.GetRawText()));

        await Db.ExecAsync($"ALTER TABLE {schema}.t ADD PRIMARY KEY (id)");
        var keyed = await PageAsync();
        var entry = Assert.Single(keyed.Entries);
        Assert.Equal("{\"id\": 1}", entry.PrimaryKey.GetRawText());
        Assert.True(entry.Upserted);
        Assert.Equal(2, cache.Computed);
    }

    private static string Statement(Random random, string schema) => random.Next(8) switch
    {
        0 => $"INSERT INTO {schema}.t VALUES ({random.Next(301, 400)}, 'new', {random.Next(100)}) ON CONFLICT DO NOTHING",
        1 => $"UPDATE {schema}.t SET v = 'u{random.Next(3)}' WHERE id BETWEEN {random.Next(1, 400)} AND {random.Next(1, 400)}",
        2 => $"UPDATE {schema}.t SET w = w WHERE id = {random.Next(1, 400)}",
        3 => $"DELETE FROM {schema}.t WHERE id % {random.Next(7, 40)} = 0 AND id < {random.Next(1, 400)}",
        // Key changes into a free range and back.
        4 => random.Next(1, 400) is var id ? $"UPDATE {schema}.t SET id = id + 10000 WHERE id = {id} AND NOT EXISTS (SELECT 1 FROM {schema}.t x WHERE x.id = {id + 10000})" : "",
        5 => $"UPDATE {schema}.t SET id = id - 10000 WHERE id > 10000 AND id % {random.Next(1, 4)} = 0 AND NOT EXISTS (SELECT 1 FROM {schema}.t x WHERE x.id = t.id - 10000)",
        // A bulk insert: past 1,000 rows a statement logs keys only.
        6 => random.Next(0, 2) * 2_000 + 20_000 is var from ? $"INSERT INTO {schema}.t SELECT g, 'bulk', g FROM generate_series({from}, {from + 1_100}) g ON CONFLICT DO NOTHING" : "",
        _ => $"DELETE FROM {schema}.t WHERE id BETWEEN {random.Next(20_000, 23_100)} AND {random.Next(20_000, 23_100)}",
    };

    private async Task<Dictionary<int, JsonNode>> RowsByIdAsync(string table)
    {
        var rows = await Db.RowsAsync(table, "to_jsonb(t)");
        return rows.Select(r => JsonNode.Parse(r)!).ToDictionary(r => (int)r["id"]!, r => r);
    }

    private static void AssertRow(JsonNode? expected, JsonElement? actual, string what)
    {
        if (expected is null)
        {
            Assert.True(actual is null, $"{what}: expected none, got {actual}");
            return;
        }

        Assert.True(actual is not null, $"{what}: expected {expected.ToJsonString()}, got none");
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(actual.Value.GetRawText())), $"{what}: expected {expected.ToJsonString()}, got {actual}");
    }

    private static List<string> Describe(IEnumerable<ChangeEntry> entries) =>
        entries.Select(e => $"{e.EventId} {e.PrimaryKey.GetRawText()} {e.Upserted} {e.OldRow?.GetRawText()} {e.NewRow?.GetRawText()}").ToList();
}
