using System.Net;
using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests.Api;

/// <summary>Change tracking routes through the running topology.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TrackingApiTests(TopologyFixture topology)
{
    private readonly string _schema = "trk_" + Guid.NewGuid().ToString("N")[..8];

    private async Task CreateFruitsAsync(bool primaryKey = true) => await topology.ExecAsync("local",
        $"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.fruits (fruit_id int{(primaryKey ? " PRIMARY KEY" : "")}, name varchar); " +
        $"INSERT INTO {_schema}.fruits VALUES (1, 'apple'), (2, 'orange');");

    private string Engine => "/api/engines/local";

    [Fact]
    public async Task Track_change_read_discard_untrack()
    {
        await CreateFruitsAsync();
        var tables = new TablesRequest([new TableRef(_schema, "fruits")]);

        var tracked = await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync($"{Engine}/tracked-tables", tables));
        Assert.Contains(new TableRef(_schema, "fruits"), tracked);
        var listed = await topology.GetJsonAsync<List<TableInfo>>($"{Engine}/tables?schema={_schema}");
        Assert.True(Assert.Single(listed).Tracked);
        Assert.Equal(["fruit_id"], listed[0].PrimaryKey);

        await topology.ExecAsync("local",
            $"INSERT INTO {_schema}.fruits VALUES (3, 'mayonnaise'); DELETE FROM {_schema}.fruits WHERE fruit_id = 1; UPDATE {_schema}.fruits SET name = 'guitar' WHERE fruit_id = 2;");

        var aggregate = await topology.GetJsonAsync<AggregateChanges>($"{Engine}/schemas/{_schema}/tables/fruits/changes?aggregate=true");
        Assert.Equal(new AggregateChanges(1, 1, 1), aggregate);

        var schemaChanges = await topology.GetJsonAsync<SchemaChanges>($"{Engine}/schemas/{_schema}/changes");
        Assert.True(schemaChanges.HasPendingChanges);
        Assert.Equal(["fruits"], schemaChanges.ChangedTables);

        var page = await topology.GetJsonAsync<ChangePage>($"{Engine}/schemas/{_schema}/tables/fruits/changes?limit=2");
        Assert.Equal(2, page.Entries.Count);
        Assert.NotNull(page.NextAfter);
        Assert.Equal(3, page.Entries[0].PrimaryKey.GetProperty("fruit_id").GetInt32());
        Assert.Equal("mayonnaise", page.Entries[0].NewRow!.Value.GetProperty("name").GetString());
        var rest = await topology.GetJsonAsync<ChangePage>($"{Engine}/schemas/{_schema}/tables/fruits/changes?after={page.NextAfter}&limit=2");
        var update = Assert.Single(rest.Entries);
        Assert.Equal("orange", update.OldRow!.Value.GetProperty("name").GetString());
        Assert.Equal("guitar", update.NewRow!.Value.GetProperty("name").GetString());
        Assert.Null(rest.NextAfter);

        var net = await topology.GetJsonAsync<ChangePage>($"{Engine}/schemas/{_schema}/tables/fruits/changes?net=true");
        Assert.Equal(3, net.Entries.Count);

        var discarded = await ApiAssert.OkAsync<DiscardResult>(await topology.Api.DeleteAsync($"{Engine}/schemas/{_schema}/changes?table=fruits"));
        Assert.Equal(3, discarded.Discarded);
        Assert.False((await topology.GetJsonAsync<SchemaChanges>($"{Engine}/schemas/{_schema}/changes")).HasPendingChanges);

        await topology.ExecAsync("local", $"UPDATE {_schema}.fruits SET name = 'lemon' WHERE fruit_id = 3;");
        var untracked = await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync($"{Engine}/tracked-tables/untrack", tables));
        Assert.DoesNotContain(new TableRef(_schema, "fruits"), untracked);
        Assert.False((await topology.GetJsonAsync<SchemaChanges>($"{Engine}/schemas/{_schema}/changes")).HasPendingChanges);
    }

    [Fact]
    public async Task Table_dump_is_sql_that_recreates_the_rows()
    {
        await CreateFruitsAsync();
        await topology.ExecAsync("local", $"INSERT INTO {_schema}.fruits VALUES (3, 'it''s \"quoted\" ✓'), (4, NULL);");

        var response = await topology.Api.GetAsync($"{Engine}/schemas/{_schema}/tables/fruits/dump");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/sql", response.Content.Headers.ContentType?.MediaType);
        var sql = await response.Content.ReadAsStringAsync();

        await topology.ExecAsync("remote", $"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.fruits (fruit_id int PRIMARY KEY, name varchar);");
        await topology.ExecAsync("remote", sql);
        var query = $"SELECT fruit_id, name FROM {_schema}.fruits ORDER BY fruit_id";
        Assert.Equal(await topology.RowsAsync("local", query), await topology.RowsAsync("remote", query));
    }

    [Fact]
    public async Task Changes_of_an_untracked_table_are_a_409_problem()
    {
        await CreateFruitsAsync();
        await ApiAssert.ProblemAsync(await topology.Api.GetAsync($"{Engine}/schemas/{_schema}/tables/fruits/changes?aggregate=true"), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Net_changes_cancel_insert_then_delete()
    {
        await CreateFruitsAsync();
        await topology.Api.PostAsync($"{Engine}/tracked-tables", new TablesRequest([new TableRef(_schema, "fruits")]));
        await topology.ExecAsync("local", $"INSERT INTO {_schema}.fruits VALUES (4, 'kiwi'); UPDATE {_schema}.fruits SET name = 'KIWI' WHERE fruit_id = 4; DELETE FROM {_schema}.fruits WHERE fruit_id = 4;");

        var net = await topology.GetJsonAsync<ChangePage>($"{Engine}/schemas/{_schema}/tables/fruits/changes?net=true");
        Assert.Empty(net.Entries);
        var raw = await topology.GetJsonAsync<ChangePage>($"{Engine}/schemas/{_schema}/tables/fruits/changes");
        Assert.Equal(3, raw.Entries.Count);
        Assert.Equal(JsonValueKind.Number, raw.Entries[0].PrimaryKey.GetProperty("fruit_id").ValueKind);
    }

    [Fact]
    public async Task A_bulk_load_reads_back_row_by_row_through_the_cursor_and_commits()
    {
        await CreateFruitsAsync();
        await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync($"{Engine}/tracked-tables", new TablesRequest([new TableRef(_schema, "fruits")])));
        // Over 1,000 rows in one statement: past the first 1,000 the log holds keys in bulk entries.
        await topology.ExecAsync("local", $"INSERT INTO {_schema}.fruits SELECT g, 'fruit ' || g FROM generate_series(3, 2502) g");
        Assert.Equal(new AggregateChanges(2_500, 0, 0),
            await topology.GetJsonAsync<AggregateChanges>($"{Engine}/schemas/{_schema}/tables/fruits/changes?aggregate=true"));

        foreach (var net in new[] { false, true })
        {
            var seen = new List<ChangeEntry>();
            long? after = 0;
            while (after is { } cursor)
            {
                var page = await topology.GetJsonAsync<ChangePage>($"{Engine}/schemas/{_schema}/tables/fruits/changes?net={net}&after={cursor}&limit=700");
                seen.AddRange(page.Entries);
                after = page.NextAfter;
            }

            Assert.Equal(Enumerable.Range(3, 2_500), seen.Select(e => e.PrimaryKey.GetProperty("fruit_id").GetInt32()));
            Assert.All(seen, e => Assert.Equal($"fruit {e.PrimaryKey.GetProperty("fruit_id").GetInt32()}", e.NewRow!.Value.GetProperty("name").GetString()));
        }

        var commit = await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"{Engine}/schemas/{_schema}/tables/fruits/commit", new { }));
        Assert.Equal((2_500L, 0L), (commit.Upserts, commit.Deletes));
        Assert.False((await topology.GetJsonAsync<SchemaChanges>($"{Engine}/schemas/{_schema}/changes")).HasPendingChanges);
    }
}
