using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// Issue 15, tables without a primary key are first-class: their changes are a multiset of whole rows. Duplicates are
/// counted, NULLs and columns with no equality (json, jsonb, xml, point) take part in a row's identity, and apply
/// removes exactly as many copies as were deleted. Each test: copy of the table before + the committed object applied
/// == the live table, compared as sorted row text (duplicates included).
/// </summary>
public sealed class NoKeyTableTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private async Task<string> ArrangeAsync(string columns, string? values)
    {
        var schema = await Db.NewSchemaAsync("nokey");
        await Db.ExecAsync($"CREATE TABLE {schema}.t ({columns})" + (values is null ? string.Empty : $"; INSERT INTO {schema}.t VALUES {values}"));
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        return schema;
    }

    private Task<CommitResult> CommitAndCompareAsync(string schema) => Objects.CommitAndCompareAsync(Db, schema);

    [Fact]
    public async Task Duplicate_rows_are_counted_changes_and_apply_removes_exactly_the_deleted_copies()
    {
        var schema = await ArrangeAsync("a int, b text", "(1, 'x'), (1, 'x'), (1, 'x'), (2, 'y')");
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (3, 'z'), (3, 'z')");
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE ctid = (SELECT min(ctid) FROM {schema}.t WHERE a = 1)");
        await Db.ExecAsync($"UPDATE {schema}.t SET b = 'w' WHERE ctid = (SELECT min(ctid) FROM {schema}.t WHERE a = 1)");

        await using (var engine = Db.Engine())
        {
            var net = await new ChangeEngine(engine).GetNetChangesAsync(schema, "t");
            // +2 (3,z), -2 (1,x), +1 (1,w): one entry per copy.
            Assert.Equal(3, net.Entries.Count(e => e.Upserted));
            Assert.Equal(2, net.Entries.Count(e => !e.Upserted));
        }

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((3L, 2L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,w)", "(1,x)", "(2,y)", "(3,z)", "(3,z)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Table_whose_only_column_is_jsonb_commits_its_duplicates()
    {
        var schema = await ArrangeAsync("j jsonb", null);
        await Db.ExecAsync($$"""INSERT INTO {{schema}}.t VALUES ('{"a": 1}'), ('{"a": 1}')""");
        var first = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 0L), (first.Upserts, first.Deletes));

        await Db.ExecAsync($$"""UPDATE {{schema}}.t SET j = '{"a": 2}' WHERE ctid = (SELECT min(ctid) FROM {{schema}}.t)""");
        var second = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 1L), (second.Upserts, second.Deletes));
        Assert.Equal(2, (await Db.RowsAsync($"{schema}.before")).Count);
    }

    [Fact]
    public async Task Insert_then_update_to_null_commits_only_the_new_row()
    {
        var schema = await ArrangeAsync("a int, b text", "(1, 'one')");
        await Db.ExecAsync($"INSERT INTO {schema}.t VALUES (17, 'seventeen')");
        await Db.ExecAsync($"UPDATE {schema}.t SET a = NULL WHERE a = 17");
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(,seventeen)", "(1,one)"], await Db.RowsAsync($"{schema}.before"));

        // NULLs are part of the row: deleting the NULL row removes exactly it.
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE a IS NULL");
        await CommitAndCompareAsync(schema);
        Assert.Equal(["(1,one)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Float_negative_zero_replaces_zero_without_keeping_both()
    {
        var schema = await ArrangeAsync("f float8, t text", "(0, 'a'), (0, 'b')");
        await Db.ExecAsync($"UPDATE {schema}.t SET f = '-0' WHERE t = 'a'");
        // Through another value and back, across statements.
        await Db.ExecAsync($"UPDATE {schema}.t SET f = 5 WHERE t = 'b'; UPDATE {schema}.t SET f = '-0' WHERE t = 'b'");
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 2L), (result.Upserts, result.Deletes));
        Assert.Equal(["(-0,a)", "(-0,b)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Columns_without_equality_take_part_in_row_identity()
    {
        var schema = await ArrangeAsync("p point, x xml, j json, n numeric",
            """('(1,2)', '<a/>', '{"a":1}', 1.0), ('(1,2)', '<a/>', '{"a":1}', 1.0), ('(1,2)', '<b/>', '{"a":1}', 1.0)""");
        // Only the json text changes in one copy; only the numeric scale in another; the xml row goes.
        await Db.ExecAsync(
            $$"""
            UPDATE {{schema}}.t SET j = '{"a": 1}' WHERE ctid = (SELECT min(ctid) FROM {{schema}}.t WHERE x::text = '<a/>');
            UPDATE {{schema}}.t SET n = 1.00 WHERE ctid = (SELECT max(ctid) FROM {{schema}}.t WHERE x::text = '<a/>' AND j::text = '{"a":1}');
            DELETE FROM {{schema}}.t WHERE x::text = '<b/>';
            """);
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 3L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Truncate_and_reinsert_of_duplicates_nets_to_the_difference()
    {
        var schema = await ArrangeAsync("a int", "(1), (1), (2)");
        await Db.ExecAsync($"TRUNCATE {schema}.t; INSERT INTO {schema}.t VALUES (1), (2), (2)");
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 1L), (result.Upserts, result.Deletes));
    }
}
