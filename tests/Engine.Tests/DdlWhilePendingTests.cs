using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// Issue 15, table identity and DDL while changes are pending: tracked tables are known by OID, so pending changes
/// follow a RENAME, a DROP discards them (a new table of the same name starts clean), and a column change (ADD, DROP,
/// RENAME COLUMN) while changes are pending is refused at commit with a 409 naming the table. Key changes are read
/// under the current key.
/// </summary>
public sealed class DdlWhilePendingTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private async Task<string> ArrangeAsync(string columns = "id int PRIMARY KEY, v text", string values = "(1, 'one'), (2, 'two')")
    {
        var schema = await Db.NewSchemaAsync("ddl");
        await Db.ExecAsync($"CREATE TABLE {schema}.t ({columns}); INSERT INTO {schema}.t VALUES {values}");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        return schema;
    }

    [Fact]
    public async Task Pending_changes_follow_a_table_through_rename()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (3, 'three'); UPDATE {schema}.t SET v = 'uno' WHERE id = 1");
        await Db.ExecAsync($"ALTER TABLE {schema}.t RENAME TO u; DELETE FROM {schema}.u WHERE id = 2");

        Assert.Equal(["u"], await Db.WithChangesAsync(c => c.GetChangedTablesAsync(schema)));
        Assert.Equal(new AggregateChanges(1, 1, 1), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "u")));
        var result = await Objects.CommitAsync(Db, schema, "u");
        Assert.Equal((2L, 1L), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.u"), await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Tables_that_swap_names_keep_their_own_changes()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.o (id int PRIMARY KEY)");
        await Objects.TrackAsync(Db, schema, "o");
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (3, 'three'); INSERT INTO {schema}.o VALUES (7), (8)");
        await Db.ExecAsync($"ALTER TABLE {schema}.t RENAME TO x; ALTER TABLE {schema}.o RENAME TO t; ALTER TABLE {schema}.x RENAME TO o");

        Assert.Equal(new AggregateChanges(2, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Equal(new AggregateChanges(1, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "o")));
    }

    [Fact]
    public async Task Drop_discards_pending_changes_and_a_new_table_of_the_name_starts_clean()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE id = 1; INSERT INTO {schema}.t VALUES (5, 'five')");
        await Db.ExecAsync($"DROP TABLE {schema}.t");
        Assert.Empty(await Db.WithChangesAsync(c => c.GetChangedTablesAsync(schema)));
        // Discard names a table that no longer exists: nothing left to discard, no error.
        Assert.Equal(0L, await Db.WithChangesAsync(c => c.DiscardPendingChangesAsync(schema, "t")));

        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t VALUES (1, 'one')");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (9, 'nine')");
        var result = await Objects.CommitAsync(Db, schema, "t");
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes)); // no phantom delete of key 1
    }

    [Fact]
    public async Task Drop_and_recreate_before_anything_reads_the_log_does_not_hand_over_changes()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE id = 1");
        await Db.ExecAsync($"DROP TABLE {schema}.t; CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t VALUES (1, 'one')");
        await Objects.TrackAsync(Db, schema, "t");
        Assert.Equal(new AggregateChanges(0, 0, 0), await Db.WithChangesAsync(c => c.GetAggregateChangesAsync(schema, "t")));
        Assert.Null((await Objects.CommitAsync(Db, schema, "t")).ObjectId);
    }

    [Theory]
    [InlineData("ADD COLUMN w int")]
    [InlineData("DROP COLUMN v")]
    [InlineData("RENAME COLUMN id TO key")]
    [InlineData("ALTER COLUMN v TYPE varchar(10)")]
    [InlineData("ALTER COLUMN id TYPE bigint")]
    public async Task Column_change_while_changes_are_pending_is_refused_at_commit(string change)
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (3, 'three')");
        await Db.ExecAsync($"ALTER TABLE {schema}.t {change}");

        var refused = await Assert.ThrowsAsync<ConflictException>(() => Objects.CommitAsync(Db, schema, "t"));
        Assert.Contains($"\"{schema}\".\"t\"", refused.Message);
        Assert.Contains("discard", refused.Message);
        await Assert.ThrowsAsync<ConflictException>(() => Db.WithChangesAsync(c => c.GetNetChangesAsync(schema, "t")));

        // After a discard, commits work again under the new columns.
        await Db.WithChangesAsync(c => c.DiscardPendingChangesAsync(schema, "t"));
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE ctid = (SELECT min(ctid) FROM {schema}.t)");
        Assert.Equal((0L, 1L), ((await Objects.CommitAsync(Db, schema, "t")) is var r ? (r.Upserts, r.Deletes) : default));
    }

    [Fact]
    public async Task Column_type_change_before_any_pending_change_is_not_refused()
    {
        // The type changes while nothing is pending and no API call runs before the next writes: their entries are
        // of the new type, so the commit goes ahead (and the remembered types are refreshed).
        var schema = await ArrangeAsync("id int PRIMARY KEY, v numeric(6,2)", "(1, 1.5), (2, 2.25)");
        await Db.ExecAsync($"ALTER TABLE {schema}.t ALTER COLUMN v TYPE numeric(8,3)");
        await Db.ExecAsync($"ALTER TABLE {schema}.before ALTER COLUMN v TYPE numeric(8,3)");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 1.125 WHERE id = 1; DELETE FROM {schema}.t WHERE id = 2");

        var result = await Objects.CommitAndCompareAsync(Db, schema);
        Assert.Equal((1L, 1L), (result.Upserts, result.Deletes));

        // A later type change while a change is pending is still refused.
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (3, 3)");
        await Db.ExecAsync($"ALTER TABLE {schema}.t ALTER COLUMN v TYPE numeric");
        var refused = await Assert.ThrowsAsync<ConflictException>(() => Objects.CommitAsync(Db, schema, "t"));
        Assert.Contains("numeric(8,3)", refused.Message);
    }

    [Fact]
    public async Task Key_change_while_changes_are_pending_commits_under_the_new_key()
    {
        var schema = await ArrangeAsync("id int, code text, v text, CONSTRAINT t_pkey PRIMARY KEY (id)", "(1, 'a', 'one'), (2, 'b', 'two')");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 'uno' WHERE id = 1; INSERT INTO {schema}.t VALUES (3, 'c', 'three')");
        await Db.ExecAsync($"ALTER TABLE {schema}.t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (code)");
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE code = 'b'");
        await Db.ExecAsync($"ALTER TABLE {schema}.before ADD PRIMARY KEY (code)");

        var result = await Objects.CommitAsync(Db, schema, "t");
        Assert.Equal((2L, 1L), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Dropping_the_key_while_changes_are_pending_commits_them_as_rows()
    {
        var schema = await ArrangeAsync();
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 'uno' WHERE id = 1");
        await Db.ExecAsync($"ALTER TABLE {schema}.t DROP CONSTRAINT t_pkey; INSERT INTO {schema}.t VALUES (1, 'uno')");

        var result = await Objects.CommitAsync(Db, schema, "t");
        Assert.Equal((2L, 1L), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
        // The triggers now log row texts: a duplicate is a counted change.
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (1, 'uno')");
        Assert.Equal((1L, 0L), ((await Objects.CommitAsync(Db, schema, "t")) is var r ? (r.Upserts, r.Deletes) : default));
    }
}
