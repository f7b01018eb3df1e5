using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engine.Api.Engine.Versions;
using Engine.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Engine.Tests;

/// <summary>
/// Issue 18 on real engines: repositories, images, tags, status, checkout, diff, push/pull/clone, cleanup. Two
/// databases of the test server stand for the local and remote engines.
/// </summary>
public sealed class VersionTests(TwoDatabasesFixture fixture, ITestOutputHelper output) : IClassFixture<TwoDatabasesFixture>
{
    private TestDatabase Local => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    private static async Task<string> FruitsRepositoryAsync(TestDatabase db)
    {
        var schema = await db.NewSchemaAsync("repo");
        await db.ExecAsync(
            $"CREATE TABLE {schema}.fruits (fruit_id int PRIMARY KEY, name varchar); INSERT INTO {schema}.fruits VALUES (1, 'apple'), (2, 'orange');" +
            $"CREATE TABLE {schema}.notes (n text); INSERT INTO {schema}.notes VALUES ('a'), ('a'), ('b')");
        return schema;
    }

    private static async Task<Dictionary<string, List<string>>> ContentAsync(TestDatabase db, string schema, params string[] tables)
    {
        var content = new Dictionary<string, List<string>>();
        foreach (var table in tables)
        {
            content[table] = await db.RowsAsync($"\"{schema}\".\"{table}\"");
        }

        return content;
    }

    [Fact]
    public async Task Init_commit_log_show_tags_and_status()
    {
        var schema = await FruitsRepositoryAsync(Local);
        var info = await Versions.InitAsync(Local, schema);
        Assert.Equal(["fruits", "notes"], info.Tables);
        Assert.Equal(1, info.ImageCount);
        Assert.Equal(info.Head, info.Latest);
        Assert.False(info.HasPendingChanges);
        var first = info.Head!;
        await Assert.ThrowsAsync<ConflictException>(() => Versions.InitAsync(Local, schema));

        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'mayonnaise'); UPDATE {schema}.fruits SET name = 'banana' WHERE fruit_id = 2; DELETE FROM {schema}.fruits WHERE fruit_id = 1");
        var status = await Versions.StatusAsync(Local, schema);
        Assert.True(status.HasPendingChanges);
        Assert.Equal(first, status.Head!.ImageHash);
        Assert.Equal([new TableStatus("fruits", "modified", 1, 1, 1), new TableStatus("notes", "unchanged", 0, 0, 0)], status.Tables);

        var second = await Versions.CommitAsync(Local, schema, "second");
        Assert.True(second.Created);
        Assert.Equal(first, second.Image.ParentId);
        Assert.Equal("second", second.Image.Comment);
        Assert.Equal(["HEAD", "latest"], second.Image.Tags);
        Assert.Equal((2L, 1L), (second.Image.Upserted, second.Image.Deleted));
        var firstTables = await Versions.TablesAsync(Local, schema, first);
        var secondTables = await Versions.TablesAsync(Local, schema, second.Image.ImageHash);
        Assert.Equal(2, secondTables.Single(t => t.Table == "fruits").ObjectIds.Count);
        Assert.Equal(firstTables.Single(t => t.Table == "fruits").ObjectIds[0], secondTables.Single(t => t.Table == "fruits").ObjectIds[0]);
        Assert.Equal(firstTables.Single(t => t.Table == "notes").ObjectIds, secondTables.Single(t => t.Table == "notes").ObjectIds);
        // Content-addressed: the hash is the parent plus the tables, recomputable by anyone holding them.
        Assert.Equal(second.Image.ImageHash, VersionCatalog.ComputeHash(first, secondTables));
        Assert.False((await Versions.StatusAsync(Local, schema)).HasPendingChanges);

        var again = await Versions.CommitAsync(Local, schema, "nothing");
        Assert.False(again.Created);
        Assert.Equal(second.Image.ImageHash, again.Image.ImageHash);

