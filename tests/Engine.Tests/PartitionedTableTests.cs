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

    private async Task<T> WithChangesAsync<T>(Func<ChangeEngine, Task<T>> read)
    {
        await using var engine = Db.Engine();
        var result = await read(new ChangeEngine(engine));
        await engine.CommitAsync();
        return result;
    }

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

        var tracked = await WithChangesAsync(c => c.GetTrackedTablesAsync());
        Assert.Contains(new TableRef(schema, "t"), tracked);
        Assert.DoesNotContain(tracked, t => t.Schema == schema && t.Table != "t");
        Assert.True(await WithChangesAsync(c => c.IsTrackedAsync(schema, "t")));
        Assert.False(await WithChangesAsync(c => c.IsTrackedAsync(schema, "t_a")));
        foreach (var member in new[] { "t", "t_a", "t_b", "t_b1", "t_b2", "t_c" })
        {
            Assert.Equal(3L, await Db.ScalarAsync<long>(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname IN ('audit_trigger_statement', 'audit_trigger_end', 'audit_trigger_truncate')",
                $"{schema}.{member}"));
        }
    }

    [Fact]
    public async Task Updates_through_the_root_are_logged_under_the_root()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"UPDATE {schema}.t SET v = v || '!' WHERE id IN (3, 12, 22)");

        Assert.Equal(["t"], await WithChangesAsync(c => c.GetChangedTablesAsync(schema)));
        Assert.Equal(new AggregateChanges(0, 0, 3), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(3L, (await CommitAndApplyAsync(schema)).Upserts);
    }

    [Fact]
    public async Task An_update_that_moves_a_row_to_another_partition_is_committed()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"UPDATE {schema}.t SET id = id + 100 WHERE id IN (2, 13)");

        // Each moved row is a delete in its old partition and an insert in the default one.
        Assert.Equal(new AggregateChanges(2, 2, 0), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
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
        Assert.Equal(new AggregateChanges(1, 8, 1), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        var result = await CommitAndApplyAsync(schema);
        Assert.Equal((2L, 8L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Truncate_of_the_root_logs_every_partition_once()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"TRUNCATE {schema}.t");

        Assert.Equal(new AggregateChanges(0, 25, 0), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
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
        Assert.Equal(new AggregateChanges(1, 0, 0), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        await Db.ExecAsync($"INSERT INTO {schema}.t_d VALUES (101, 'direct', 0); UPDATE {schema}.t_d SET v = 'direct!' WHERE id = 100");
        Assert.Null(await WithChangesAsync(c => c.GetPartitionChangesAsync(schema, "t")));
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
        Assert.Equal(new AggregateChanges(1, 0, 0), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE 'audit%'", $"{schema}.t_a"));
        await Db.ExecAsync($"INSERT INTO {schema}.t_a VALUES (99, 'no longer a partition', 0)");

        // A snapshot commit stores the table as it is, accepts the partitions and drops the pending changes it holds.
        var snapshot = await Objects.CommitAsync(Db, schema, "t", snapshot: true);
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), (await Db.RowsAsync($"splitgraph_meta.\"{snapshot.ObjectId}\"")).Select(r => r[..^3] + ")").ToList());
        Assert.Null(await WithChangesAsync(c => c.GetPartitionChangesAsync(schema, "t")));
        Assert.Equal(new AggregateChanges(0, 0, 0), await WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));

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
}
