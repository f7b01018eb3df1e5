using System.Diagnostics.CodeAnalysis;
using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>Splitgraph's <c>AuditTriggerChangeEngine</c> and the net-change view; spec §5 scenarios 1–9.</summary>
public sealed class ChangeTrackingTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private async Task<ChangePage> PendingAsync(string schema, string table = "fruits")
    {
        await using var engine = Db.Engine();
        return await new ChangeEngine(engine).GetPendingChangesAsync(schema, table);
    }

    private async Task<ChangePage> NetAsync(string schema, string table = "fruits")
    {
        await using var engine = Db.Engine();
        return await new ChangeEngine(engine).GetNetChangesAsync(schema, table);
    }

    private async Task<AggregateChanges> AggregateAsync(string schema, string table = "fruits")
    {
        await using var engine = Db.Engine();
        return await new ChangeEngine(engine).GetAggregateChangesAsync(schema, table);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario01_track_then_untrack_deletes_pending_changes(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync($"CREATE TABLE {schema}.other (id int); INSERT INTO {schema}.other VALUES (1)");
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        await changes.TrackTablesAsync([new TableRef(schema, "fruits"), new TableRef(schema, "fruits")]); // idempotent
        await changes.TrackTablesAsync([new TableRef(schema, "other")]);
        await engine.CommitAsync();
        Assert.Contains(new TableRef(schema, "fruits"), await changes.GetTrackedTablesAsync());
        Assert.True(await changes.IsTrackedAsync(schema, "fruits"));

        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'kiwi'); UPDATE {schema}.other SET id = 2");
        Assert.True(await changes.HasPendingChangesAsync(schema));
        Assert.Equal(["fruits", "other"], await changes.GetChangedTablesAsync(schema));

        await changes.UntrackTablesAsync([new TableRef(schema, "fruits")]);
        await engine.CommitAsync();
        var tracked = await changes.GetTrackedTablesAsync();
        Assert.DoesNotContain(new TableRef(schema, "fruits"), tracked);
        Assert.Contains(new TableRef(schema, "other"), tracked);
        Assert.Equal(["other"], await changes.GetChangedTablesAsync(schema));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass", $"{schema}.fruits"));

        // Not logged any more.
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (4, 'fig')");
        Assert.Equal(["other"], await changes.GetChangedTablesAsync(schema));
    }

    [Fact]
    public async Task Track_and_untrack_of_an_unknown_table_are_404s_and_change_nothing()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        var before = await changes.GetTrackedTablesAsync();

        var missing = await Assert.ThrowsAsync<TableNotFoundException>(() => changes.TrackTablesAsync([new TableRef(schema, "nope")]));
        Assert.Equal(404, missing.StatusCode);
        await Assert.ThrowsAsync<TableNotFoundException>(() => changes.UntrackTablesAsync([new TableRef("x\"; drop table y; --", "fruits")]));
        await Assert.ThrowsAsync<TableNotFoundException>(() => changes.GetPendingChangesAsync("nope", "fruits"));
        await Assert.ThrowsAsync<InvalidInputException>(() => changes.TrackTablesAsync([new TableRef(schema, new string('x', 64))]));
        await Assert.ThrowsAsync<InvalidInputException>(() => changes.TrackTablesAsync([new TableRef(schema, "a\0b")]));
        Assert.Equal(before, await changes.GetTrackedTablesAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario02_aggregate_and_detailed_changes(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync(
            $"INSERT INTO {schema}.fruits VALUES (3, 'mayonnaise'); DELETE FROM {schema}.fruits WHERE fruit_id = 1; " +
            $"UPDATE {schema}.fruits SET name = 'guitar' WHERE fruit_id = 2");

        Assert.Equal(new AggregateChanges(1, 1, 1), await AggregateAsync(schema));
        var page = await PendingAsync(schema);
        Assert.Null(page.NextAfter);
        if (primaryKey)
        {
            Assert.Equal(
            [
                """+{"fruit_id":3} {"fruit_id":3,"name":"mayonnaise"}""",
                """-{"fruit_id":1}""",
                """+{"fruit_id":2} {"fruit_id":2,"name":"guitar"}""",
            ], Describe.Entries(page));
            Assert.Equal("""{"fruit_id":2,"name":"orange"}""", Describe.Canon(page.Entries[2].OldRow));
            Assert.Equal("""{"fruit_id":1,"name":"apple"}""", Describe.Canon(page.Entries[1].OldRow));
        }
        else
        {
            Assert.Equal(
            [
                """+{"fruit_id":3,"name":"mayonnaise"} {"fruit_id":3,"name":"mayonnaise"}""",
                """-{"fruit_id":1,"name":"apple"}""",
                """-{"fruit_id":2,"name":"orange"}""",
                """+{"fruit_id":2,"name":"guitar"} {"fruit_id":2,"name":"guitar"}""",
            ], Describe.Entries(page));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario03_delete_then_reinsert_is_no_net_change_and_commit_makes_no_object(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync($"DELETE FROM {schema}.fruits WHERE fruit_id = 1; INSERT INTO {schema}.fruits VALUES (1, 'apple')");
        Assert.Equal(new AggregateChanges(1, 1, 0), await AggregateAsync(schema));
        Assert.Empty((await NetAsync(schema)).Entries);

        await using var engine = Db.Engine();
        engine.IsolationLevel = TableCommitter.Isolation;
        var objectsBefore = (await new ObjectEngine(engine).ListObjectsAsync()).Count;
        var result = await new TableCommitter(engine).CommitAsync(schema, "fruits");
        await engine.CommitAsync();
        Assert.Null(result.ObjectId);
        Assert.Equal((0L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(objectsBefore, (await new ObjectEngine(engine).ListObjectsAsync()).Count);
        Assert.Empty((await PendingAsync(schema)).Entries);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario04_insert_then_update_is_one_upsert(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'mayonnaise'); UPDATE {schema}.fruits SET name = 'mustard' WHERE fruit_id = 3");
        var key = primaryKey ? """{"fruit_id":3}""" : """{"fruit_id":3,"name":"mustard"}""";
        Assert.Equal([$$"""+{{key}} {"fruit_id":3,"name":"mustard"}"""], Describe.Entries(await NetAsync(schema)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario05_changes_that_cancel_out_leave_no_net_change(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync(
            $"INSERT INTO {schema}.fruits VALUES (4, 'fig'); UPDATE {schema}.fruits SET name = 'date' WHERE fruit_id = 4; DELETE FROM {schema}.fruits WHERE fruit_id = 4;" +
            $"UPDATE {schema}.fruits SET name = 'pineapple' WHERE fruit_id = 1; UPDATE {schema}.fruits SET name = 'apple' WHERE fruit_id = 1");
        Assert.Equal(new AggregateChanges(1, 1, 3), await AggregateAsync(schema));
        Assert.Empty((await NetAsync(schema)).Entries);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario06_update_then_delete_is_a_delete(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync($"UPDATE {schema}.fruits SET name = 'pineapple' WHERE fruit_id = 1; DELETE FROM {schema}.fruits WHERE fruit_id = 1");
        var net = await NetAsync(schema);
        Assert.Equal([primaryKey ? """-{"fruit_id":1}""" : """-{"fruit_id":1,"name":"apple"}"""], Describe.Entries(net));
        Assert.Equal("""{"fruit_id":1,"name":"apple"}""", Describe.Canon(net.Entries[0].OldRow));
    }

    [Fact]
    public async Task Scenario07_key_changing_update_on_a_composite_key()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync(
            $"CREATE TABLE {schema}.t (pk1 int, pk2 bigint, col1 text, col2 text, PRIMARY KEY (pk1, pk2)); INSERT INTO {schema}.t VALUES (1, 1, 'v1', 'v2')");
        await using (var engine = Db.Engine())
        {
            await new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, "t")]);
            await engine.CommitAsync();
        }

        await Db.ExecAsync($"UPDATE {schema}.t SET pk2 = 2, col1 = 'v3'");
        var expected = new List<string>
        {
            """-{"pk1":1,"pk2":1}""",
            """+{"pk1":1,"pk2":2} {"col1":"v3","col2":"v2","pk1":1,"pk2":2}""",
        };
        var pending = await PendingAsync(schema, "t");
        Assert.Equal(expected, Describe.Entries(pending));
        Assert.Equal(System.Text.Json.JsonValueKind.Number, pending.Entries[1].PrimaryKey.GetProperty("pk2").ValueKind);
        Assert.Equal(expected, Describe.Entries(await NetAsync(schema, "t")));
        Assert.Equal(new AggregateChanges(0, 0, 1), await AggregateAsync(schema, "t"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario08_noop_update_is_not_logged_and_truncate_becomes_deletes(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await Db.ExecAsync($"UPDATE {schema}.fruits SET name = name");
        Assert.Empty((await PendingAsync(schema)).Entries);
        await using (var engine = Db.Engine())
        {
            Assert.False(await new ChangeEngine(engine).HasPendingChangesAsync(schema));
        }

        await Db.ExecAsync($"TRUNCATE {schema}.fruits");
        Assert.Equal(new AggregateChanges(0, 2, 0), await AggregateAsync(schema));
        var net = Describe.Entries(await NetAsync(schema));
        Assert.Equal(
            primaryKey ? ["""-{"fruit_id":1}""", """-{"fruit_id":2}"""] : ["""-{"fruit_id":1,"name":"apple"}""", """-{"fruit_id":2,"name":"orange"}"""],
            net.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scenario09_rolled_back_changes_are_not_pending(bool primaryKey)
    {
        var schema = await Db.FruitsAsync(primaryKey);
        await using (var engine = Db.Engine())
        {
            await engine.RunSqlAsync($"INSERT INTO {schema}.fruits VALUES (3, 'kiwi'); UPDATE {schema}.fruits SET name = 'x'; TRUNCATE {schema}.fruits", null, ResultShape.None);
            await engine.RollbackAsync();
        }

        Assert.Empty((await PendingAsync(schema)).Entries);
        Assert.Equal(["(1,apple)", "(2,orange)"], await Db.RowsAsync($"{schema}.fruits"));
    }

    [Fact]
    public async Task GetPendingChanges_pages_with_an_event_cursor()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"INSERT INTO {schema}.fruits SELECT g, 'f' || g FROM generate_series(3, 9) g; UPDATE {schema}.fruits SET name = 'changed' WHERE fruit_id <= 2");
        var full = await PendingAsync(schema);
        Assert.Equal(9, full.Entries.Count);

        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        var paged = new List<ChangeEntry>();
        long after = 0;
        var pages = 0;
        while (true)
        {
            var page = await changes.GetPendingChangesAsync(schema, "fruits", after, limit: 4);
            paged.AddRange(page.Entries);
            pages++;
            if (page.NextAfter is null)
            {
                break;
            }

            after = page.NextAfter.Value;
        }

        Assert.Equal(3, pages);
        Assert.Equal(Describe.Entries(full), paged.Select(Describe.Entry).ToList());
        Assert.Equal(full.Entries.Select(e => e.EventId), paged.Select(e => e.EventId));

        // Net changes page the same way.
        var netPage = await changes.GetNetChangesAsync(schema, "fruits", 0, limit: 5);
        Assert.Equal(5, netPage.Entries.Count);
        var rest = await changes.GetNetChangesAsync(schema, "fruits", netPage.NextAfter!.Value, limit: 5);
        Assert.Equal(4, rest.Entries.Count);
        Assert.Null(rest.NextAfter);
    }

    [Fact]
    public async Task DiscardPendingChanges_of_one_table_or_the_whole_schema()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"CREATE TABLE {schema}.veg (id int PRIMARY KEY)");
        var other = await Db.FruitsAsync(primaryKey: true);
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        await changes.TrackTablesAsync([new TableRef(schema, "veg")]);
        await engine.CommitAsync();
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'a'); INSERT INTO {schema}.veg VALUES (1), (2); INSERT INTO {other}.fruits VALUES (3, 'b')");

        Assert.Equal(1L, await changes.DiscardPendingChangesAsync(schema, "fruits"));
        await engine.CommitAsync();
        Assert.Equal(["veg"], await changes.GetChangedTablesAsync(schema));
        Assert.Equal(2L, await changes.DiscardPendingChangesAsync(schema));
        await engine.CommitAsync();
        Assert.False(await changes.HasPendingChangesAsync(schema));
        Assert.Empty(await changes.GetChangedTablesAsync(schema));
        Assert.True(await changes.HasPendingChangesAsync(other)); // other schemas untouched
        Assert.Equal(0L, await changes.DiscardPendingChangesAsync(schema, "no_such_table"));
    }

    [Fact]
    public async Task Mixed_case_and_quoted_names_are_tracked()
    {
        var schema = "My Schema " + Guid.NewGuid().ToString("N")[..6];
        const string table = "Odd\"Table";
        await Db.ExecAsync(
            $"""
            CREATE SCHEMA "{schema}";
            CREATE TABLE "{schema}"."Odd""Table" ("Key Col" int PRIMARY KEY, "Value" text, "x""; drop table y; --" text);
            INSERT INTO "{schema}"."Odd""Table" VALUES (1, 'one', 'a');
            """);
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        await changes.TrackTablesAsync([new TableRef(schema, table)]);
        await engine.CommitAsync();
        Assert.Contains(new TableRef(schema, table), await changes.GetTrackedTablesAsync());

        await Db.ExecAsync($"""INSERT INTO "{schema}"."Odd""Table" VALUES (2, 'two', 'b'); UPDATE "{schema}"."Odd""Table" SET "Value" = 'uno' WHERE "Key Col" = 1""");
        Assert.Equal([table], await changes.GetChangedTablesAsync(schema));
        Assert.Equal(new AggregateChanges(1, 0, 1), await changes.GetAggregateChangesAsync(schema, table));
        var net = await changes.GetNetChangesAsync(schema, table);
        Assert.Equal(
            [
                """+{"Key Col":2} {"Key Col":2,"Value":"two","x\"; drop table y; --":"b"}""",
                """+{"Key Col":1} {"Key Col":1,"Value":"uno","x\"; drop table y; --":"a"}""",
            ], Describe.Entries(net));
        await changes.UntrackTablesAsync([new TableRef(schema, table)]);
        await engine.CommitAsync();
        Assert.False(await changes.HasPendingChangesAsync(schema));
    }

    [Fact]
    public async Task Concurrent_writers_lose_no_change()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int)");
        await using (var engine = Db.Engine())
        {
            await new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, "t")]);
            await engine.CommitAsync();
        }

        // 8 connections × 1,000 single-row statements each (500 inserts, 300 updates, 200 deletes), 50 per round trip.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            await using var connection = await Db.DataSource.OpenConnectionAsync();
            var statements = new List<string>();
            var id = writer * 10_000;
            statements.AddRange(Enumerable.Range(0, 500).Select(i => $"INSERT INTO {schema}.t VALUES ({id + i}, 0)"));
            statements.AddRange(Enumerable.Range(0, 300).Select(i => $"UPDATE {schema}.t SET v = 1 WHERE id = {id + i}"));
            statements.AddRange(Enumerable.Range(300, 200).Select(i => $"DELETE FROM {schema}.t WHERE id = {id + i}"));
            foreach (var chunk in statements.Chunk(50))
            {
                await using var batch = new NpgsqlBatch(connection);
                foreach (var statement in chunk)
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand(statement));
                }

                await batch.ExecuteNonQueryAsync();
            }
        })));

        Assert.Equal(8_000L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema));
        Assert.Equal(new AggregateChanges(4_000, 1_600, 2_400), await AggregateAsync(schema, "t"));
        // The net change is 2,400 upserts (300 updated, 200 untouched inserts per writer): read in 1,000-row pages.
        var all = new List<ChangeEntry>();
        await using (var engine = Db.Engine())
        {
            long after = 0;
            ChangePage page;
            do
            {
                page = await new ChangeEngine(engine).GetNetChangesAsync(schema, "t", after, 1000);
                all.AddRange(page.Entries);
                after = page.NextAfter ?? 0;
            }
            while (page.NextAfter is not null);
        }

        Assert.Equal(2_400, all.Count);
        Assert.All(all, e => Assert.True(e.Upserted));
        Assert.Equal(2_400L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t"));
    }

    /// <summary>The raw counts, straight from the log (what the counters must always equal); a bulk entry counts its keys.</summary>
    private async Task<AggregateChanges> LogCountsAsync(string schema, string table)
    {
        var counts = await Db.ScalarAsync<long[]>(
            """
            SELECT ARRAY[coalesce(sum(coalesce(jsonb_array_length(row_data -> 'id'), 1)) FILTER (WHERE action = 'I' AND changed_fields IS NOT NULL), 0)
                         + count(*) FILTER (WHERE action = 'I' AND changed_fields IS NULL),
                         count(*) FILTER (WHERE action = 'D'), count(*) FILTER (WHERE action = 'U')]
            FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND table_name = $2
            """, schema, table);
        return new AggregateChanges(counts[0], counts[1], counts[2]);
    }

    [Fact]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public async Task Counts_equal_the_log_through_concurrent_writers_commits_truncate_and_discard()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(1, 500) g");
        await Objects.TrackAsync(Db, schema, "t");

        // 4 writers, single- and multi-row statements of every kind, while commits (repeatable read) run alongside:
        // writers go on until every commit is done, and each commit waits for more statements, so they overlap by design.
        using var stop = new CancellationTokenSource();
        var statements = 0;
        var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            await using var connection = await Db.DataSource.OpenConnectionAsync();
            var random = new Random(writer);
            for (var i = 0; !stop.IsCancellationRequested || i < 300; i++)
            {
                var id = random.Next(1, 2000);
                // Now and then a bulk insert (over 1,000 rows: logged as key arrays).
                var bulkStart = 10_000 + (writer * 100_000_000) + (i * 1_500);
                var sql = random.Next(100) < 5 ? $"INSERT INTO {schema}.t SELECT g, {i} FROM generate_series({bulkStart}, {bulkStart + 1_499}) g" : random.Next(5) switch
                {
                    0 => $"INSERT INTO {schema}.t SELECT g, {i} FROM generate_series({id}, {id + 5}) g ON CONFLICT DO NOTHING",
                    1 => $"UPDATE {schema}.t SET v = v + 1 WHERE id BETWEEN {id} AND {id + 3}",
                    2 => $"DELETE FROM {schema}.t WHERE id = {id}",
                    3 => $"UPDATE {schema}.t SET v = v WHERE id = {id}", // a no-op: not logged, not counted
                    _ => $"INSERT INTO {schema}.t VALUES ({id}, {i}) ON CONFLICT DO NOTHING",
                };
                await using var command = new NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync();
                Interlocked.Increment(ref statements);
            }
        })).ToList();

        for (var commit = 0; commit < 3; commit++)
        {
            var awaited = (commit + 1) * 40;
            using (var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
            {
                while (Volatile.Read(ref statements) < awaited)
                {
                    Assert.DoesNotContain(writers, w => w.IsFaulted);
                    await Task.Delay(10, bound.Token);
                }
            }

            await Objects.CommitAsync(Db, schema, "t");
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await Db.ExecAsync($"INSERT INTO {schema}.t SELECT g, 0 FROM generate_series(5000000, 5001499) g");
        Assert.True(await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND changed_fields ? 'sg_bulk'", schema) > 0,
            "the bulk insert was not logged as a bulk entry");
        var logged = await LogCountsAsync(schema, "t");
        Assert.Equal(logged, await AggregateAsync(schema, "t"));

        await Db.ExecAsync($"TRUNCATE {schema}.t");
        var truncated = await LogCountsAsync(schema, "t");
        Assert.True(truncated.Removed > logged.Removed);
        Assert.Equal(truncated, await AggregateAsync(schema, "t"));

        // A discard leaves nothing to count, and folds the writers' counter slots away.
        await using (var engine = Db.Engine())
        {
            var changes = new ChangeEngine(engine);
            Assert.Equal(truncated.Added + truncated.Removed + truncated.Updated, await changes.DiscardPendingChangesAsync(schema, "t"));
            await engine.CommitAsync();
        }

        Assert.Equal(new AggregateChanges(0, 0, 0), await AggregateAsync(schema, "t"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.pending_counts WHERE schema_name = $1", schema));
    }
}
