using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>Dumps, content-addressed IDs and transfers between two databases of the server; spec §5 scenarios 13–15.</summary>
public sealed class TwoEngineTests(TwoDatabasesFixture fixture) : IClassFixture<TwoDatabasesFixture>
{
    private TestDatabase Local => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    private const string AllTypes =
        """
        id int PRIMARY KEY, label text, flag boolean, amount numeric(14,4), r real, d double precision, day date,
        at timestamp(6), atz timestamptz, span interval, j json, jb jsonb, raw bytea, nums int[], words text[], u uuid
        """;

    private const string AllTypesRows =
        """
        (1, 'it''s a "quote" \ back\\slash and unicode: héllo ✓ 🚀', true, 12345.6789, 3.14159, 2.718281828459045, '2024-02-29',
         '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456+05:30', '1 year 2 mons 3 days 04:05:06.789',
         '{"a": [1, 2.50, "x"], "b": null}', '{"z": {"y": "\u00e9"}, "n": 1.0}', '\x00ff27275c', '{1,NULL,-3}',
         '{"a b","c,d","e\"f",NULL,"NULL"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, '', false, -0.0001, 'NaN', '-Infinity', '0001-01-01', '1999-12-31 00:00:00', 'infinity', '-1 days', '[]', '{}', '\x', '{}', '{}',
         '00000000-0000-0000-0000-000000000000'),
        (4, E'line\nbreak\ttab', true, 0, 1e-30, 1e300, '2000-01-01', '2000-01-01 00:00:00.000001', '1970-01-01 00:00:00+00', '00:00:00',
         '"string"', 'null', '\xdeadbeef', '{2147483647}', '{"{braces}"}', 'ffffffff-ffff-ffff-ffff-ffffffffffff')
        """;

