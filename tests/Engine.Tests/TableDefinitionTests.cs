using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>Tables made from an object's schema (apply with createTable) and the CREATE TABLE of a table's SQL download.</summary>
public sealed class TableDefinitionTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private const string Columns =
        "id int, k varchar(20), amount numeric(10,2), at timestamptz, tags int[], doc jsonb, \"Odd \"\"name\"\"\" text, PRIMARY KEY (id, k)";

    [Fact]
    public async Task Apply_creates_a_missing_table_from_the_objects_columns_and_key_without_triggers()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.src ({Columns})");
        await Objects.TrackAsync(Db, schema, "src");
        await Db.ExecAsync($"INSERT INTO {schema}.src VALUES (1, 'a', 1.50, '2026-01-01Z', '{{1,2}}', '{{\"x\":1}}', 'p'), (2, 'b', NULL, NULL, NULL, NULL, NULL)");
        var commit = await Objects.CommitAsync(Db, schema, "src");

        // Target schema and table do not exist yet.
        var target = "made_" + Guid.NewGuid().ToString("N")[..8];
        await using (var engine = Db.Engine())
        {
            await Assert.ThrowsAsync<TableNotFoundException>(() => new FragmentApplier(engine).ApplyFragmentsAsync([commit.ObjectId!], target, "copy"));
        }

        ApplyResult result;
        await using (var engine = Db.Engine())
        {
            result = await new FragmentApplier(engine).ApplyFragmentsAsync([commit.ObjectId!], target, "copy", createTable: true);
            await engine.CommitAsync();
        }

        Assert.True(result.CreatedTable);
        Assert.Equal(2L, result.Upserted);
        Assert.Equal(await ColumnsOfAsync(schema, "src"), await ColumnsOfAsync(target, "copy"));
        Assert.Equal(await KeyOfAsync(schema, "src"), await KeyOfAsync(target, "copy"));
        Assert.Equal(["id", "k"], await KeyOfAsync(target, "copy"));
        Assert.Equal(0L, await Db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = format('%I.%I', $1::text, 'copy')::regclass AND NOT tgisinternal", target));
        Assert.Equal(await Db.RowsAsync($"{schema}.src"), await Db.RowsAsync($"{target}.copy"));

        // Again: the table is there, so it is only applied (safe to repeat).
        await using (var engine = Db.Engine())
        {
            var again = await new FragmentApplier(engine).ApplyFragmentsAsync([commit.ObjectId!], target, "copy", createTable: true);
            await engine.CommitAsync();
            Assert.False(again.CreatedTable);
        }

        Assert.Equal(await Db.RowsAsync($"{schema}.src"), await Db.RowsAsync($"{target}.copy"));
    }

    [Fact]
    public async Task The_create_statement_of_a_table_rebuilds_its_columns_and_key()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t ({Columns}, note text NOT NULL DEFAULT 'n')");
        var (columns, key) = (await ColumnsOfAsync(schema, "t"), await KeyOfAsync(schema, "t"));

        string create;
        await using (var engine = Db.Engine())
        {
            create = await TableDefinition.OfTableAsync(engine, schema, "t", CancellationToken.None);
        }

        Assert.StartsWith($"CREATE TABLE IF NOT EXISTS \"{schema}\".\"t\" (", create);
        Assert.Contains("\"note\" text NOT NULL", create);
        await Db.ExecAsync($"DROP TABLE {schema}.t");
        await Db.ExecAsync(create);
        Assert.Equal(columns, await ColumnsOfAsync(schema, "t"));
        Assert.Equal(key, await KeyOfAsync(schema, "t"));
        // IF NOT EXISTS: running a download where the table exists only adds rows.
        await Db.ExecAsync(create);
    }

    private Task<List<string>> ColumnsOfAsync(string schema, string table) => Db.RowsAsync(
        $"(SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull FROM pg_attribute a " +
        $"WHERE a.attrelid = '\"{schema}\".\"{table}\"'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)",
        "lpad(t.attnum::text, 3, '0') || ' ' || t.attname || ' ' || t.type || ' ' || t.attnotnull");

    private async Task<List<string>> KeyOfAsync(string schema, string table)
    {
        await using var engine = Db.Engine();
        return (await engine.GetPrimaryKeysAsync(schema, table)).Select(k => k.Column).ToList();
    }
}