        var log = await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).LogAsync(schema, null, 100, default));
        Assert.Equal([second.Image.ImageHash, first], log.Select(i => i.ImageHash));
        var shown = await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).ShowAsync(schema, second.Image.ImageHash[..8], default));
        Assert.Equal(2, shown.Tables.Single(t => t.Table == "fruits").Objects.Count);
        Assert.Equal(["fruit_id", "name"], shown.Tables.Single(t => t.Table == "fruits").Schema.Select(c => c.Name));

        await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).SetTagAsync(schema, "v1", first[..10], default));
        var tags = await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).TagsAsync(schema, default));
        Assert.Equal([new TagInfo("HEAD", second.Image.ImageHash), new TagInfo("latest", second.Image.ImageHash), new TagInfo("v1", first)], tags);
        Assert.Equal(first, await Versions.InTransactionAsync(Local, e => new VersionCatalog(e).ResolveAsync(schema, "v1", default)));
        await Versions.InTransactionAsync(Local, async e => { await new RepositoryEngine(e).DeleteTagAsync(schema, "v1", default); return 0; });
        await Assert.ThrowsAsync<TagNotFoundException>(() => Versions.InTransactionAsync(Local, async e => { await new RepositoryEngine(e).DeleteTagAsync(schema, "v1", default); return 0; }));
        await Assert.ThrowsAsync<ImageNotFoundException>(() => Versions.InTransactionAsync(Local, e => new VersionCatalog(e).ResolveAsync(schema, "v1", default)));

        // Objects an image uses cannot be deleted one by one.
        await Assert.ThrowsAsync<ConflictException>(() => Versions.InTransactionAsync(Local,
            e => new ObjectEngine(e).DeleteObjectsAsync([secondTables[0].ObjectIds[^1]], default)));
    }

    [Fact]
    public async Task Checkout_recreates_each_table_as_in_the_image_and_refuses_pending_changes_unless_forced()
    {
        var schema = await FruitsRepositoryAsync(Local);
        var first = (await Versions.InitAsync(Local, schema)).Head!;
        var v1 = await ContentAsync(Local, schema, "fruits", "notes");
        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'mayonnaise'); DELETE FROM {schema}.notes WHERE ctid = (SELECT ctid FROM {schema}.notes WHERE n = 'a' LIMIT 1)");
        var second = (await Versions.CommitAsync(Local, schema, "second")).Image.ImageHash;
        var v2 = await ContentAsync(Local, schema, "fruits", "notes");

        var back = await Versions.CheckoutAsync(Local, schema, first[..12]);
        Assert.Equal(first, back.Image.ImageHash);
        Assert.Empty(back.CreatedTables);
        Assert.Equal(v1, await ContentAsync(Local, schema, "fruits", "notes"));
        var status = await Versions.StatusAsync(Local, schema);
        Assert.Equal(first, status.Head!.ImageHash);
        Assert.False(status.HasPendingChanges);

        // Tracked again after the checkout: a change shows, and refuses the next checkout.
        await Local.ExecAsync($"UPDATE {schema}.fruits SET name = 'pear' WHERE fruit_id = 1");
        Assert.Equal(new TableStatus("fruits", "modified", 0, 0, 1), (await Versions.StatusAsync(Local, schema)).Tables[0]);
        var refused = await Assert.ThrowsAsync<PendingChangesException>(() => Versions.CheckoutAsync(Local, schema, second));
        Assert.Equal(409, refused.StatusCode);
        Assert.Contains("fruits: modified", refused.Message);
        Assert.Contains("pear", string.Join(",", await Local.RowsAsync($"{schema}.fruits")));

        var forced = await Versions.CheckoutAsync(Local, schema, second, force: true);
        Assert.Equal(1, forced.DiscardedChanges);
        Assert.Equal(v2, await ContentAsync(Local, schema, "fruits", "notes"));
        Assert.False((await Versions.StatusAsync(Local, schema)).HasPendingChanges);

        // Tables that do not exist are created from the image (columns and key, no triggers but the tracking ones).
        await Local.ExecAsync($"DROP TABLE {schema}.fruits; CREATE TABLE {schema}.extra (x int)");
        Assert.Equal(["extra: added", "fruits: removed", "notes: unchanged"],
            (await Versions.StatusAsync(Local, schema)).Tables.Select(t => $"{t.Table}: {t.State}"));
        await Assert.ThrowsAsync<PendingChangesException>(() => Versions.CheckoutAsync(Local, schema, first));
        var recreated = await Versions.CheckoutAsync(Local, schema, first, force: true);
        Assert.Equal(["fruits"], recreated.CreatedTables);
        Assert.Equal(["extra"], recreated.DroppedTables);
        Assert.Equal(v1, await ContentAsync(Local, schema, "fruits", "notes"));
        Assert.Equal("fruit_id", await Local.ScalarAsync<string>(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indisprimary AND i.indrelid = format('%I.fruits', $1::text)::regclass", schema));
        await Local.ExecAsync($"DELETE FROM {schema}.fruits WHERE fruit_id = 2");
        Assert.Equal(new TableStatus("fruits", "modified", 0, 1, 0), (await Versions.StatusAsync(Local, schema)).Tables[0]);
    }

    [Fact]
    public async Task Checkout_refuses_to_empty_or_drop_a_table_with_inheritance_children_or_partitions_elsewhere()
    {
        var schema = await FruitsRepositoryAsync(Local);
        var first = (await Versions.InitAsync(Local, schema)).Head!;
        await Local.ExecAsync($"INSERT INTO {schema}.notes VALUES ('c')");
        var second = (await Versions.CommitAsync(Local, schema)).Image.ImageHash;
        var other = await Local.NewSchemaAsync("other");
        await Local.ExecAsync($"CREATE TABLE {other}.kid () INHERITS ({schema}.notes); INSERT INTO {other}.kid VALUES ('kid')");

        // Going back to the first image empties notes, and with it the child in another schema.
        var refused = await Assert.ThrowsAsync<ConflictException>(() => Versions.CheckoutAsync(Local, schema, first));
        Assert.Contains($"\"{schema}\".\"notes\"", refused.Message);
        Assert.Equal(["(kid)"], await Local.RowsAsync($"{other}.kid"));
        Assert.Equal(second, (await Versions.StatusAsync(Local, schema)).Head!.ImageHash);
        await Local.ExecAsync($"DROP TABLE {other}.kid");

        // A partitioned table the image lacks would be dropped with its partitions, wherever they are.
        await Local.ExecAsync($"CREATE TABLE {schema}.parted (id int) PARTITION BY RANGE (id); CREATE TABLE {other}.p1 PARTITION OF {schema}.parted FOR VALUES FROM (0) TO (100); INSERT INTO {schema}.parted VALUES (5)");
        var partitioned = await Assert.ThrowsAsync<ConflictException>(() => Versions.CheckoutAsync(Local, schema, first, force: true));
        Assert.Contains($"\"{schema}\".\"parted\"", partitioned.Message);
        Assert.Equal(["(5)"], await Local.RowsAsync($"{other}.p1"));
        await Local.ExecAsync($"DROP TABLE {schema}.parted");

        var done = await Versions.CheckoutAsync(Local, schema, first);
        Assert.Equal(first, done.Image.ImageHash);
        Assert.Equal(3L, await Local.ScalarAsync<long>($"SELECT count(*) FROM {schema}.notes"));
    }

    [Fact]
    public async Task Tables_added_dropped_and_altered_between_images_are_committed_diffed_and_checked_out()
    {
        var schema = "new_" + Guid.NewGuid().ToString("N")[..8];
        var empty = (await Versions.InitAsync(Local, schema)).Head!;
        Assert.Empty(await Versions.TablesAsync(Local, schema, empty));

        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t VALUES (1, 'a'), (2, 'b')");
        Assert.Equal([new TableStatus("t", "added", 0, 0, 0)], (await Versions.StatusAsync(Local, schema)).Tables);
        var withTable = (await Versions.CommitAsync(Local, schema, "table")).Image.ImageHash;
        var v1 = await Local.RowsAsync($"{schema}.t");

        // New columns: the commit stores a new snapshot (fragments of the old columns would not apply).
        await Local.ExecAsync($"ALTER TABLE {schema}.t ADD COLUMN w int; UPDATE {schema}.t SET w = id * 10");
        Assert.Equal("modified", (await Versions.StatusAsync(Local, schema)).Tables.Single().State);
        var altered = (await Versions.CommitAsync(Local, schema, "column")).Image.ImageHash;
        Assert.Single((await Versions.TablesAsync(Local, schema, altered)).Single().ObjectIds);
        var v2 = await Local.RowsAsync($"{schema}.t");

        var diff = await Versions.DiffAsync(Local, schema, empty, withTable);
        Assert.Equal([new TableDiff("t", "added", 2, 0, 0, false)], diff.Tables);
        Assert.Equal([new TableDiff("t", "removed", 0, 2, 0, false)], (await Versions.DiffAsync(Local, schema, withTable, empty)).Tables);
        Assert.Equal([new TableDiff("t", "modified", 0, 0, 2, true)], (await Versions.DiffAsync(Local, schema, withTable, altered)).Tables);

        var back = await Versions.CheckoutAsync(Local, schema, withTable);
        Assert.Equal(["t"], back.CreatedTables); // its columns differ: dropped and created from the image
        Assert.Equal(v1, await Local.RowsAsync($"{schema}.t"));
        var gone = await Versions.CheckoutAsync(Local, schema, empty);
        Assert.Equal(["t"], gone.DroppedTables);
        Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1", schema));
        await Versions.CheckoutAsync(Local, schema, altered);
        Assert.Equal(v2, await Local.RowsAsync($"{schema}.t"));
        Assert.False((await Versions.StatusAsync(Local, schema)).HasPendingChanges);
    }

    [Fact]
    public async Task A_commit_stores_a_new_snapshot_when_the_fragments_would_outgrow_the_base()
    {
        var schema = await Local.NewSchemaAsync("repo");
        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t SELECT g, 'x' FROM generate_series(1, 10) g");
        var first = (await Versions.InitAsync(Local, schema)).Head!;
        await Local.ExecAsync($"UPDATE {schema}.t SET v = 'y' WHERE id = 1");
        var small = (await Versions.CommitAsync(Local, schema)).Image.ImageHash;
        Assert.Equal(2, (await Versions.TablesAsync(Local, schema, small))[0].ObjectIds.Count);

        await Local.ExecAsync($"INSERT INTO {schema}.t SELECT g, 'z' FROM generate_series(11, 2010) g");
        var large = (await Versions.CommitAsync(Local, schema)).Image.ImageHash;
        Assert.Single((await Versions.TablesAsync(Local, schema, large))[0].ObjectIds);
        var expected = await Local.RowsAsync($"{schema}.t");
        await Versions.CheckoutAsync(Local, schema, first);
        await Versions.CheckoutAsync(Local, schema, large);
        Assert.Equal(expected, await Local.RowsAsync($"{schema}.t"));

        // Snapshot on request, also for a table without changes.
        var requested = await Versions.CommitAsync(Local, schema, snapshot: true);
        Assert.False(requested.Created); // the same single object as the chain it replaces: no new image
    }

    [Fact]
    public async Task Diff_between_versions_applied_to_the_older_gives_the_newer_property()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var schema = await Local.NewSchemaAsync("repo");
        var scratch = await Local.NewSchemaAsync("scratch");
        await Local.ExecAsync(
            $"CREATE TABLE {schema}.kv (id int PRIMARY KEY, v text, n int); INSERT INTO {schema}.kv SELECT g, md5(g::text), g FROM generate_series(1, 40) g;" +
            $"CREATE TABLE {schema}.bag (v text, n int); INSERT INTO {schema}.bag SELECT 'b' || (g % 5), g % 3 FROM generate_series(1, 30) g");
        var images = new List<string?> { (await Versions.InitAsync(Local, schema)).Head };
        await CopyAsync(0);
        var nextId = 1000;

        async Task RandomChangesAsync()
        {
            for (var i = 0; i < 12; i++)
            {
                var sql = random.Next(7) switch
                {
                    0 => $"INSERT INTO {schema}.kv VALUES ({nextId++}, 'new{random.Next(100)}', {random.Next(10)})",
                    1 => $"UPDATE {schema}.kv SET v = 'u{random.Next(100)}' WHERE id IN (SELECT id FROM {schema}.kv ORDER BY id OFFSET {random.Next(30)} LIMIT {random.Next(1, 4)})",
                    2 => $"DELETE FROM {schema}.kv WHERE id IN (SELECT id FROM {schema}.kv ORDER BY id OFFSET {random.Next(30)} LIMIT {random.Next(1, 3)})",
                    3 => $"UPDATE {schema}.kv SET id = {nextId++} WHERE id = (SELECT id FROM {schema}.kv ORDER BY id OFFSET {random.Next(20)} LIMIT 1)",
                    4 => $"INSERT INTO {schema}.bag VALUES ('b{random.Next(7)}', {random.Next(3)}), ('b{random.Next(7)}', {random.Next(3)})",
                    5 => $"DELETE FROM {schema}.bag WHERE ctid = (SELECT ctid FROM {schema}.bag ORDER BY v, n OFFSET {random.Next(20)} LIMIT 1)",
                    _ => $"UPDATE {schema}.kv SET n = NULL WHERE id = (SELECT id FROM {schema}.kv ORDER BY id OFFSET {random.Next(25)} LIMIT 1)",
                };
                output.WriteLine(sql);
                await Local.ExecAsync(sql);
            }
        }

        // Copies of each version (index = image; the last is the working state) to apply diffs to.
        async Task CopyAsync(int version) => await Local.ExecAsync(
            $"CREATE TABLE {scratch}.kv_{version} AS SELECT * FROM {schema}.kv; CREATE TABLE {scratch}.bag_{version} AS SELECT * FROM {schema}.bag");

        for (var round = 1; round <= 2; round++)
        {
            output.WriteLine($"-- round {round}");
            await RandomChangesAsync();
            images.Add((await Versions.CommitAsync(Local, schema, $"round {round}")).Image.ImageHash);
            await CopyAsync(round);
        }

        output.WriteLine("-- working state");
        await RandomChangesAsync();
        images.Add(null);
        await CopyAsync(3);

        foreach (var (from, to) in new[] { (0, 1), (1, 2), (0, 2), (2, 1), (2, 3), (0, 3) })
        {
            var diff = await Versions.DiffAsync(Local, schema, images[from]!, images[to]);
            foreach (var table in new[] { "kv", "bag" })
            {
                var entries = await Versions.DiffRowsAsync(Local, schema, table, images[from]!, images[to]);
                var counts = diff.Tables.Single(t => t.Table == table);
                Assert.Equal(counts.Added, entries.Count(e => e.Upserted && e.OldRow is null));
                Assert.Equal(counts.Removed, entries.Count(e => !e.Upserted));
                Assert.Equal(counts.Updated, entries.Count(e => e.Upserted && e.OldRow is not null));
                var work = $"{scratch}.{table}_work_{from}_{to}";
                await Local.ExecAsync($"CREATE TABLE {work} AS SELECT * FROM {scratch}.{table}_{from}");
                foreach (var entry in entries)
                {
                    var key = entry.PrimaryKey.GetRawText();
                    if (table == "kv")
                    {
                        await Local.ExecAsync($"DELETE FROM {work} t WHERE to_jsonb(t) @> $1::jsonb", key);
                    }
                    else if (!entry.Upserted)
                    {
                        await Local.ExecAsync($"DELETE FROM {work} WHERE ctid = (SELECT ctid FROM {work} t WHERE to_jsonb(t) = $1::jsonb LIMIT 1)", key);
                    }

                    if (entry.Upserted)
                    {
                        await Local.ExecAsync($"INSERT INTO {work} SELECT * FROM jsonb_populate_record(NULL::{work}, $1::jsonb)", entry.NewRow!.Value.GetRawText());
                    }
                }

                Assert.True(await Local.RowsAsync($"{scratch}.{table}_{to}") is var expected && expected.SequenceEqual(await Local.RowsAsync(work)),
                    $"seed {seed}: diff {from}→{to} of {table} applied to version {from} is not version {to}");
            }
        }

        // A version against itself is empty.
        Assert.All((await Versions.DiffAsync(Local, schema, images[2]!, images[2])).Tables, t => Assert.Equal("unchanged", t.State));
    }

    [Fact]
    public async Task Push_checkout_on_remote_pull_and_clone_are_idempotent_and_refuse_divergence()
    {
        var schema = await FruitsRepositoryAsync(Local);
        var first = (await Versions.InitAsync(Local, schema)).Head!;
        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'mayonnaise'); UPDATE {schema}.fruits SET name = 'banana' WHERE fruit_id = 2");
        var second = (await Versions.CommitAsync(Local, schema, "one")).Image.ImageHash;
        var v1 = await ContentAsync(Local, schema, "fruits", "notes");
        await Local.ExecAsync($"DELETE FROM {schema}.fruits WHERE fruit_id = 1; INSERT INTO {schema}.notes VALUES ('c')");
        var third = (await Versions.CommitAsync(Local, schema, "two")).Image.ImageHash;
        await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).SetTagAsync(schema, "release", second, default));

        var transfers = new VersionTransfers(Local.Endpoint, Remote.Endpoint);
        var pushed = await transfers.PushAsync(schema, schema, default);
        Assert.Equal([first, second, third], pushed.Images);
        Assert.NotEmpty(pushed.Objects.Transferred);
        Assert.Equal([new TagInfo("release", second)], pushed.Tags);
        var repeated = await transfers.PushAsync(schema, schema, default);
        Assert.Empty(repeated.Images);
        Assert.Equal(3, repeated.ImagesSkipped.Count);
        Assert.Empty(repeated.Objects.Transferred);

        // The remote has no such schema yet: checkout creates it and every table.
        var onRemote = await Versions.CheckoutAsync(Remote, schema, "release");
        Assert.Equal(["fruits", "notes"], onRemote.CreatedTables);
        Assert.Equal(v1, await ContentAsync(Remote, schema, "fruits", "notes"));

        // Pull finds nothing new; a local commit pushes alone.
        Assert.Empty((await transfers.PullAsync(schema, schema, create: false, default)).Images);
        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (4, 'kiwi')");
        var fourth = (await Versions.CommitAsync(Local, schema, "three")).Image.ImageHash;
        Assert.Equal([fourth], (await transfers.PushAsync(schema, schema, default)).Images);

        // A commit on the remote (on top of "release") is pulled back; a local commit the remote lacks refuses pull.
        await Remote.ExecAsync($"UPDATE {schema}.fruits SET name = 'lemon' WHERE fruit_id = 1");
        var remoteImage = (await Versions.CommitAsync(Remote, schema, "on remote")).Image.ImageHash;
        var refusedPush = await Assert.ThrowsAsync<ConflictException>(() => transfers.PushAsync(schema, schema, default));
        Assert.Contains(remoteImage[..12], refusedPush.Message);
        Assert.Equal([remoteImage], (await transfers.PullAsync(schema, schema, create: false, default)).Images);
        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (5, 'fig')");
        var local5 = (await Versions.CommitAsync(Local, schema, "local only")).Image.ImageHash;
        var refusedPull = await Assert.ThrowsAsync<ConflictException>(() => transfers.PullAsync(schema, schema, create: false, default));
        Assert.Equal("Newer local commits", refusedPull.Title);
        Assert.Contains(local5[..12], refusedPull.Message);
        Assert.Equal(6, await Versions.ImageCountAsync(Local, schema));

        // Clone into a new schema, twice: the second finds everything there.
        var copy = "clone_" + schema;
        var cloned = await transfers.PullAsync(copy, schema, create: true, default);
        Assert.Equal(5, cloned.Images.Count);
        Assert.Empty((await transfers.PullAsync(copy, schema, create: true, default)).Images);
        await Versions.CheckoutAsync(Local, copy, remoteImage);
        Assert.Equal(await ContentAsync(Remote, schema, "fruits", "notes"), await ContentAsync(Local, copy, "fruits", "notes"));
        await Assert.ThrowsAsync<RepositoryNotFoundException>(() => transfers.PullAsync("nowhere_" + schema, schema, create: false, default));
    }

    [Fact]
    public async Task A_push_killed_between_the_objects_and_the_metadata_leaves_no_image_and_a_repeat_completes_it()
    {
        var schema = await FruitsRepositoryAsync(Local);
        await Versions.InitAsync(Local, schema);
        await Local.ExecAsync($"INSERT INTO {schema}.fruits SELECT g, 'f' || g FROM generate_series(10, 500) g");
        var head = (await Versions.CommitAsync(Local, schema)).Image.ImageHash;
        var objects = (await Versions.TablesAsync(Local, schema, head)).SelectMany(t => t.ObjectIds).Distinct().ToList();

        var transfers = new VersionTransfers(Local.Endpoint, Remote.Endpoint);
        Task<VersionTransferResult> push;
        await using (var gate = await LockGate.AdvisoryAsync(Remote, VersionCatalog.LockKey(schema)))
        {
            push = Task.Run(() => transfers.PushAsync(schema, schema, default));
            var waiter = LockGate.WaitForWaiterAsync(Local, Remote.Name, "advisory");
            Assert.NotSame(push, await Task.WhenAny(waiter, push));
            var pid = await waiter;
            // In flight at the metadata step: every object is there, no image is.
            foreach (var id in objects)
            {
                Assert.Equal(1L, await Remote.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = $1", id));
            }

            Assert.Equal(0L, await Versions.ImageCountAsync(Remote, schema));
            await LockGate.TerminateAsync(Local, pid);
        }

        await Assert.ThrowsAsync<EngineUnavailableException>(() => push);
        Assert.Equal(0L, await Versions.ImageCountAsync(Remote, schema));
        Assert.Equal(0L, await Remote.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.tables WHERE repository = $1", schema));

        var repeated = await transfers.PushAsync(schema, schema, default);
        Assert.Empty(repeated.Objects.Transferred);
        Assert.Equal(objects.Count, repeated.Objects.Skipped.Count);
        Assert.Equal(2, repeated.Images.Count);
        var expected = await ContentAsync(Local, schema, "fruits", "notes");
        await Versions.CheckoutAsync(Remote, schema, head);
        Assert.Equal(expected, await ContentAsync(Remote, schema, "fruits", "notes"));
    }

    [Fact]
    public async Task A_pulled_image_that_does_not_match_its_hash_is_refused_and_nothing_is_written()
    {
        var schema = await FruitsRepositoryAsync(Remote);
        await Versions.InitAsync(Remote, schema);
        await Remote.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'x')");
        var head = (await Versions.CommitAsync(Remote, schema)).Image.ImageHash;
        // Someone who can write the remote's catalogue reverses a chain: the image no longer adds up to its hash.
        await Remote.ExecAsync(
            "UPDATE splitgraph_meta.tables SET object_ids = ARRAY[object_ids[2], object_ids[1]] WHERE repository = $1 AND image_hash = $2 AND table_name = 'fruits'",
            schema, head);

        var transfers = new VersionTransfers(Local.Endpoint, Remote.Endpoint);
        var refused = await Assert.ThrowsAsync<ConflictException>(() => transfers.PullAsync(schema, schema, create: true, default));
        Assert.Equal("Image does not verify", refused.Title);
        // The valid first image went in the same transaction as the refused one: neither is there.
        Assert.Equal(0L, await Versions.ImageCountAsync(Local, schema));
    }

    [Fact]
    public async Task An_object_delete_during_a_pulls_metadata_step_waits_and_then_refuses_the_objects_the_image_uses()
    {
        var schema = await FruitsRepositoryAsync(Remote);
        // Content of its own, so that no other image here uses these objects already.
        await Remote.ExecAsync($"INSERT INTO {schema}.fruits VALUES (99, $1)", Guid.NewGuid().ToString());
        var head = (await Versions.InitAsync(Remote, schema)).Head!;
        var objects = (await Versions.TablesAsync(Remote, schema, head)).SelectMany(t => t.ObjectIds).Distinct().ToList();

        var transfers = new VersionTransfers(Local.Endpoint, Remote.Endpoint);
        Task<VersionTransferResult> pull;
        Task<DeleteObjectsResult> delete;
        // The pull stops inside its metadata transaction, after checking its objects, at the insert into the tables list.
        await using (await LockGate.TableAsync(Local, "splitgraph_meta.tables", "SHARE"))
        {
            pull = Task.Run(() => transfers.PullAsync(schema, schema, create: true, default));
            var pulling = LockGate.WaitForWaiterAsync(Remote, Local.Name, "relation");
            Assert.NotSame(pull, await Task.WhenAny(pulling, pull));
            await pulling;

            delete = Task.Run(() => Versions.InTransactionAsync(Local, e => new ObjectEngine(e).DeleteObjectsAsync(objects, default)));
            var deleting = LockGate.WaitForWaiterAsync(Remote, Local.Name, "advisory");
            Assert.NotSame(delete, await Task.WhenAny(deleting, delete));
            await deleting;
        }

        Assert.Single((await pull).Images);
        var refused = await Assert.ThrowsAsync<ConflictException>(() => delete);
        Assert.Equal("Object in use", refused.Title);
        foreach (var id in objects)
        {
            Assert.Equal(1L, await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = $1", id));
        }

        await Versions.CheckoutAsync(Local, schema, head);
        Assert.Equal(await ContentAsync(Remote, schema, "fruits", "notes"), await ContentAsync(Local, schema, "fruits", "notes"));
    }

    [Fact]
    public async Task A_pulled_catalogue_with_malformed_table_columns_is_refused_with_422_and_nothing_is_written()
    {
        var schema = await FruitsRepositoryAsync(Remote);
        var head = (await Versions.InitAsync(Remote, schema)).Head!;
        var transfers = new VersionTransfers(Local.Endpoint, Remote.Endpoint);
        foreach (var shape in new[] { "null", "{}", "[]", "[null]", "[1]", "[{\"name\": null, \"type\": \"integer\"}]", "[{\"name\": \"x\"}]" })
        {
            await Remote.ExecAsync("UPDATE splitgraph_meta.tables SET table_schema = $3::jsonb WHERE repository = $1 AND image_hash = $2 AND table_name = 'notes'",
                schema, head, shape);
            var refused = await Assert.ThrowsAsync<InvalidCatalogueException>(() => transfers.PullAsync(schema, schema, create: true, default));
            Assert.Equal(422, refused.StatusCode);
            Assert.Contains("\"notes\"", refused.Message);
            Assert.Equal(0L, await Versions.ImageCountAsync(Local, schema));
        }
    }

    [Fact]
    public async Task A_pulled_image_whose_columns_disagree_with_its_base_object_is_refused_with_409_even_when_its_hash_adds_up()
    {
        var schema = await FruitsRepositoryAsync(Remote);
        await Remote.ExecAsync($"INSERT INTO {schema}.fruits VALUES (98, $1)", Guid.NewGuid().ToString());
        var head = (await Versions.InitAsync(Remote, schema)).Head!;
        await Versions.InTransactionAsync(Remote, e => new RepositoryEngine(e).SetTagAsync(schema, "v1", head, default));
        // Someone who can write the remote's catalogue adds a child image that calls fruits.name an integer, with the same
        // objects, and gives it the hash its content has: only the objects can tell it lies.
        var placeholder = new string('0', 64);
        await Remote.ExecAsync("INSERT INTO splitgraph_meta.images (repository, image_hash, parent_id) VALUES ($1, $2, $3)", schema, placeholder, head);
        await Remote.ExecAsync(
            """
            INSERT INTO splitgraph_meta.tables (repository, image_hash, table_name, table_schema, object_ids)
            SELECT repository, $3, table_name,
                   CASE WHEN table_name = 'fruits' THEN pg_catalog.jsonb_set(table_schema, '{1,type}', '"integer"') ELSE table_schema END, object_ids
            FROM splitgraph_meta.tables WHERE repository = $1 AND image_hash = $2
            """, schema, head, placeholder);
        var lying = VersionCatalog.ComputeHash(head, await Versions.TablesAsync(Remote, schema, placeholder));
        await Remote.ExecAsync("INSERT INTO splitgraph_meta.images (repository, image_hash, parent_id) VALUES ($1, $2, $3)", schema, lying, head);
        await Remote.ExecAsync("UPDATE splitgraph_meta.tables SET image_hash = $3 WHERE repository = $1 AND image_hash = $2", schema, placeholder, lying);
        await Remote.ExecAsync("DELETE FROM splitgraph_meta.images WHERE repository = $1 AND image_hash = $2", schema, placeholder);

        var transfers = new VersionTransfers(Local.Endpoint, Remote.Endpoint);
        var refused = await Assert.ThrowsAsync<ConflictException>(() => transfers.PullAsync(schema, schema, create: true, default));
        Assert.Equal("Image does not match its objects", refused.Title);
        Assert.Contains("\"fruits\"", refused.Message);
        Assert.Equal(0L, await Versions.ImageCountAsync(Local, schema));

        // Without the lying image, the pull goes through with its tag; a tag named latest (computed here) is left behind.
        await Remote.ExecAsync("DELETE FROM splitgraph_meta.images WHERE repository = $1 AND image_hash = $2", schema, lying);
        await Remote.ExecAsync("INSERT INTO splitgraph_meta.tags (repository, image_hash, tag) VALUES ($1, $2, 'latest')", schema, head);
        var pulled = await transfers.PullAsync(schema, schema, create: true, default);
        Assert.Equal([head], pulled.Images);
        Assert.Equal(["v1"], pulled.Tags.Select(t => t.Tag));
    }

    [Fact]
    public async Task Concurrent_commits_of_one_repository_keep_a_linear_history()
    {
        var schema = await FruitsRepositoryAsync(Local);
        var first = (await Versions.InitAsync(Local, schema)).Head!;
        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'kiwi'); INSERT INTO {schema}.notes VALUES ('c')");

        // Both commits take their snapshot, then queue on the repository's lock; the one that goes second saw a HEAD
        // that is no longer HEAD and must lose (serialisation failure, which the API retries), never fork the history.
        Task<CommitImageResult> a, b;
        await using (await LockGate.AdvisoryAsync(Local, VersionCatalog.LockKey(schema)))
        {
            a = Task.Run(() => Versions.CommitAsync(Local, schema, "a"));
            await WaitForWaitersAsync(1);
            b = Task.Run(() => Versions.CommitAsync(Local, schema, "b"));
            await WaitForWaitersAsync(2);
        }

        var outcomes = await Task.WhenAll(new[] { a, b }.Select(async t =>
        {
            try
            {
                return (Result: await t, Error: (Exception?)null);
            }
            catch (Exception ex)
            {
                return (Result: (CommitImageResult?)null, Error: ex);
            }
        }));
        output.WriteLine(string.Join("\n", outcomes.Select(o => o.Error?.Message ?? $"image {o.Result!.Image.ImageHash}")));
        var won = Assert.Single(outcomes, o => o.Error is null).Result!;
        Assert.True(won.Created);
        Assert.Equal(first, won.Image.ParentId);
        var lost = Assert.Single(outcomes, o => o.Error is not null).Error!;
        Assert.True(ConcurrentChangeException.IsRetryable(lost), lost.ToString());

        // Run again (as the API's transaction behaviour does): nothing is left to commit, and HEAD is the winner's image.
        var retried = await Versions.CommitAsync(Local, schema, "retry");
        Assert.False(retried.Created);
        Assert.Equal(won.Image.ImageHash, retried.Image.ImageHash);
        Assert.Equal(2L, await Versions.ImageCountAsync(Local, schema));

        async Task WaitForWaitersAsync(int count)
        {
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (await Local.ScalarAsync<long>(
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'", Local.Name) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{count} commits never waited on the repository lock");
                await Task.Delay(20);
            }
        }
    }

    [Fact]
    public async Task Cleanup_drops_objects_of_deleted_repositories_only_and_loose_objects_only_when_asked()
    {
        var schema = await FruitsRepositoryAsync(Local);
        // Content of its own: objects are shared by content, and other tests' repositories keep theirs.
        var unique = Guid.NewGuid().ToString();
        await Local.ExecAsync($"INSERT INTO {schema}.fruits VALUES (99, $1)", unique);
        await Local.ExecAsync($"INSERT INTO {schema}.notes VALUES ($1)", unique);
        var image = (await Versions.InitAsync(Local, schema)).Head!;
        var used = (await Versions.TablesAsync(Local, schema, image)).SelectMany(t => t.ObjectIds).ToList();
        var looseSchema = await Local.FruitsAsync(primaryKey: true);
        await Local.ExecAsync($"INSERT INTO {looseSchema}.fruits VALUES (77, 'loose {Guid.NewGuid()}')");
        var loose = (await Objects.CommitAsync(Local, looseSchema, "fruits")).ObjectId!;

        var nothing = await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).CleanupAsync(false, default));
        Assert.DoesNotContain(loose, nothing.Deleted);
        Assert.Empty(nothing.Deleted.Intersect(used));

        await Versions.InTransactionAsync(Local, async e => { await new RepositoryEngine(e).DeleteAsync(schema, default); return 0; });
        Assert.Equal(0L, await Versions.ImageCountAsync(Local, schema));
        var cleaned = await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).CleanupAsync(false, default));
        Assert.Equal(used.Order(), cleaned.Deleted.Order());
        Assert.DoesNotContain(loose, cleaned.Deleted);
        Assert.Equal(1L, await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = $1", loose));
        // The tables themselves stay.
        Assert.Equal(3L, await Local.ScalarAsync<long>($"SELECT count(*) FROM {schema}.fruits"));

        var all = await Versions.InTransactionAsync(Local, e => new RepositoryEngine(e).CleanupAsync(true, default));
        Assert.Contains(loose, all.Deleted);
    }

    [Fact]
    public async Task Routes_answer_with_problem_details_and_the_story_runs_through_the_api()
    {
        await using var factory = ApiHost.Start(
            ("ConnectionStrings:local", Local.Endpoint.ConnectionString),
            ("ConnectionStrings:remote", Remote.Endpoint.ConnectionString));
        using var api = factory.Client();
        var schema = await FruitsRepositoryAsync(Local);
        var repo = $"/api/engines/local/repositories/{schema}";

        await ExpectProblemAsync(await api.PostAsJsonAsync("/api/engines/local/repositories", new InitRepositoryRequest("pg_catalog")), 403, "Not a user schema");
        await ExpectProblemAsync(await api.GetAsync(repo), 404, "Repository not found");
        var init = await api.PostAsJsonAsync("/api/engines/local/repositories", new InitRepositoryRequest(schema, Message: "start"));
        Assert.Equal(HttpStatusCode.Created, init.StatusCode);
        var first = (await init.Content.ReadFromJsonAsync<RepositoryInfo>())!.Head!;
        await ExpectProblemAsync(await api.PostAsJsonAsync("/api/engines/local/repositories", new InitRepositoryRequest(schema)), 409, "Repository exists");

        await Local.ExecAsync($"UPDATE {schema}.fruits SET name = 'pear' WHERE fruit_id = 1");
        var commit = await api.PostAsJsonAsync($"{repo}/commit", new CommitImageRequest("pear"));
        Assert.Equal(HttpStatusCode.Created, commit.StatusCode);
        var second = (await commit.Content.ReadFromJsonAsync<CommitImageResult>())!.Image.ImageHash;
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"{repo}/commit", new CommitImageRequest("again"))).StatusCode);

        var diff = (await api.GetFromJsonAsync<VersionDiff>($"{repo}/diff?from={first}&to={second}"))!;
        Assert.Equal(new TableDiff("fruits", "modified", 0, 0, 1, false), diff.Tables.Single(t => t.Table == "fruits"));
        var rows = (await api.GetFromJsonAsync<ChangePage>($"{repo}/diff/tables/fruits?from={first}&to={second}"))!;
        Assert.Equal("apple", rows.Entries.Single().OldRow!.Value.GetProperty("name").GetString());
        Assert.Equal("pear", rows.Entries.Single().NewRow!.Value.GetProperty("name").GetString());
        await ExpectProblemAsync(await api.GetAsync($"{repo}/diff"), 400, "No image to diff from");
        await ExpectProblemAsync(await api.GetAsync($"{repo}/images/ffffff"), 404, "Image not found");
        await ExpectProblemAsync(await api.PutAsJsonAsync($"{repo}/tags/HEAD", new SetTagRequest(first)), 400, "Reserved tag");
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsJsonAsync($"{repo}/tags/v1", new SetTagRequest(first))).StatusCode);

        await Local.ExecAsync($"DELETE FROM {schema}.fruits WHERE fruit_id = 2");
        await ExpectProblemAsync(await api.PostAsJsonAsync($"{repo}/checkout", new CheckoutRequest("v1")), 409, "Pending changes");
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"{repo}/checkout", new CheckoutRequest("v1", Force: true))).StatusCode);
        Assert.Contains("(1,apple)", await Local.RowsAsync($"{schema}.fruits"));

        var transferId = Guid.NewGuid();
        var push = await api.PostAsJsonAsync($"{repo}/push?transferId={transferId}", new VersionTransferRequest("remote"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        Assert.Equal(2, (await push.Content.ReadFromJsonAsync<VersionTransferResult>())!.Images.Count);
        var progress = await api.GetFromJsonAsync<JsonElement>($"/api/transfers/{transferId}");
        Assert.Equal("push", progress.GetProperty("direction").GetString());
        Assert.True(progress.GetProperty("finished").GetBoolean());
        await ExpectProblemAsync(await api.PostAsJsonAsync($"{repo}/push", new VersionTransferRequest("local")), 400, "Invalid remote");
        var provenance = (await api.GetFromJsonAsync<List<ObjectProvenance>>("/api/engines/remote/objects/provenance"))!;
        Assert.Contains(provenance, p => p.Schema == schema && p.Table == "fruits" && p.ImageHash == second && p.Position == 1);
    }

    private static async Task ExpectProblemAsync(HttpResponseMessage response, int status, string title)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal(title, problem.Title);
        Assert.False(string.IsNullOrEmpty(problem.Detail));
    }
}