    [Fact]
    public async Task DumpTableSql_round_trips_every_type_onto_another_database()
    {
        var schema = await Local.NewSchemaAsync("dump");
        await Local.ExecAsync($"CREATE TABLE {schema}.all_types ({AllTypes}); INSERT INTO {schema}.all_types VALUES {AllTypesRows}");
        // A session with unusual output settings must not change the dump.
        await using var engine = Local.Engine();
        await engine.RunSqlAsync("SET LOCAL DateStyle = 'SQL, DMY'; SET LOCAL TimeZone = 'America/New_York'; SET LOCAL extra_float_digits = -3", null, ResultShape.None);
        using var sql = new StringWriter();
        await engine.DumpTableSqlAsync(schema, "all_types", sql, targetSchema: schema, targetTable: "copy");
        await engine.CommitAsync();
        Assert.StartsWith($"INSERT INTO \"{schema}\".\"copy\" (\"id\", \"label\"", sql.ToString());

        await Remote.ExecAsync($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.copy ({AllTypes})");
        await Remote.ExecAsync(sql.ToString());
        Assert.Equal(await Local.RowsAsync($"{schema}.all_types"), await Remote.RowsAsync($"{schema}.copy"));
        // Row text can hide differences (e.g. float digits): compare values exactly too.
        Assert.Equal(4L, await Remote.ScalarAsync<long>(
            $"SELECT count(*) FROM {schema}.copy c WHERE c.r IS NOT DISTINCT FROM (CASE c.id WHEN 1 THEN real '3.14159' WHEN 3 THEN real 'NaN' WHEN 4 THEN real '1e-30' END)"));

        // Columns and filter; no rows → nothing written.
        using var some = new StringWriter();
        await using var again = Local.Engine();
        await again.DumpTableSqlAsync(schema, "all_types", some, ["id", "label"], [new RowFilter("id", ">=", "3")]);
        Assert.Equal(2, some.ToString().Split('\n').Count(l => l.StartsWith('(')));
        Assert.DoesNotContain("'NaN'", some.ToString());
        using var none = new StringWriter();
        await again.DumpTableSqlAsync(schema, "all_types", none, filter: [new RowFilter("id", "is null", null)]);
        Assert.Equal(string.Empty, none.ToString());
        await Assert.ThrowsAsync<InvalidInputException>(() => again.DumpTableSqlAsync(schema, "all_types", TextWriter.Null, ["id\"; drop table y; --"]));
        await Assert.ThrowsAsync<InvalidInputException>(() => again.DumpTableSqlAsync(schema, "all_types", TextWriter.Null, filter: [new RowFilter("id", "or 1=1 --", "1")]));
    }

    [Fact]
    public async Task DumpTableSql_splits_large_tables_into_several_statements()
    {
        var schema = await Local.NewSchemaAsync("dump");
        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int, v text); INSERT INTO {schema}.t SELECT g, md5(g::text) FROM generate_series(1, 1234) g");
        await using var engine = Local.Engine();
        using var sql = new StringWriter();
        await engine.DumpTableSqlAsync(schema, "t", sql);
        Assert.Equal(3, sql.ToString().Split("INSERT INTO").Length - 1);
        await Remote.ExecAsync($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (id int, v text)");
        await Remote.ExecAsync(sql.ToString());
        Assert.Equal(await Local.RowsAsync($"{schema}.t"), await Remote.RowsAsync($"{schema}.t"));
    }

    [Fact]
    public async Task Scenario13_same_content_gives_the_same_object_id_on_both_engines()
    {
        var ids = new List<string?>();
        foreach (var db in new[] { Local, Remote })
        {
            var schema = await db.NewSchemaAsync("same");
            // Different insertion order and physical layout, same content.
            await db.ExecAsync($"CREATE TABLE {schema}.t ({AllTypes})");
            await Objects.TrackAsync(db, schema, "t");
            await db.ExecAsync(db == Local
                ? $"INSERT INTO {schema}.t VALUES {AllTypesRows}"
                : $"CREATE TABLE {schema}.stage (LIKE {schema}.t); INSERT INTO {schema}.stage VALUES {AllTypesRows}; " +
                  $"INSERT INTO {schema}.t SELECT * FROM {schema}.stage ORDER BY id DESC");
            ids.Add((await Objects.CommitAsync(db, schema, "t")).ObjectId);
        }

        Assert.NotNull(ids[0]);
        Assert.Equal(ids[0], ids[1]);

        // One changed value → another ID.
        var other = await Remote.NewSchemaAsync("same");
        await Remote.ExecAsync($"CREATE TABLE {other}.t ({AllTypes})");
        await Objects.TrackAsync(Remote, other, "t");
        await Remote.ExecAsync($"INSERT INTO {other}.t VALUES {AllTypesRows}; UPDATE {other}.t SET amount = amount + 0.0001 WHERE id = 1");
        var changed = (await Objects.CommitAsync(Remote, other, "t")).ObjectId;
        Assert.NotNull(changed);
        Assert.NotEqual(ids[0], changed);
        Assert.Matches("^o[0-9a-f]{62}$", changed);
    }

    [Fact]
    public async Task Scenario14_upload_then_download_between_engines()
    {
        var schema = await Local.NewSchemaAsync("xfer");
        await Local.ExecAsync($"CREATE TABLE {schema}.t ({AllTypes})");
        await Objects.TrackAsync(Local, schema, "t");
        await Local.ExecAsync($"INSERT INTO {schema}.t VALUES {AllTypesRows}");
        var first = (await Objects.CommitAsync(Local, schema, "t")).ObjectId!;
        await Local.ExecAsync($"UPDATE {schema}.t SET label = 'changed' WHERE id = 2; DELETE FROM {schema}.t WHERE id = 3");
        var second = (await Objects.CommitAsync(Local, schema, "t")).ObjectId!;
        var localRows = await Local.RowsAsync($"splitgraph_meta.\"{first}\"");

        var upload = new ObjectTransfers(Local.Endpoint, Remote.Endpoint);
        var uploaded = await upload.UploadObjectsAsync([first, second]);
        Assert.Equal([first, second], uploaded.Transferred);
        Assert.Empty(uploaded.Skipped);
        Assert.Empty(uploaded.Missing);
        Assert.Equal(localRows, await Remote.RowsAsync($"splitgraph_meta.\"{first}\""));
        await using (var remote = Remote.Engine())
        {
            var objects = new ObjectEngine(remote);
            await using var local = Local.Engine();
            Assert.Equal(await new ObjectEngine(local).GetObjectSchemaAsync(first), await objects.GetObjectSchemaAsync(first));
            Assert.Equal(4L, (await objects.GetObjectAsync(first)).RowCount);
        }

        var again = await upload.UploadObjectsAsync([first, second]);
        Assert.Empty(again.Transferred);
        Assert.Equal([first, second], again.Skipped);

        // Delete locally, download back: identical; an unknown ID is reported while the others transfer.
        await using (var local = Local.Engine())
        {
            await new ObjectEngine(local).DeleteObjectsAsync([first, second]);
            await local.CommitAsync();
        }

        var unknown = "o" + new string('e', 62);
        var progress = new LastProgress();
        var downloaded = await new ObjectTransfers(Local.Endpoint, Remote.Endpoint, progress).DownloadObjectsAsync([unknown, first, second]);
        Assert.Equal([first, second], downloaded.Transferred);
        Assert.Equal([unknown], downloaded.Missing);
        // A download reports the bytes it pulled (the objects' size on the source), not 0.
        var remoteBytes = await Remote.ScalarAsync<long>(
            $"SELECT pg_relation_size('splitgraph_meta.\"{first}\"') + pg_relation_size('splitgraph_meta.\"{second}\"')");
        Assert.True(remoteBytes > 0);
        Assert.Equal((2, 2, remoteBytes), (progress.Last!.ObjectsDone, progress.Last.ObjectsTotal, progress.Last.BytesCopied));
        Assert.Equal(localRows, await Local.RowsAsync($"splitgraph_meta.\"{first}\""));
        await using (var local = Local.Engine())
        {
            var objects = new ObjectEngine(local);
            Assert.True(await objects.ExistsAsync(second));
            Assert.True(await objects.GetObjectSizeAsync(first) > 0);
        }

        // Applying the downloaded objects rebuilds the table.
        await Local.ExecAsync($"CREATE TABLE {schema}.rebuilt ({AllTypes})");
        await Objects.ApplyAsync(Local, [first, second], schema, "rebuilt");
        Assert.Equal(string.Join("\n", await Local.RowsAsync($"{schema}.t")), string.Join("\n", await Local.RowsAsync($"{schema}.rebuilt")));

        var downloadAgain = await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).DownloadObjectsAsync([first]);
        Assert.Equal([first], downloadAgain.Skipped);
        var onlyMissing = await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).DownloadObjectsAsync([unknown]);
        Assert.Equal([unknown], onlyMissing.Missing);
        var uploadMissing = await upload.UploadObjectsAsync([unknown]);
        Assert.Equal([unknown], uploadMissing.Missing);

        Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sg\\_fdw\\_%'"));
        Assert.Equal(0L, await Remote.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sg\\_fdw\\_%'"));

        await Assert.ThrowsAsync<InvalidInputException>(() => upload.UploadObjectsAsync([]));
        await Assert.ThrowsAsync<InvalidInputException>(() => upload.UploadObjectsAsync(["o123"]));
        await Assert.ThrowsAsync<InvalidInputException>(() => new ObjectTransfers(Local.Endpoint, Local.Endpoint).UploadObjectsAsync([first]));
    }

