using System.Diagnostics.CodeAnalysis;
using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>
/// Issue 15, partitioned tables: tracked as one table at their root. Changes are logged under the root whichever table
/// a statement names (the root, a leaf, a sub-partitioned partition), rows an UPDATE moves between partitions are a
/// delete and an insert, TRUNCATE of a partition or of the root is logged, partitions are never listed as tracked
/// tables of their own, partitions created later are covered at the next engine call, and ATTACH/DETACH/DROP that move
/// rows unlogged are reported (409) until a snapshot commit.
/// </summary>
public sealed class PartitionedTableTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    /// <summary>A range-partitioned table t (a: id &lt; 10, b: 10–19 partitioned again into b1/b2, c: default), copied to "before", tracked.</summary>
    private async Task<string> ArrangeAsync(string columns = "id int, v text, f float8, PRIMARY KEY (id)")
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t ({columns}) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_a PARTITION OF {schema}.t FOR VALUES FROM (MINVALUE) TO (10);
            CREATE TABLE {schema}.t_b PARTITION OF {schema}.t FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_b1 PARTITION OF {schema}.t_b FOR VALUES FROM (10) TO (15);
            CREATE TABLE {schema}.t_b2 PARTITION OF {schema}.t_b FOR VALUES FROM (15) TO (20);
            CREATE TABLE {schema}.t_c PARTITION OF {schema}.t DEFAULT;
            INSERT INTO {schema}.t SELECT g, 'row' || g, g FROM generate_series(1, 25) g;
            """);
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        return schema;
    }

    /// <summary>What partition_changes reports after an engine call (which covers and accepts partitions first).</summary>
    private Task<string?> PartitionChangesAsync(string schema) => Db.WithChangesAsync(async c =>
    {
        await c.ReconcileAsync();
        return await c.GetPartitionChangesAsync(schema, "t");
    });

    private async Task<CommitResult> CommitAndApplyAsync(string schema)
    {
        var result = await Objects.CommitAsync(Db, schema, "t");
        if (result.ObjectId is not null)
        {
            await Objects.ApplyAsync(Db, [result.ObjectId], schema, "before");
        }

        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
        return result;
    }

    [Fact]
    public async Task Only_the_root_is_tracked_and_every_partition_has_the_statement_triggers()
    {
        var schema = await ArrangeAsync();

        var tracked = await Db.WithChangesAsync(c => c.GetTrackedTablesAsync());
        Assert.Contains(new TableRef(schema, "t"), tracked);
        Assert.DoesNotContain(tracked, t => t.Schema == schema && t.Table != "t");
        Assert.True(await Db.WithChangesAsync(c => c.IsTrackedAsync(schema, "t")));
        Assert.False(await Db.WithChangesAsync(c => c.IsTrackedAsync(schema, "t_a")));
        foreach (var member in new[] { "t", "t_a", "t_b", "t_b1", "t_b2", "t_c" })
        {
            Assert.Equal(5L, await Db.ScalarAsync<long>(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname IN ('audit_trigger_statement', 'audit_trigger_stmt_end', 'audit_trigger_truncate', 'audit_trigger_stm', 'audit_trigger_stm_delete')",
                $"{schema}.{member}"));
        }
    }

    [Fact]
    public async Task Updates_through_the_root_are_logged_under_the_root()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"UPDATE {schema}.t SET v = v || '!' WHERE id IN (3, 12, 22)");

        Assert.Equal(["t"], await Db.WithChangesAsync(c => c.GetChangedTablesAsync(schema)));
        Assert.Equal(new AggregateChanges(0, 0, 3), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(3L, (await CommitAndApplyAsync(schema)).Upserts);
    }

    [Fact]
    public async Task An_update_that_moves_a_row_to_another_partition_is_committed()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"UPDATE {schema}.t SET id = id + 100 WHERE id IN (2, 13)");

        // Each moved row is a delete in its old partition and an insert in the default one.
        Assert.Equal(new AggregateChanges(2, 2, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        var result = await CommitAndApplyAsync(schema);
        Assert.Equal((2L, 2L), (result.Upserts, result.Deletes));
        Assert.Equal(["(102,row2,2)", "(113,row13,13)"], await Db.RowsAsync($"(SELECT * FROM {schema}.t_c WHERE id > 100)"));
    }

    [Fact]
    public async Task Inserts_updates_deletes_and_truncate_issued_on_a_partition_are_captured()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"INSERT INTO {schema}.t_a VALUES (0, 'zero', 0)");
        await Db.ExecAsync($"UPDATE {schema}.t_b2 SET f = -0.0::float8 * f, v = 'moved?' WHERE id = 16");
        await Db.ExecAsync($"DELETE FROM {schema}.t_b WHERE id BETWEEN 11 AND 12");
        await Db.ExecAsync($"TRUNCATE {schema}.t_c");

        // 0 inserted; 11, 12 and the 6 rows of the default partition (20–25) deleted; 16 updated.
        Assert.Equal(new AggregateChanges(1, 8, 1), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        var result = await CommitAndApplyAsync(schema);
        Assert.Equal((2L, 8L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Truncate_of_the_root_logs_every_partition_once()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"TRUNCATE {schema}.t");

        Assert.Equal(new AggregateChanges(0, 25, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(25L, (await CommitAndApplyAsync(schema)).Deletes);
    }

    [Fact]
    public async Task Key_swaps_and_a_merge_across_partitions_are_one_step_each()
    {
        var schema = await ArrangeAsync("id int, v text, f float8, PRIMARY KEY (id) DEFERRABLE");
        await Db.ExecAsync($"UPDATE {schema}.t SET id = 25 - id WHERE id IN (5, 20)");
        await Db.ExecAsync(
            $"""
            MERGE INTO {schema}.t x USING (VALUES (1), (14), (30)) s(id) ON x.id = s.id
            WHEN MATCHED AND s.id = 1 THEN DELETE
            WHEN MATCHED THEN UPDATE SET id = 1, v = 'moved onto 1'
            WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'new', 0)
            """);
        await CommitAndApplyAsync(schema);
    }

    [Fact]
    public async Task A_table_without_a_key_counts_copies_moved_between_partitions()
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (a int, f float8) PARTITION BY LIST (a);
            CREATE TABLE {schema}.t_0 PARTITION OF {schema}.t FOR VALUES IN (0);
            CREATE TABLE {schema}.t_d PARTITION OF {schema}.t DEFAULT;
            INSERT INTO {schema}.t VALUES (0, 0), (0, 0), (1, 0), (NULL, 0);
            """);
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"UPDATE {schema}.t SET a = 1 WHERE ctid = (SELECT min(ctid) FROM {schema}.t_0)");
        await Db.ExecAsync($"UPDATE {schema}.t_d SET f = -0.0::float8 WHERE a IS NULL");
        await Db.ExecAsync($"INSERT INTO {schema}.t_0 VALUES (0, 0)");

        var result = await CommitAndApplyAsync(schema);
        // A copy of (0, 0) moved away and another inserted cancel out; (NULL, 0) became (NULL, -0).
        Assert.Equal((2L, 1L), (result.Upserts, result.Deletes));
        Assert.Equal(["-0"], await Db.RowsAsync($"(SELECT * FROM {schema}.before WHERE a IS NULL)", "t.f"));
    }

    [Fact]
    public async Task A_partition_created_later_is_covered_at_the_next_engine_call_and_direct_writes_before_are_refused()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t_d PARTITION OF {schema}.t FOR VALUES FROM (100) TO (200)");

        // Through the root the new partition is logged already; on the partition itself the statement has no ID yet.
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (100, 'via root', 0)");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => Db.ExecAsync($"INSERT INTO {schema}.t_d VALUES (101, 'direct', 0)"));
        Assert.Equal("SGP01", refused.SqlState);
        Assert.Contains($"{schema}.t_d is a partition of the tracked table {schema}.t", refused.MessageText);

        // Any engine call covers it; then direct writes are logged, and the partition (born empty) is accepted.
        Assert.Equal(new AggregateChanges(1, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        await Db.ExecAsync($"INSERT INTO {schema}.t_d VALUES (101, 'direct', 0); UPDATE {schema}.t_d SET v = 'direct!' WHERE id = 100");
        Assert.Null(await PartitionChangesAsync(schema));
        Assert.Equal(2L, (await CommitAndApplyAsync(schema)).Upserts);
    }

    [Fact]
    public async Task Attach_with_rows_detach_and_drop_are_refused_at_commit_until_a_snapshot_commit()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.more (LIKE {schema}.t); INSERT INTO {schema}.more VALUES (150, 'brought', 0);
            ALTER TABLE {schema}.t ATTACH PARTITION {schema}.more FOR VALUES FROM (100) TO (200);
            ALTER TABLE {schema}.t DETACH PARTITION {schema}.t_a;
            DROP TABLE {schema}.t_b2;
            INSERT INTO {schema}.t VALUES (160, 'logged', 0);
            """);

        var conflict = await Assert.ThrowsAsync<ConflictException>(() => Objects.CommitAsync(Db, schema, "t"));
        Assert.Equal(409, conflict.StatusCode);
        Assert.Contains($"attached with rows the log does not hold: {schema}.more", conflict.Message);
        Assert.Contains($"detached or dropped (their rows left without being logged): {schema}.t_a, a dropped table", conflict.Message);
        Assert.Contains("snapshot=true", conflict.Message);

        // At the next engine call that completes, the detached table loses the family's triggers; writing to it then
        // logs nothing and is not refused.
        Assert.Equal(new AggregateChanges(1, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE 'audit%'", $"{schema}.t_a"));
        await Db.ExecAsync($"INSERT INTO {schema}.t_a VALUES (99, 'no longer a partition', 0)");

        // A snapshot commit stores the table as it is, accepts the partitions and drops the pending changes it holds.
        var snapshot = await Objects.CommitAsync(Db, schema, "t", snapshot: true);
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), (await Db.RowsAsync($"splitgraph_meta.\"{snapshot.ObjectId}\"")).Select(r => r[..^3] + ")").ToList());
        Assert.Null(await PartitionChangesAsync(schema));
        Assert.Equal(new AggregateChanges(0, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));

        // From there fragments work again.
        await Db.ExecAsync($"TRUNCATE {schema}.before; INSERT INTO {schema}.before SELECT * FROM {schema}.t");
        await Db.ExecAsync($"UPDATE {schema}.t SET id = id + 1 WHERE id = 150");
        await CommitAndApplyAsync(schema);
    }

    [Fact]
    public async Task Partitions_whose_columns_are_out_of_line_are_refused_when_rows_are_logged_as_texts()
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int, f float8, PRIMARY KEY (id)) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_a (f float8, id int NOT NULL);
            ALTER TABLE {schema}.t ATTACH PARTITION {schema}.t_a FOR VALUES FROM (0) TO (10);
            """);
        await using var engine = Db.Engine();
        var refused = await Assert.ThrowsAsync<InvalidInputException>(() => new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, "t")]));
        Assert.Equal(400, refused.StatusCode);
        Assert.Contains($"not in the same order as its own ({schema}.t_a)", refused.Message);
    }

    [Fact]
    public async Task Untracking_removes_the_triggers_from_every_partition()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 'x' WHERE id = 1");
        await using (var engine = Db.Engine())
        {
            await new ChangeEngine(engine).UntrackTablesAsync([new TableRef(schema, "t")]);
            await engine.CommitAsync();
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1::regnamespace AND t.tgname LIKE 'audit%'", schema));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema));
        await Db.ExecAsync($"INSERT INTO {schema}.t_a VALUES (0, 'untracked', 0)");
    }

    [Fact]
    public async Task Running_initialize_again_registers_no_partition_and_a_leaf_added_under_a_sub_partitioned_partition_logs_its_truncate()
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_a PARTITION OF {schema}.t FOR VALUES FROM (0) TO (10);
            CREATE TABLE {schema}.t_b PARTITION OF {schema}.t FOR VALUES FROM (10) TO (100) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_b1 PARTITION OF {schema}.t_b FOR VALUES FROM (10) TO (20);
            INSERT INTO {schema}.t VALUES (1, 'x'), (11, 'y');
            """);
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        await using (var engine = new SqlEngine(Db.Endpoint))
        {
            await engine.InitializeAsync();
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>(
            "SELECT count(*) FROM splitgraph_audit.tracked_tables r JOIN pg_class c ON c.oid = r.relid WHERE c.relnamespace = $1::regnamespace AND c.relispartition", schema));
        await Db.ExecAsync($"CREATE TABLE {schema}.t_b2 PARTITION OF {schema}.t_b FOR VALUES FROM (20) TO (30)");
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (21, 'x'), (22, 'y')");
        Assert.Equal(new AggregateChanges(2, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        await Db.ExecAsync($"TRUNCATE {schema}.t_b2");
        await CommitAndApplyAsync(schema);
    }

    [Fact]
    public async Task Truncate_of_the_root_logs_a_leaf_not_covered_yet_once()
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (a int, v text) PARTITION BY RANGE (a);
            CREATE TABLE {schema}.t_a PARTITION OF {schema}.t FOR VALUES FROM (0) TO (10);
            CREATE TABLE {schema}.t_b PARTITION OF {schema}.t FOR VALUES FROM (10) TO (100) PARTITION BY RANGE (a);
            CREATE TABLE {schema}.t_b1 PARTITION OF {schema}.t_b FOR VALUES FROM (10) TO (20);
            INSERT INTO {schema}.t VALUES (1, 'x'), (11, 'y');
            """);
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        // t_b3 is not covered yet when the root is truncated: the root's trigger and t_b's both see it below them.
        await Db.ExecAsync(
            $"CREATE TABLE {schema}.t_b3 PARTITION OF {schema}.t_b FOR VALUES FROM (30) TO (40); INSERT INTO {schema}.t VALUES (31, 'x'), (31, 'x');");
        await Db.ExecAsync($"TRUNCATE {schema}.t; INSERT INTO {schema}.t VALUES (31, 'x')");
        await CommitAndApplyAsync(schema);
    }

    [Fact]
    public async Task Rows_an_attach_brought_are_reported_even_when_written_in_a_subtransaction_of_the_attaching_transaction()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync(
            $"""
            DO $$ BEGIN
                CREATE TABLE {schema}.m (LIKE {schema}.t);
                BEGIN INSERT INTO {schema}.m VALUES (150, 'brought', 0); EXCEPTION WHEN others THEN NULL; END;
                ALTER TABLE {schema}.t ATTACH PARTITION {schema}.m FOR VALUES FROM (100) TO (200);
            END $$;
            """);

        Assert.Contains($"attached with rows the log does not hold: {schema}.m", await PartitionChangesAsync(schema));
    }

    [Fact]
    public async Task A_partition_detached_changed_and_attached_again_is_reported()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync(
            $"""
            ALTER TABLE {schema}.t DETACH PARTITION {schema}.t_a;
            DELETE FROM {schema}.t_a; INSERT INTO {schema}.t_a VALUES (2, 'changed while detached', 0);
            ALTER TABLE {schema}.t ATTACH PARTITION {schema}.t_a FOR VALUES FROM (MINVALUE) TO (10);
            """);

        var changes = await PartitionChangesAsync(schema);
        Assert.Contains($"attached with rows the log does not hold: {schema}.t_a", changes);
        Assert.Contains($"detached or dropped (their rows left without being logged): {schema}.t_a", changes);
    }

    [Fact]
    public async Task Foreign_key_cascades_writable_ctes_and_functions_writing_the_table_mid_statement_are_logged()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.parent (id int PRIMARY KEY);
            INSERT INTO {schema}.parent SELECT g FROM generate_series(0, 25) g;
            ALTER TABLE {schema}.t ADD FOREIGN KEY (id) REFERENCES {schema}.parent ON DELETE CASCADE ON UPDATE CASCADE;
            CREATE TABLE {schema}.u (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.u_a PARTITION OF {schema}.u FOR VALUES FROM (0) TO (100);
            CREATE FUNCTION {schema}.add(p int) RETURNS text LANGUAGE sql AS $$ INSERT INTO {schema}.parent VALUES (p + 200); INSERT INTO {schema}.t VALUES (p + 200, 'added', 0) RETURNING 'x' $$;
            """);
        await Objects.TrackAsync(Db, schema, "u");
        await Db.ExecAsync($"DELETE FROM {schema}.parent WHERE id IN (3, 12); UPDATE {schema}.parent SET id = 100 WHERE id = 22");
        await Db.ExecAsync($"WITH a AS (INSERT INTO {schema}.t VALUES (0, 'cte', 0)), b AS (INSERT INTO {schema}.u VALUES (1, 'cte')) UPDATE {schema}.t SET v = 'cte too' WHERE id = 5");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = {schema}.add(id) WHERE id IN (6, 16)");

        await CommitAndApplyAsync(schema);
        Assert.Equal(new AggregateChanges(1, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "u")));
    }

    [Fact]
    public async Task A_foreign_table_partition_is_refused_at_track_time_and_reported_when_attached_later()
    {
        // (A partition of a table with a primary key cannot be a foreign table: this one has none.)
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int, v text) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_a PARTITION OF {schema}.t FOR VALUES FROM (0) TO (100);
            INSERT INTO {schema}.t VALUES (1, 'x');
            """);
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync(
            $"""
            CREATE SERVER {schema}_nowhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '1', dbname 'none');
            CREATE FOREIGN TABLE {schema}.t_f PARTITION OF {schema}.t FOR VALUES FROM (100) TO (200) SERVER {schema}_nowhere;
            """);

        // Every engine call still works; commits answer 409 naming the partition.
        Assert.Equal(new AggregateChanges(0, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Contains($"not covered by change tracking (foreign tables, or the engine may not add its triggers): {schema}.t_f",
            (await Assert.ThrowsAsync<ConflictException>(() => Objects.CommitAsync(Db, schema, "t"))).Message);

        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        await changes.UntrackTablesAsync([new TableRef(schema, "t")]);
        var refused = await Assert.ThrowsAsync<InvalidInputException>(() => changes.TrackTablesAsync([new TableRef(schema, "t")]));
        Assert.Contains($"has foreign tables as partitions ({schema}.t_f)", refused.Message);
    }

    [Fact]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public async Task An_engine_call_does_not_wait_for_a_writer_holding_a_new_partition_and_covers_it_later()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t_d PARTITION OF {schema}.t FOR VALUES FROM (100) TO (200)");
        await using (var writer = await Db.DataSource.OpenConnectionAsync())
        {
            await using var transaction = await writer.BeginTransactionAsync();
            await using (var insert = new NpgsqlCommand($"INSERT INTO {schema}.t VALUES (100, 'held', 0)", writer, transaction))
            {
                await insert.ExecuteNonQueryAsync();
            }

            // The writer holds t_d (ROW EXCLUSIVE): covering it would wait, so this call leaves it for later.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await using (var engine = Db.Engine())
            {
                Assert.Equal(new AggregateChanges(0, 0, 0), await new ChangeEngine(engine).GetAggregateChangesAsync(schema, "t", timeout.Token));
                await engine.CommitAsync(timeout.Token);
            }

            Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'audit_trigger_stmt_end'", $"{schema}.t_d"));
            await transaction.CommitAsync();
        }

        Assert.Equal(new AggregateChanges(1, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'audit_trigger_stmt_end'", $"{schema}.t_d"));
        Assert.Null(await PartitionChangesAsync(schema));
        await CommitAndApplyAsync(schema);
    }

    [Fact]
    public async Task A_partition_attached_in_a_transaction_that_logged_other_changes_is_still_reported()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync(
            $"""
            UPDATE {schema}.t SET v = 'b' WHERE id = 1;
            CREATE TABLE {schema}.m (LIKE {schema}.t); INSERT INTO {schema}.m VALUES (150, 'never logged', 0);
            ALTER TABLE {schema}.t ATTACH PARTITION {schema}.m FOR VALUES FROM (100) TO (200);
            INSERT INTO {schema}.t VALUES (151, 'logged', 0);
            """);

        Assert.Contains($"attached with rows the log does not hold: {schema}.m", await PartitionChangesAsync(schema));
    }

    [Fact]
    public async Task A_key_swap_in_a_query_that_calls_a_function_writing_the_table_stays_one_step()
    {
        var schema = await ArrangeAsync("id int, v text, f float8, PRIMARY KEY (id) DEFERRABLE");
        await Db.ExecAsync(
            $"""
            CREATE FUNCTION {schema}.touch() RETURNS text LANGUAGE sql AS $$ UPDATE {schema}.t SET v = v || '~' WHERE id = 25 RETURNING 'f' $$;
            UPDATE {schema}.t SET id = CASE id WHEN 1 THEN 11 ELSE 1 END, v = v || {schema}.touch() WHERE id IN (1, 11);
            """);
        await CommitAndApplyAsync(schema);
    }

    [Fact]
    public async Task A_tracked_table_attached_as_a_partition_stays_reported_after_initialize()
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t VALUES (1, 'x')");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync(
            $"CREATE TABLE {schema}.p (id int PRIMARY KEY, v text) PARTITION BY RANGE (id); ALTER TABLE {schema}.p ATTACH PARTITION {schema}.t FOR VALUES FROM (0) TO (10)");
        await using (var engine = new SqlEngine(Db.Endpoint))
        {
            await engine.InitializeAsync();
        }

        Assert.Equal($"it became a partition of {schema}.p: detach it, or track {schema}.p instead", await PartitionChangesAsync(schema));
    }

    [Fact]
    public async Task Initialize_re_installs_a_partitioned_tables_triggers_past_a_foreign_partition()
    {
        var schema = await Db.NewSchemaAsync("part");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int, v text) PARTITION BY RANGE (id);
            CREATE TABLE {schema}.t_a PARTITION OF {schema}.t FOR VALUES FROM (0) TO (100);
            """);
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync(
            $"""
            CREATE SERVER {schema}_nowhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '1', dbname 'none');
            CREATE FOREIGN TABLE {schema}.t_f PARTITION OF {schema}.t FOR VALUES FROM (100) TO (200) SERVER {schema}_nowhere;
            ALTER TABLE {schema}.t ADD COLUMN j json;
            """);

        // The json column changes the trigger arguments: initialize re-installs them on the root and t_a, not on t_f.
        await using (var engine = new SqlEngine(Db.Endpoint))
        {
            await engine.InitializeAsync();
        }

        Assert.StartsWith("rows\\000json\\000part\\000", await Db.ScalarAsync<string>(
            "SELECT encode(tgargs, 'escape') FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'audit_trigger_statement'", $"{schema}.t_a"));
        Assert.Contains($"not covered by change tracking (foreign tables, or the engine may not add its triggers): {schema}.t_f", await PartitionChangesAsync(schema));
    }
}
