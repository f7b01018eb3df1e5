using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// An object's catalogue entry on the other engine is not trusted: its column types are resolved on the receiving
/// engine, and an entry whose types do not resolve to themselves is refused before anything is created.
/// </summary>
public sealed class HostileCatalogueTests(TwoDatabasesFixture fixture) : IClassFixture<TwoDatabasesFixture>
{
    private const string Injection = "int); CREATE TABLE public.pwned AS SELECT current_user; --";

    private TestDatabase Local => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    [Theory]
    [InlineData(Injection)]
    [InlineData("int) ; CREATE TABLE public.pwned (x int); CREATE TABLE splitgraph_meta.x (y int")]
    [InlineData("integer -- comment")]
    [InlineData("int")]
    [InlineData("no_such_type")]
    public async Task Download_refuses_an_object_whose_spec_types_do_not_resolve(string hostileType)
    {
        // An empty object: with no rows, the row-count check alone cannot notice a table that came out wrong.
        var id = await EmptyObjectAsync(Remote);
        await Remote.ExecAsync(
            "UPDATE splitgraph_meta.objects SET schema_spec = jsonb_set(schema_spec, '{0,type}', to_jsonb($2::text)) WHERE object_id = $1",
            id, hostileType);

        var refused = await Assert.ThrowsAsync<InvalidObjectSpecException>(() =>
            new ObjectTransfers(Local.Endpoint, Remote.Endpoint).DownloadObjectsAsync([id]));
        Assert.InRange(refused.StatusCode, 400, 499);
        Assert.Contains(id, refused.Message);

        Assert.False(await Local.ScalarAsync<bool>("SELECT to_regclass('public.pwned') IS NOT NULL"));
        Assert.False(await Local.ScalarAsync<bool>("SELECT to_regclass('splitgraph_meta.x') IS NOT NULL"));
        Assert.False(await Local.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM splitgraph_meta.objects WHERE object_id = $1)", id));
        Assert.False(await Local.ScalarAsync<bool>("SELECT to_regclass(format('splitgraph_meta.%I', $1::text)) IS NOT NULL", id));
    }

    [Fact]
    public async Task Upload_refuses_a_local_object_whose_spec_types_do_not_resolve()
    {
        var id = await EmptyObjectAsync(Local);
        await Local.ExecAsync(
            "UPDATE splitgraph_meta.objects SET schema_spec = jsonb_set(schema_spec, '{0,type}', to_jsonb($2::text)) WHERE object_id = $1",
            id, Injection);

        var refused = await Assert.ThrowsAsync<InvalidObjectSpecException>(() =>
            new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([id]));
        Assert.Contains(id, refused.Message);
        Assert.False(await Remote.ScalarAsync<bool>("SELECT to_regclass('public.pwned') IS NOT NULL"));
        Assert.False(await Remote.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM splitgraph_meta.objects WHERE object_id = $1)", id));
    }

    [Fact]
    public async Task An_object_dump_takes_its_types_from_the_table_and_refuses_a_poisoned_entry()
    {
        var id = await EmptyObjectAsync(Local);
        await using (var engine = Local.Engine())
        {
            using var sql = new StringWriter();
            await new ObjectEngine(engine).DumpObjectAsync(id, sql);
            Assert.Contains(" integer, ", sql.ToString());
        }

        await Local.ExecAsync(
            "UPDATE splitgraph_meta.objects SET schema_spec = jsonb_set(schema_spec, '{0,type}', to_jsonb($2::text)) WHERE object_id = $1",
            id, Injection);
        await using var again = Local.Engine();
        var refused = await Assert.ThrowsAsync<InvalidObjectSpecException>(() => new ObjectEngine(again).DumpObjectAsync(id, TextWriter.Null));
        Assert.Contains(id, refused.Message);
    }

    [Fact]
    public async Task Types_with_modifiers_and_arrays_still_transfer_both_ways()
    {
        var schema = await Remote.NewSchemaAsync("types");
        await Remote.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int PRIMARY KEY, v varchar(20), n numeric(14,4), at timestamp(3), atz timestamptz(2), b bit(3),
                                     span interval day to second(2), ns numeric(5,2)[], c char(4), u uuid);
            INSERT INTO {schema}.t VALUES (1, 'x', 1.5, '2024-01-01 00:00:00.123', '2024-01-01 00:00:00.12+00', B'101', '1 day 00:00:01.25', ARRAY[1.25], 'ab', NULL)
            """);
        var id = (await Objects.CommitAsync(Remote, schema, "t", snapshot: true)).ObjectId!;

        var down = await new ObjectTransfers(Local.Endpoint, Remote.Endpoint, verifyContent: true).DownloadObjectsAsync([id]);
        Assert.Equal([id], down.Transferred);
        await Remote.ExecAsync("DELETE FROM splitgraph_meta.objects WHERE object_id = $1", id);
        await Remote.ExecAsync($"DROP TABLE splitgraph_meta.\"{id}\"");
        var up = await new ObjectTransfers(Local.Endpoint, Remote.Endpoint, verifyContent: true).UploadObjectsAsync([id]);
        Assert.Equal([id], up.Transferred);
        Assert.Equal(await Local.RowsAsync($"splitgraph_meta.\"{id}\""), await Remote.RowsAsync($"splitgraph_meta.\"{id}\""));
    }

    private static async Task<string> EmptyObjectAsync(TestDatabase db)
    {
        var schema = await db.NewSchemaAsync("hostile");
        // A unique column name keeps each test's object ID apart.
        var column = "c_" + Guid.NewGuid().ToString("N")[..8];
        await db.ExecAsync($"CREATE TABLE {schema}.stg ({column} int PRIMARY KEY, v text, sg_ud_flag boolean)");
        await using var engine = db.Engine();
        var (id, _) = await new ObjectEngine(engine).StoreContentAddressedAsync(schema, "stg");
        await engine.CommitAsync();
        return id;
    }
}