    [Fact]
    public async Task Transfers_keep_each_objects_commit_time_so_fragments_keep_their_order()
    {
        var schema = await Local.NewSchemaAsync("order");
        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text)");
        await Objects.TrackAsync(Local, schema, "t");
        await Local.ExecAsync($"INSERT INTO {schema}.t VALUES (1, 'a'), (2, 'b')");
        var older = (await Objects.CommitAsync(Local, schema, "t")).ObjectId!;
        await Local.ExecAsync($"DELETE FROM {schema}.t WHERE id = 1; UPDATE {schema}.t SET v = 'c'");
        var newer = (await Objects.CommitAsync(Local, schema, "t")).ObjectId!;
        // Commit times far apart, and the newer uploaded first: arrival order must not become commit order.
        await Local.ExecAsync("UPDATE splitgraph_meta.objects SET created_at = created_at - interval '1 day' WHERE object_id = $1", older);
        var committed = await CommitTimesAsync(Local, older, newer);

        await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([newer]);
        await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([older]);
        Assert.Equal(committed, await CommitTimesAsync(Remote, older, newer));

        await using (var local = Local.Engine())
        {
            await new ObjectEngine(local).DeleteObjectsAsync([older, newer]);
            await local.CommitAsync();
        }

        await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).DownloadObjectsAsync([newer, older]);
        Assert.Equal(committed, await CommitTimesAsync(Local, older, newer));
    }

    private static async Task<List<string>> CommitTimesAsync(TestDatabase db, params string[] ids)
    {
        var times = new List<string>();
        foreach (var id in ids)
        {
            times.Add(await db.ScalarAsync<string>("SELECT created_at::text FROM splitgraph_meta.objects WHERE object_id = $1", id));
        }

        Assert.True(string.CompareOrdinal(times[0], times[1]) < 0, $"commit times out of order: {string.Join(", ", times)}");
        return times;
    }

    [Fact]
    public async Task Arrival_checks_refuse_objects_whose_rows_or_content_differ_from_the_catalogue()
    {
        var schema = await Local.NewSchemaAsync("check");
        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t SELECT g, 'v' || g FROM generate_series(1, 50) g");
        var shortId = (await Objects.CommitAsync(Local, schema, "t", snapshot: true)).ObjectId!;
        await Local.ExecAsync($"UPDATE {schema}.t SET v = 'w' WHERE id = 1");
        var alteredId = (await Objects.CommitAsync(Local, schema, "t", snapshot: true)).ObjectId!;
        // Damage both objects behind the catalogue's back: one loses a row, the other has a value changed.
        await Local.ExecAsync($"DELETE FROM splitgraph_meta.\"{shortId}\" WHERE id = 50; UPDATE splitgraph_meta.\"{alteredId}\" SET v = 'x' WHERE id = 2");

        // The row count is always checked: the short object is refused, even without the content check.
        var conflict = await Assert.ThrowsAsync<ConflictException>(() => new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([shortId]));
        Assert.Contains("49 rows", conflict.Message);
        // Same row count, different content: only the content check (verify) sees it, and nothing is kept.
        await Assert.ThrowsAsync<ConflictException>(() => new ObjectTransfers(Local.Endpoint, Remote.Endpoint, verifyContent: true).UploadObjectsAsync([alteredId]));
        await using (var remote = Remote.Engine())
        {
            Assert.False(await new ObjectEngine(remote).ExistsAsync(shortId));
            Assert.False(await new ObjectEngine(remote).ExistsAsync(alteredId));
        }

        Assert.Equal(0L, await Remote.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'splitgraph_meta' AND tablename IN ($1, $2)", shortId, alteredId));

        // Downloads check the same way: the damaged object, uploaded unverified, is refused on the way back with verify.
        var uploaded = await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([alteredId]);
        Assert.Equal([alteredId], uploaded.Transferred);
        await using (var local = Local.Engine())
        {
            await new ObjectEngine(local).DeleteObjectsAsync([alteredId]);
            await local.CommitAsync();
        }

        await Assert.ThrowsAsync<ConflictException>(() => new ObjectTransfers(Local.Endpoint, Remote.Endpoint, verifyContent: true).DownloadObjectsAsync([alteredId]));
        Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'splitgraph_meta' AND tablename = $1", alteredId));
        Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sg\\_fdw\\_%'"));
    }

    [Fact]
    public async Task Concurrent_downloads_do_not_collide()
    {
        var schema = await Remote.NewSchemaAsync("conc");
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await Objects.FromRowsAsync(Remote, schema, "id int PRIMARY KEY, v text", $"({i}, 'value {i}', true)"));
        }

        var results = await Task.WhenAll(ids.Select(id => new ObjectTransfers(Local.Endpoint, Remote.Endpoint).DownloadObjectsAsync([id, ids[0]])));
        Assert.Equal(ids.Order(), results.SelectMany(r => r.Transferred).Distinct().Order());
        Assert.All(ids, id => Assert.Contains(results, r => r.Transferred.Contains(id)));
        Assert.Equal(1, results.Count(r => r.Transferred.Contains(ids[0])));
        Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sg\\_fdw\\_%'"));
    }

    [Fact]
    public async Task Concurrent_uploads_of_one_object_transfer_it_once_and_intact()
    {
        var schema = await Local.NewSchemaAsync("concup");
        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        var id = (await Objects.CommitAsync(Local, schema, "t", snapshot: true)).ObjectId!;

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([id])));

        Assert.Equal(1, results.Count(r => r.Transferred.Contains(id)));
        Assert.Equal(3, results.Count(r => r.Skipped.Contains(id)));
        Assert.Equal(20000L, await Remote.ScalarAsync<long>($"SELECT count(*) FROM splitgraph_meta.\"{id}\""));
        await using var engine = Remote.Engine();
        var spec = await new ObjectEngine(engine).GetObjectSchemaAsync(id);
        Assert.Equal(id, (await ObjectHasher.ComputeAsync(engine, ObjectEngine.MetaSchema, id, spec, CancellationToken.None)).ObjectId);
    }

    private async Task<string> DumpObjectAsync(string objectId)
    {
        using var script = new StringWriter();
        await using var engine = Local.Engine();
        await new ObjectEngine(engine).DumpObjectAsync(objectId, script);
        return script.ToString();
    }

    [Fact]
    public async Task Scenario15_DumpObject_recreates_the_identical_object_on_a_fresh_engine()
    {
        var schema = await Local.NewSchemaAsync("dumpobj");
        await Local.ExecAsync($"CREATE TABLE {schema}.t ({AllTypes})");
        await Objects.TrackAsync(Local, schema, "t");
        await Local.ExecAsync($"INSERT INTO {schema}.t VALUES {AllTypesRows}");
        var id = (await Objects.CommitAsync(Local, schema, "t")).ObjectId!;
        await Local.ExecAsync($"DELETE FROM {schema}.t WHERE id = 4");
        var patch = (await Objects.CommitAsync(Local, schema, "t")).ObjectId!;

        await using var fresh = await TestDatabase.CreateAsync("fresh");
        foreach (var objectId in new[] { id, patch })
        {
            var script = await DumpObjectAsync(objectId);
            await fresh.ExecAsync(script);
            Assert.Equal(await Local.RowsAsync($"splitgraph_meta.\"{objectId}\""), await fresh.RowsAsync($"splitgraph_meta.\"{objectId}\""));
            await using var source = Local.Engine();
            await using var target = fresh.Engine();
            Assert.Equal(await new ObjectEngine(source).GetObjectSchemaAsync(objectId), await new ObjectEngine(target).GetObjectSchemaAsync(objectId));
            Assert.Equal(await new ObjectEngine(source).GetObjectAsync(objectId) is { } a ? (a.RowCount, a.Format) : default,
                await new ObjectEngine(target).GetObjectAsync(objectId) is { } b ? (b.RowCount, b.Format) : default);
            Assert.Equal(await Local.ScalarAsync<string>("SELECT content_hash FROM splitgraph_meta.objects WHERE object_id = $1", objectId),
                await fresh.ScalarAsync<string>("SELECT content_hash FROM splitgraph_meta.objects WHERE object_id = $1", objectId));

            // Running the dump again fails as a whole and changes nothing.
            await Assert.ThrowsAnyAsync<Npgsql.PostgresException>(() => fresh.ExecAsync(script));
        }

        // The recreated object's content really has its ID: a round trip through transfers verifies the hash.
        await fresh.ExecAsync($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t ({AllTypes})");
        await Objects.ApplyAsync(fresh, [id, patch], schema, "t");
        Assert.Equal(await Local.RowsAsync($"{schema}.t"), await fresh.RowsAsync($"{schema}.t"));
        await using (var local = Local.Engine())
        {
            await new ObjectEngine(local).DeleteObjectsAsync([id]);
            await local.CommitAsync();
        }

        var back = await new ObjectTransfers(Local.Endpoint, fresh.Endpoint).DownloadObjectsAsync([id]);
        Assert.Equal([id], back.Transferred);
    }

    [Fact]
    public async Task User_columns_named_like_the_fragment_flag_commit_upload_and_apply()
    {
        // Issue 15: a user column called sg_ud_flag (and one called sg_ud_flag_) made every commit fail with
        // "specified more than once"; the object's flag takes the first free name sg_ud_flag__ and stays last.
        var schema = await Local.NewSchemaAsync("flag");
        await Local.ExecAsync(
            $"CREATE TABLE {schema}.t (id int PRIMARY KEY, sg_ud_flag boolean NOT NULL, sg_ud_flag_ text); INSERT INTO {schema}.t VALUES (1, false, 'a'), (2, true, 'b')");
        await Objects.CopyTableAsync(Local, schema, "t", "before");
        await Objects.TrackAsync(Local, schema, "t");
        await Local.ExecAsync($"INSERT INTO {schema}.t VALUES (3, false, NULL); UPDATE {schema}.t SET sg_ud_flag = NOT sg_ud_flag WHERE id = 1; DELETE FROM {schema}.t WHERE id = 2");

        var result = await Objects.CommitAsync(Local, schema, "t");
        Assert.Equal((2L, 1L), (result.Upserts, result.Deletes));
        await using (var engine = Local.Engine())
        {
            var spec = await new ObjectEngine(engine).GetObjectSchemaAsync(result.ObjectId!);
            Assert.Equal(["id", "sg_ud_flag", "sg_ud_flag_", "sg_ud_flag__"], spec.Select(c => c.Name));
        }

        await Objects.ApplyAsync(Local, [result.ObjectId!], schema, "before");
        Assert.Equal(await Local.RowsAsync($"{schema}.t"), await Local.RowsAsync($"{schema}.before"));

        // On another engine: upload, then apply onto the table as it was.
        await new ObjectTransfers(Local.Endpoint, Remote.Endpoint).UploadObjectsAsync([result.ObjectId!]);
        await Remote.ExecAsync(
            $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (id int PRIMARY KEY, sg_ud_flag boolean NOT NULL, sg_ud_flag_ text); INSERT INTO {schema}.t VALUES (1, false, 'a'), (2, true, 'b')");
        await Objects.ApplyAsync(Remote, [result.ObjectId!], schema, "t");
        Assert.Equal(await Local.RowsAsync($"{schema}.t"), await Remote.RowsAsync($"{schema}.t"));
    }
}

/// <summary>Keeps the last progress report (synchronously, unlike <see cref="Progress{T}"/>).</summary>
internal sealed class LastProgress : IProgress<TransferProgress>
{
    public TransferProgress? Last { get; private set; }

    public void Report(TransferProgress value) => Last = value;
}
