using System.Diagnostics.CodeAnalysis;
using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>Splitgraph's <c>PostgresEngine</c> object methods and commit; spec §5 scenarios 10–12 and 17.</summary>
public sealed class ObjectTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private const string FruitColumnsPk = "fruit_id int PRIMARY KEY, name varchar";
    private const string FruitColumns = "fruit_id int, name varchar";

    [Fact]
    public async Task StoreFragment_then_StoreObject_make_a_registered_object()
    {
        var schema = await Db.FruitsAsync(primaryKey: true, track: false);
        await using var engine = Db.Engine();
        var objects = new ObjectEngine(engine);
        await objects.StoreFragmentAsync([Objects.Key(new { fruit_id = 1 }), Objects.Key(new { fruit_id = 2 })], [Objects.Key(new { fruit_id = 9 })],
            schema, "frag", schema, "fruits");
        await engine.CommitAsync();
        Assert.Equal(["(1,apple,t)", "(2,orange,t)", "(9,,f)"], await Db.RowsAsync($"{schema}.frag"));

        var id = "o" + new string('a', 62);
        Assert.True(await objects.StoreObjectAsync(id, schema, "frag"));
        await engine.CommitAsync();
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'frag'", schema));
        Assert.Equal(["(1,apple,t)", "(2,orange,t)", "(9,,f)"], await Db.RowsAsync($"splitgraph_meta.{id}"));
        Assert.Equal(
            [new(1, "fruit_id", "integer", true), new(2, "name", "character varying", false), new(3, "sg_ud_flag", "boolean", false)],
            await objects.GetObjectSchemaAsync(id));
        Assert.Equal(3L, await Db.ScalarAsync<long>("SELECT row_count FROM splitgraph_meta.objects WHERE object_id = $1", id));

        // Same ID again: a no-op that still removes the staging table.
        await objects.StoreFragmentAsync([Objects.Key(new { fruit_id = 1 })], [], schema, "frag2", schema, "fruits");
        Assert.False(await objects.StoreObjectAsync(id, schema, "frag2"));
        await engine.CommitAsync();
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema)); // only fruits
        Assert.Equal(3, (await Db.RowsAsync($"splitgraph_meta.{id}")).Count);

        await Assert.ThrowsAsync<InvalidInputException>(() => objects.StoreObjectAsync("o123", schema, "fruits"));
        await Assert.ThrowsAsync<InvalidInputException>(() => objects.StoreObjectAsync("o" + new string('b', 62), schema, "fruits")); // no sg_ud_flag
        await Assert.ThrowsAsync<TableNotFoundException>(() => objects.StoreFragmentAsync([], [], schema, "frag3", schema, "nope"));
    }

    [Fact]
    public async Task A_staging_name_can_be_reused_after_its_table_became_an_object()
    {
        var schema = await Db.FruitsAsync(primaryKey: true, track: false);
        await using var engine = Db.Engine();
        var objects = new ObjectEngine(engine);
        var ids = new List<string>();
        foreach (var key in new[] { 1, 2 })
        {
            // The staging table's key index moves with it; its name must not block the next staging table.
            await objects.StoreFragmentAsync([Objects.Key(new { fruit_id = key })], [], schema, "stage", schema, "fruits");
            var (id, created) = await objects.StoreContentAddressedAsync(schema, "stage");
            Assert.True(created);
            ids.Add(id);
        }

        await engine.CommitAsync();
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(["(1,apple,t)"], await Db.RowsAsync($"splitgraph_meta.{ids[0]}"));
        Assert.Equal(["(2,orange,t)"], await Db.RowsAsync($"splitgraph_meta.{ids[1]}"));
    }

    [Fact]
    public async Task StoreFragment_on_a_table_without_key_keeps_nulls_and_duplicates()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (a int, b text, j jsonb); INSERT INTO {schema}.t VALUES (1, NULL, '{{}}'), (1, NULL, '[1]'), (2, 'x', NULL)");
        await using var engine = Db.Engine();
        await new ObjectEngine(engine).StoreFragmentAsync([Objects.Key(new { a = 1, b = (string?)null })], [Objects.Key(new { a = 2, b = "x" })], schema, "frag", schema, "t");
        await engine.CommitAsync();
        Assert.Equal(["(1,,[1],t)", "(1,,{},t)", "(2,x,,f)"], await Db.RowsAsync($"{schema}.frag"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario10_ApplyFragments_in_order_later_fragments_win(bool primaryKey)
    {
        var schema = await Db.NewSchemaAsync();
        var columns = primaryKey ? FruitColumnsPk : FruitColumns;
        await Db.ExecAsync($"CREATE TABLE {schema}.fruits ({FruitColumns})");
        var baseId = await Objects.FromRowsAsync(Db, schema, columns, "(1,'a',true),(2,'b',true),(3,'c',true)");
        // Without a key, an update is a delete of the old row plus an upsert of the new one.
        var patch1 = await Objects.FromRowsAsync(Db, schema, columns, primaryKey
            ? "(2,'B',true),(3,NULL,false),(4,'d',true)"
            : "(2,'b',false),(2,'B',true),(3,'c',false),(4,'d',true)");
        var patch2 = await Objects.FromRowsAsync(Db, schema, columns, primaryKey ? "(4,'D',true)" : "(4,'d',false),(4,'D',true)");

        var result = await Objects.ApplyAsync(Db, [baseId, patch1, patch2], schema, "fruits");
        Assert.Equal(["(1,a)", "(2,B)", "(4,D)"], await Db.RowsAsync($"{schema}.fruits"));
        // The result counts what the commits mean (upserts written, rows their deletes removed), per fragment in order.
        Assert.Equal(
            primaryKey
                ? [new FragmentApplied(baseId, 3, 0), new FragmentApplied(patch1, 2, 1), new FragmentApplied(patch2, 1, 0)]
                : [new FragmentApplied(baseId, 3, 0), new FragmentApplied(patch1, 2, 2), new FragmentApplied(patch2, 1, 1)],
            result.Fragments);
        Assert.Equal((6L, primaryKey ? 1L : 3L), (result.Upserted, result.Deleted));

        // With a key, applying again changes nothing (idempotent). Without one, fragments are multiset changes (issue
        // 15): their upserts add one copy each, so applying them again adds the copies again.
        await Objects.ApplyAsync(Db, [baseId, patch1, patch2], schema, "fruits");
        Assert.Equal(primaryKey ? ["(1,a)", "(2,B)", "(4,D)"] : ["(1,a)", "(1,a)", "(2,B)", "(2,B)", "(4,D)", "(4,D)"],
            await Db.RowsAsync($"{schema}.fruits"));

        // With a filter only key 2 is inserted, but every delete still applies.
        await Db.ExecAsync($"TRUNCATE {schema}.fruits; INSERT INTO {schema}.fruits VALUES (1,'a'),(2,'b'),(3,'c')");
        await Objects.ApplyAsync(Db, [patch1, patch2], schema, "fruits", [new RowFilter("fruit_id", "=", "2")]);
        Assert.Equal(["(1,a)", "(2,B)"], await Db.RowsAsync($"{schema}.fruits"));
    }

    [Fact]
    public async Task Scenario11_fragment_deleting_a_row_with_a_null_removes_one_copy_of_it()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (a int, b text); INSERT INTO {schema}.t VALUES (1, NULL), (2, 'x'), (3, '')");
        var delete = await Objects.FromRowsAsync(Db, schema, "a int, b text", "(1,NULL,false)");
        await Objects.ApplyAsync(Db, [delete], schema, "t");
        Assert.Equal(["(2,x)", "(3,\"\")"], await Db.RowsAsync($"{schema}.t"));

        // Without a key an upsert adds one copy (a duplicate is a row too) and a delete removes one; '' is not NULL.
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (1, NULL), (3, NULL), (3, NULL)");
        var upsert = await Objects.FromRowsAsync(Db, schema, "a int, b text", "(1,NULL,true),(3,NULL,false)");
        await Objects.ApplyAsync(Db, [upsert], schema, "t");
        Assert.Equal(["(1,)", "(1,)", "(2,x)", "(3,\"\")", "(3,)"], await Db.RowsAsync($"{schema}.t"));
    }

    [Fact]
    public async Task Scenario12_commit_makes_an_object_and_consumes_only_that_tables_changes()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"CREATE TABLE {schema}.other (id int)");
        await Objects.TrackAsync(Db, schema, "other");
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'kiwi'); DELETE FROM {schema}.fruits WHERE fruit_id = 1; INSERT INTO {schema}.other VALUES (1)");

        var result = await Objects.CommitAsync(Db, schema, "fruits");
        Assert.NotNull(result.ObjectId);
        Assert.True(result.Created);
        Assert.Equal((1L, 1L), (result.Upserts, result.Deletes));

        await using var engine = Db.Engine();
        var objects = new ObjectEngine(engine);
        Assert.Equal(
            [new(1, "fruit_id", "integer", true), new(2, "name", "character varying", false), new(3, "sg_ud_flag", "boolean", false)],
            await objects.GetObjectSchemaAsync(result.ObjectId!));
        Assert.True(await objects.GetObjectSizeAsync(result.ObjectId!) > 0);
        Assert.Equal(["(1,,f)", "(3,kiwi,t)"], await Db.RowsAsync($"splitgraph_meta.\"{result.ObjectId}\""));
        var changes = new ChangeEngine(engine);
        Assert.Equal(["other"], await changes.GetChangedTablesAsync(schema));
        Assert.Equal(new AggregateChanges(1, 0, 0), await changes.GetAggregateChangesAsync(schema, "other"));

        var detail = await objects.GetObjectAsync(result.ObjectId!);
        Assert.Equal(2L, detail.RowCount);
        Assert.Contains(await objects.ListObjectsAsync(), o => o.ObjectId == result.ObjectId);

        // A snapshot commit stores the whole table, leaving the log alone.
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (5, 'lime')");
        var snapshot = await Objects.CommitAsync(Db, schema, "fruits", snapshot: true);
        Assert.Equal(["(2,orange,t)", "(3,kiwi,t)", "(5,lime,t)"], await Db.RowsAsync($"splitgraph_meta.\"{snapshot.ObjectId}\""));
        Assert.Equal(new AggregateChanges(1, 0, 0), await changes.GetAggregateChangesAsync(schema, "fruits"));

        await Db.ExecAsync($"CREATE TABLE {schema}.untracked (id int)");
        await Assert.ThrowsAsync<TableNotTrackedException>(() => Objects.CommitAsync(Db, schema, "untracked"));
    }

    [Fact]
    public async Task DeleteObjects_reports_unknown_ids_and_removes_the_rest()
    {
        var schema = await Db.NewSchemaAsync();
        var a = await Objects.FromRowsAsync(Db, schema, FruitColumnsPk, "(1,'a',true)");
        var b = await Objects.FromRowsAsync(Db, schema, FruitColumnsPk, "(2,'b',true)");
        var unknown = "o" + new string('0', 62);
        await using var engine = Db.Engine();
        var objects = new ObjectEngine(engine);
        var result = await objects.DeleteObjectsAsync([a, unknown, a]);
        await engine.CommitAsync();
        Assert.Equal([a], result.Deleted);
        Assert.Equal([unknown], result.Missing);
        Assert.False(await objects.ExistsAsync(a));
        Assert.True(await objects.ExistsAsync(b));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'splitgraph_meta' AND tablename = $1", a));

        await Assert.ThrowsAsync<InvalidInputException>(() => objects.DeleteObjectsAsync([b, "o123"]));
        Assert.True(await objects.ExistsAsync(b));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => objects.GetObjectSchemaAsync(a));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => objects.GetObjectSizeAsync(a));
        await Assert.ThrowsAsync<InvalidInputException>(() => objects.GetObjectSizeAsync("O" + new string('A', 62)));
    }

    [Fact]
    public async Task Scenario17_bad_input_is_rejected_with_typed_errors_and_changes_nothing()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"CREATE TABLE {schema}.y (id int); CREATE TABLE {schema}.wide (fruit_id int, name varchar, extra int)");
        var good = await Objects.FromRowsAsync(Db, schema, FruitColumnsPk, "(1,'changed',true)");
        var before = await Db.RowsAsync($"{schema}.fruits");
        await using var engine = Db.Engine();
        var applier = new FragmentApplier(engine);

        var malformed = await Assert.ThrowsAsync<InvalidInputException>(() => applier.ApplyFragmentsAsync(["o123"], schema, "fruits"));
        Assert.Equal(400, malformed.StatusCode);
        await Assert.ThrowsAsync<InvalidInputException>(() => applier.ApplyFragmentsAsync([good, "o" + new string('g', 62)], schema, "fruits"));
        await Assert.ThrowsAsync<InvalidInputException>(() => applier.ApplyFragmentsAsync([], schema, "fruits"));
        var unknown = await Assert.ThrowsAsync<ObjectNotFoundException>(() => applier.ApplyFragmentsAsync([good, "o" + new string('1', 62)], schema, "fruits"));
        Assert.Equal(404, unknown.StatusCode);
        await Assert.ThrowsAsync<TableNotFoundException>(() => applier.ApplyFragmentsAsync([good], "x\"; drop table y; --", "fruits"));
        await Assert.ThrowsAsync<TableNotFoundException>(() => applier.ApplyFragmentsAsync([good], schema, "y\"; drop table y; --"));
        var mismatch = await Assert.ThrowsAsync<ConflictException>(() => applier.ApplyFragmentsAsync([good], schema, "wide"));
        Assert.Equal(409, mismatch.StatusCode);
        await Assert.ThrowsAsync<InvalidInputException>(() => applier.ApplyFragmentsAsync([good], schema, "fruits", [new RowFilter("name\"; drop table y; --", "=", "x")]));
        await Assert.ThrowsAsync<InvalidInputException>(() => applier.ApplyFragmentsAsync([good], schema, "fruits", [new RowFilter("name", "; drop table y; --", "x")]));
        // A filter value is a parameter: an injection attempt is just a value that matches nothing.
        await Assert.ThrowsAsync<SqlRejectedException>(() => applier.ApplyFragmentsAsync([good], schema, "fruits", [new RowFilter("fruit_id", "=", "1; drop table y")]));
        await engine.CommitAsync();

        Assert.Equal(before, await Db.RowsAsync($"{schema}.fruits"));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'y'", schema));

        var changes = new ChangeEngine(engine);
        await Assert.ThrowsAsync<TableNotFoundException>(() => changes.GetNetChangesAsync("x\"; drop table y; --", "fruits"));
        await Assert.ThrowsAsync<TableNotFoundException>(() => engine.DumpTableSqlAsync("x\"; drop table y; --", "fruits", TextWriter.Null));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => new ObjectEngine(engine).DumpObjectAsync("o" + new string('2', 62), TextWriter.Null));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'y'", schema));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Commit_then_apply_onto_the_previous_state_reproduces_the_table_with_rich_types(bool primaryKey)
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync(
            $$"""
            CREATE TABLE {{schema}}.rich (id int{{(primaryKey ? " PRIMARY KEY" : string.Empty)}}, label text, j json, jb jsonb, raw bytea,
                at timestamptz, tags text[], nums int[], amount numeric(12,3), ratio double precision);
            INSERT INTO {{schema}}.rich VALUES
                (1, 'it''s', '{"a": [1, 2]}', '{"b": null}', '\x00ff', '2024-02-29 23:59:59.123456+05:30', '{"x,y", "q\"uote"}', '{1,NULL,3}', 1.5, 0.1),
                (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                (3, 'three', '[]', '[]', '\x', 'infinity', '{}', '{}', -0.001, 'NaN');
            """);
        await Objects.TrackAsync(Db, schema, "rich");
        await Objects.CopyTableAsync(Db, schema, "rich", "before");
        await Db.ExecAsync(
            $$"""
            INSERT INTO {{schema}}.rich VALUES (4, 'four', '{"k": "v"}', '{"k": 1.50}', '\xdeadbeef', '1999-12-31 12:00:00-08', '{é,"ü ñ"}', '{4}', 4.25, 1e-300);
            INSERT INTO {{schema}}.rich VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ON CONFLICT DO NOTHING;
            UPDATE {{schema}}.rich SET jb = '{"b": 2}', raw = '\x01', at = at + interval '1 hour' WHERE id = 1;
            UPDATE {{schema}}.rich SET label = 'gone soon' WHERE id = 3;
            DELETE FROM {{schema}}.rich WHERE id = 3;
            """);

        var result = await Objects.CommitAsync(Db, schema, "rich");
        Assert.NotNull(result.ObjectId);
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.rich"), await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Commit_then_apply_reproduces_a_table_without_key_with_nulls_and_duplicates()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (a int, b text, c jsonb); INSERT INTO {schema}.t VALUES (1, NULL, '1'), (1, NULL, '1'), (2, 'x', NULL), (3, 'y', '[]')");
        await Objects.TrackAsync(Db, schema, "t");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Db.ExecAsync(
            $$"""
            INSERT INTO {{schema}}.t VALUES (5, NULL, NULL), (5, NULL, NULL), (2, 'x', NULL);
            DELETE FROM {{schema}}.t WHERE ctid = (SELECT min(ctid) FROM {{schema}}.t WHERE a = 1);
            UPDATE {{schema}}.t SET c = '{"z": 1}' WHERE a = 3;
            """);
        Assert.Equal(6, (await Db.RowsAsync($"{schema}.t")).Count);

        var result = await Objects.CommitAsync(Db, schema, "t");
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Columns_named_like_internal_aliases_and_json_null_survive_tracking_and_commit()
    {
        // r, t, s, k are aliases inside the engine's SQL; a bare alias would mean the column instead of the row.
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (t int PRIMARY KEY, r text, s int, k jsonb); INSERT INTO {schema}.t VALUES (1, NULL, NULL, 'null')");
        await Objects.TrackAsync(Db, schema, "t");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (2, NULL, NULL, 'null'), (3, 'x', 3, NULL); DELETE FROM {schema}.t WHERE t = 1");
        await using (var engine = Db.Engine())
        {
            Assert.Equal(new AggregateChanges(2, 1, 0), await new ChangeEngine(engine).GetAggregateChangesAsync(schema, "t"));
        }

        var result = await Objects.CommitAsync(Db, schema, "t");
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(["(2,,,null)", "(3,x,3,)"], await Db.RowsAsync($"{schema}.before"));
        Assert.Equal(1L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.before WHERE k = 'null'::jsonb"));
        await Db.ExecAsync($"TRUNCATE {schema}.t");
        Assert.Equal(2L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND action = 'D'", schema));
    }

    [Fact]
    public async Task Commit_and_apply_with_mixed_case_and_quoted_names()
    {
        var schema = "My Schema " + Guid.NewGuid().ToString("N")[..6];
        const string table = "Odd\"Table";
        await Db.ExecAsync(
            $""""
            CREATE SCHEMA "{schema}";
            CREATE TABLE "{schema}"."Odd""Table" ("Key A" int, "key a" text, "Value""" text, PRIMARY KEY ("key a", "Key A"));
            INSERT INTO "{schema}"."Odd""Table" VALUES (1, 'x', 'one'), (2, 'y', 'two');
            """");
        await Objects.TrackAsync(Db, schema, table);
        await Objects.CopyTableAsync(Db, schema, table, "Copy\"Of");
        await Db.ExecAsync($""""UPDATE "{schema}"."Odd""Table" SET "key a" = 'z', "Value""" = 'moved' WHERE "Key A" = 1; DELETE FROM "{schema}"."Odd""Table" WHERE "Key A" = 2"""");

        var result = await Objects.CommitAsync(Db, schema, table);
        Assert.Equal((1L, 2L), (result.Upserts, result.Deletes));
        await using (var engine = Db.Engine())
        {
            var spec = await new ObjectEngine(engine).GetObjectSchemaAsync(result.ObjectId!);
            Assert.Equal(["Key A", "key a", "Value\"", "sg_ud_flag"], spec.Select(c => c.Name));
            Assert.Equal([true, true, false, false], spec.Select(c => c.IsPrimaryKey));
        }

        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "Copy\"Of");
        Assert.Equal(await Db.RowsAsync($"\"{schema}\".\"Odd\"\"Table\""), await Db.RowsAsync($"\"{schema}\".\"Copy\"\"Of\""));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public async Task Commit_while_another_connection_keeps_writing_loses_and_doubles_nothing(bool primaryKey)
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int{(primaryKey ? " PRIMARY KEY" : string.Empty)}, v int); INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(1, 200) g");
        await Objects.TrackAsync(Db, schema, "t");
        await Objects.CopyTableAsync(Db, schema, "t", "before");

        using var stop = new CancellationTokenSource();
        var firstCommitDone = new TaskCompletionSource();
        var writes = 0;
        var writer = Task.Run(async () =>
        {
            await using var connection = await Db.DataSource.OpenConnectionAsync();
            var random = new Random(42);
            // Keeps writing until told to stop, and at least 200 statements after the first commit.
            var afterCommit = 0;
            while (!stop.IsCancellationRequested || afterCommit < 200)
            {
                var id = random.Next(1, 400);
                var sql = random.Next(3) switch
                {
                    0 => $"INSERT INTO {schema}.t SELECT {id}, {writes} WHERE NOT EXISTS (SELECT 1 FROM {schema}.t WHERE id = {id})",
                    1 => $"UPDATE {schema}.t SET v = v + 1 WHERE id = {id}",
                    _ => $"DELETE FROM {schema}.t WHERE id = {id}",
                };
                await using var command = new Npgsql.NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync();
                writes++;
                if (firstCommitDone.Task.IsCompleted)
                {
                    afterCommit++;
                }
            }
        });

        using (var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            while (Volatile.Read(ref writes) < 300)
            {
                await Task.Delay(10, bound.Token);
            }
        }

        var first = await Objects.CommitAsync(Db, schema, "t");
        firstCommitDone.SetResult();
        await stop.CancelAsync();
        await writer;

        var second = await Objects.CommitAsync(Db, schema, "t");
        Assert.NotNull(first.ObjectId);
        Assert.NotNull(second.ObjectId);
        await using (var engine = Db.Engine())
        {
            Assert.False(await new ChangeEngine(engine).HasPendingChangesAsync(schema));
        }

        await Objects.ApplyAsync(Db, [first.ObjectId!, second.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task A_100k_row_commit_and_apply()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.big (id int PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)");
        await Objects.TrackAsync(Db, schema, "big");
        await Objects.CopyTableAsync(Db, schema, "big", "copy");
        await Db.ExecAsync($"INSERT INTO {schema}.big SELECT g, 'row ' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 100000) g");

        var result = await Objects.CommitAsync(Db, schema, "big");
        Assert.Equal(100_000L, result.Upserts);

        var applied = await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "copy");
        Assert.Equal((100_000L, 0L), (applied.Upserted, applied.Deleted));

        Assert.Equal(0L, await Db.ScalarAsync<long>(
            $"SELECT count(*) FROM (SELECT * FROM {schema}.big EXCEPT ALL SELECT * FROM {schema}.copy UNION ALL (SELECT * FROM {schema}.copy EXCEPT ALL SELECT * FROM {schema}.big)) d"));
        Assert.Equal(100_000L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.copy"));
    }
}
