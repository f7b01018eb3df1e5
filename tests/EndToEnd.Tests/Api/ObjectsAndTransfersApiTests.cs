using System.Net;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests.Api;

/// <summary>Commit, objects and transfers through the running topology (spec scenarios 14 and 16).</summary>
[Collection(TopologyCollection.Name)]
public sealed class ObjectsAndTransfersApiTests(TopologyFixture topology)
{
    private readonly string _schema = "obj_" + Guid.NewGuid().ToString("N")[..8];

    private const string Columns = "(id int PRIMARY KEY, name text, price numeric(10,2), tags text[], doc jsonb, seen timestamptz)";

    private async Task<CommitResult> CommitChangesOnLocalAsync()
    {
        await topology.ExecAsync("local", $"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.items {Columns}; " +
            $"INSERT INTO {_schema}.items VALUES (1, 'one', 1.50, '{{a,b}}', '{{\"k\": 1}}', '2024-01-02 03:04:05+00'), (2, 'two', 2, NULL, NULL, NULL);");
        await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync("/api/engines/local/tracked-tables",
            new TablesRequest([new TableRef(_schema, "items")])));
        await topology.ExecAsync("local",
            $"INSERT INTO {_schema}.items VALUES (3, 'it''s ✓', 3.25, '{{}}', '[1, \"x\"]', now()); UPDATE {_schema}.items SET name = 'TWO' WHERE id = 2; DELETE FROM {_schema}.items WHERE id = 1;");
        return await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"/api/engines/local/schemas/{_schema}/tables/items/commit", new { }));
    }

    [Fact]
    public async Task Track_change_commit_upload_apply_gives_the_same_table_on_remote()
    {
        // The remote starts from the table as it was before the changes.
        await topology.ExecAsync("remote", $"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.items {Columns}; " +
            $"INSERT INTO {_schema}.items VALUES (1, 'one', 1.50, '{{a,b}}', '{{\"k\": 1}}', '2024-01-02 03:04:05+00'), (2, 'two', 2, NULL, NULL, NULL);");
        var commit = await CommitChangesOnLocalAsync();
        Assert.True(commit.Created);
        Assert.Equal(2, commit.Upserts);
        Assert.Equal(1, commit.Deletes);
        Assert.Matches("^o[0-9a-f]{62}$", commit.ObjectId);
        Assert.Equal(0, (await topology.GetJsonAsync<AggregateChanges>($"/api/engines/local/schemas/{_schema}/tables/items/changes?aggregate=true")).Added);

        var schema = await topology.GetJsonAsync<List<ObjectColumn>>($"/api/engines/local/objects/{commit.ObjectId}/schema");
        Assert.Equal(["id", "name", "price", "tags", "doc", "seen", "sg_ud_flag"], schema.Select(c => c.Name));
        Assert.True(schema[0].IsPrimaryKey);
        Assert.Equal("numeric(10,2)", schema[2].Type);

        var upload = await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/upload",
            new TransferRequest([commit.ObjectId!], "remote")));
        Assert.Equal([commit.ObjectId!], upload.Transferred);
        var again = await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/upload",
            new TransferRequest([commit.ObjectId!], "remote")));
        Assert.Equal([commit.ObjectId!], again.Skipped);

        var applied = await ApiAssert.OkAsync<ApplyResult>(await topology.Api.PostAsync("/api/engines/remote/objects/apply",
            new ApplyRequest([commit.ObjectId!], _schema, "items", null)));
        Assert.Equal(2, applied.Upserted);

        var query = $"SELECT id, name, price, tags, doc::text, seen FROM {_schema}.items ORDER BY id";
        Assert.Equal(await topology.RowsAsync("local", query), await topology.RowsAsync("remote", query));
    }

    [Fact]
    public async Task A_partitioned_table_written_through_its_partitions_arrives_whole_on_a_partitioned_remote()
    {
        const string create = "CREATE TABLE {0}.events (id int, at date, what text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at); " +
            "CREATE TABLE {0}.events_2024 PARTITION OF {0}.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01'); " +
            "CREATE TABLE {0}.events_2025 PARTITION OF {0}.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01'); " +
            "INSERT INTO {0}.events VALUES (1, '2024-03-01', 'a'), (2, '2025-03-01', 'b');";
        foreach (var engine in new[] { "local", "remote" })
        {
            await topology.ExecAsync(engine, $"CREATE SCHEMA {_schema}; " + string.Format(System.Globalization.CultureInfo.InvariantCulture, create, _schema));
        }

        var tracked = await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync("/api/engines/local/tracked-tables",
            new TablesRequest([new TableRef(_schema, "events")])));
        Assert.Equal([new TableRef(_schema, "events")], tracked.Where(t => t.Schema == _schema));
        var partition = await topology.Api.PostAsync("/api/engines/local/tracked-tables", new TablesRequest([new TableRef(_schema, "events_2024")]));
        Assert.Contains("track the partitioned table", (await ApiAssert.ProblemAsync(partition, HttpStatusCode.BadRequest)).Detail);

        // Through a partition, through the root, and a row moved from 2024 to 2025.
        await topology.ExecAsync("local",
            $"INSERT INTO {_schema}.events_2025 VALUES (3, '2025-05-01', 'c'); UPDATE {_schema}.events SET at = at + 365 WHERE id = 1; " +
            $"DELETE FROM {_schema}.events_2025 WHERE id = 2;");
        Assert.Equal(new AggregateChanges(2, 2, 0),
            await topology.GetJsonAsync<AggregateChanges>($"/api/engines/local/schemas/{_schema}/tables/events/changes?aggregate=true"));
        var commit = await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"/api/engines/local/schemas/{_schema}/tables/events/commit", new { }));
        Assert.Equal((2L, 2L), (commit.Upserts, commit.Deletes));
        await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/upload", new TransferRequest([commit.ObjectId!], "remote")));
        await ApiAssert.OkAsync<ApplyResult>(await topology.Api.PostAsync("/api/engines/remote/objects/apply", new ApplyRequest([commit.ObjectId!], _schema, "events", null)));
        var query = $"SELECT tableoid::regclass::text, id, at, what FROM {_schema}.events ORDER BY id";
        Assert.Equal(await topology.RowsAsync("local", query), await topology.RowsAsync("remote", query));

        // A partition detached while tracked: its rows left unlogged, so commits answer 409 until a snapshot commit.
        await topology.ExecAsync("local", $"ALTER TABLE {_schema}.events DETACH PARTITION {_schema}.events_2024;");
        var refused = await ApiAssert.ProblemAsync(
            await topology.Api.PostAsync($"/api/engines/local/schemas/{_schema}/tables/events/commit", new { }), HttpStatusCode.Conflict);
        Assert.Contains($"detached or dropped (their rows left without being logged): {_schema}.events_2024", refused.Detail);
        var snapshot = await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"/api/engines/local/schemas/{_schema}/tables/events/commit?snapshot=true", new { }));
        Assert.Equal(2L, snapshot.Upserts);
        await topology.ExecAsync("local", $"UPDATE {_schema}.events SET what = 'c!' WHERE id = 3;");
        Assert.Equal(1L, (await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"/api/engines/local/schemas/{_schema}/tables/events/commit", new { }))).Upserts);
    }

    [Fact]
    public async Task Download_brings_back_a_deleted_object_and_reports_missing_ones()
    {
        var commit = await CommitChangesOnLocalAsync();
        var id = commit.ObjectId!;
        await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/upload", new TransferRequest([id], "remote")));
        var rowsQuery = $"SELECT * FROM splitgraph_meta.\"{id}\" ORDER BY id";
        var before = await topology.RowsAsync("local", rowsQuery);

        var deleted = await ApiAssert.OkAsync<DeleteObjectsResult>(await topology.Api.PostAsync("/api/engines/local/objects/delete", new ObjectIdsRequest([id])));
        Assert.Equal([id], deleted.Deleted);
        await ApiAssert.ProblemAsync(await topology.Api.GetAsync($"/api/engines/local/objects/{id}"), HttpStatusCode.NotFound);

        var unknown = "o" + new string('a', 62);
        // With the content check: the arrived rows are re-hashed against the ID before the object is kept.
        var download = await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/download",
            new TransferRequest([unknown, id], "remote", Verify: true)));
        Assert.Equal([id], download.Transferred);
        Assert.Equal([unknown], download.Missing);
        Assert.Equal(before, await topology.RowsAsync("local", rowsQuery));
        Assert.Empty(await topology.RowsAsync("local", "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sg_fdw_%'"));
        Assert.Empty(await topology.RowsAsync("local", "SELECT srvname FROM pg_foreign_server"));

        var detail = await topology.GetJsonAsync<ObjectDetail>($"/api/engines/local/objects/{id}");
        Assert.Equal(3, detail.RowCount);
    }

    [Fact]
    public async Task Object_dump_recreates_the_object_on_another_engine()
    {
        var commit = await CommitChangesOnLocalAsync();
        var id = commit.ObjectId!;
        var response = await topology.Api.GetAsync($"/api/engines/local/objects/{id}/dump");
        Assert.Equal("application/sql", response.Content.Headers.ContentType?.MediaType);
        var sql = await response.Content.ReadAsStringAsync();

        await topology.ExecAsync("remote", $"DELETE FROM splitgraph_meta.objects WHERE object_id = '{id}'; DROP TABLE IF EXISTS splitgraph_meta.\"{id}\";");
        await topology.ExecAsync("remote", sql);

        var size = await topology.GetJsonAsync<Dictionary<string, object>>($"/api/engines/remote/objects/{id}/size");
        Assert.True(long.Parse(size["sizeBytes"].ToString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        var rowsQuery = $"SELECT * FROM splitgraph_meta.\"{id}\" ORDER BY id";
        Assert.Equal(await topology.RowsAsync("local", rowsQuery), await topology.RowsAsync("remote", rowsQuery));
        var objects = await topology.GetJsonAsync<List<ObjectInfo>>("/api/engines/remote/objects");
        Assert.Contains(objects, o => o.ObjectId == id && o.RowCount == 3);
    }
}
