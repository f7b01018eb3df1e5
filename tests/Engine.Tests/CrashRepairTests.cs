using System.Net;
using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// What a crash can leave — a catalogue row without its table, an object table without its row, a staging table, a
/// transfer's foreign server and schema — is refused before a read starts (never a 200 that breaks off) and removed
/// by the next initialisation, which reports each repair; healthy objects are untouched.
/// </summary>
public sealed class CrashRepairTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    [Fact]
    public async Task Leftovers_are_refused_before_reads_start_and_repaired_at_initialisation()
    {
        await using var api = ApiHost.Start(("ConnectionStrings:db", Db.Endpoint.ConnectionString));
        using var client = api.Client();
        Assert.True((await client.GetAsync("/api/engines")).IsSuccessStatusCode);

        var schema = await Db.NewSchemaAsync("crash");
        var rowOnly = await Objects.FromRowsAsync(Db, schema, "id int PRIMARY KEY, v text", "(1, 'row only', true)");
        var tableOnly = await Objects.FromRowsAsync(Db, schema, "id int PRIMARY KEY, v text", "(2, 'table only', true)");
        var healthy = await Objects.FromRowsAsync(Db, schema, "id int PRIMARY KEY, v text", "(3, 'healthy', true)");
        await Db.ExecAsync($"DROP TABLE splitgraph_meta.\"{rowOnly}\"");
        await Db.ExecAsync("DELETE FROM splitgraph_meta.objects WHERE object_id = $1", tableOnly);
        await Db.ExecAsync(
            """
            CREATE TABLE splitgraph_meta.sg_staging_0123456789abcdef (id int, sg_ud_flag boolean);
            CREATE SERVER sg_fdw_server_dead_0 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'localhost', dbname 'nowhere');
            CREATE SCHEMA sg_fdw_dead_0;
            CREATE FOREIGN TABLE sg_fdw_dead_0.t (id int) SERVER sg_fdw_server_dead_0;
            """);

        // Checked before the response starts: a problem, not a 200 that breaks off mid-stream.
        var dump = await client.GetAsync($"/api/engines/db/objects/{rowOnly}/dump");
        Assert.Equal(HttpStatusCode.Conflict, dump.StatusCode);
        Assert.Equal("application/problem+json", dump.Content.Headers.ContentType?.MediaType);
        Assert.Contains(rowOnly, await dump.Content.ReadAsStringAsync());

        IReadOnlyList<string> repaired;
        await using (var engine = Db.Engine())
        {
            repaired = await engine.InitializeAsync();
        }

        Assert.Contains(repaired, r => r.Contains(rowOnly) && r.Contains("catalogue row"));
        Assert.Contains(repaired, r => r.Contains(tableOnly) && r.Contains("without a catalogue row"));
        Assert.Contains(repaired, r => r.Contains("sg_staging_0123456789abcdef"));
        Assert.Contains(repaired, r => r.Contains("sg_fdw_dead_0"));
        Assert.Contains(repaired, r => r.Contains("sg_fdw_server_dead_0"));

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = $1", rowOnly));
        Assert.False(await Db.ScalarAsync<bool>("SELECT to_regclass(format('splitgraph_meta.%I', $1::text)) IS NOT NULL", tableOnly));
        Assert.False(await Db.ScalarAsync<bool>("SELECT to_regclass('splitgraph_meta.sg_staging_0123456789abcdef') IS NOT NULL"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'sg_fdw_dead_0'"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_foreign_server WHERE srvname = 'sg_fdw_server_dead_0'"));
        Assert.Equal(["(3,healthy,t)"], await Db.RowsAsync($"splitgraph_meta.\"{healthy}\""));

        var again = await client.GetAsync($"/api/engines/db/objects/{rowOnly}/dump");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        var healthyDump = await client.GetAsync($"/api/engines/db/objects/{healthy}/dump");
        Assert.True(healthyDump.IsSuccessStatusCode);
        Assert.Contains("healthy", await healthyDump.Content.ReadAsStringAsync());

        // A second initialisation finds nothing left to repair.
        await using var second = Db.Engine();
        Assert.Empty(await second.InitializeAsync());
    }
}
