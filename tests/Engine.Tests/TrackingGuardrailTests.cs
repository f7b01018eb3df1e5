using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>Issue 15 guardrails: relations that cannot be tracked are refused with a 400 that says what they are.</summary>
public sealed class TrackingGuardrailTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private async Task<InvalidInputException> TrackRefusedAsync(string schema, string table)
    {
        await using var engine = Db.Engine();
        return await Assert.ThrowsAsync<InvalidInputException>(() => new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, table)]));
    }

    [Theory]
    [InlineData("splitgraph_audit", "logged_actions")]
    [InlineData("splitgraph_audit", "pending_counts")]
    [InlineData("splitgraph_meta", "objects")]
    [InlineData("pg_catalog", "pg_class")]
    [InlineData("information_schema", "sql_features")]
    public async Task Engine_and_system_tables_cannot_be_tracked(string schema, string table)
    {
        await using (var engine = Db.Engine())
        {
            var refused = await Assert.ThrowsAsync<NotUserSchemaException>(() => new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, table)]));
            Assert.Equal(403, refused.StatusCode);
            Assert.Contains("system or engine schema", refused.Message);
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal", $"{schema}.{table}"));

        // The log still takes changes of a tracked table (tracking the log itself made every write recurse).
        var user = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"INSERT INTO {user}.fruits VALUES (3, 'pear')");
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", user));
    }

    [Theory]
    [InlineData("CREATE VIEW {0}.r AS SELECT 1 AS a", "a view")]
    [InlineData("CREATE MATERIALIZED VIEW {0}.r AS SELECT 1 AS a", "a materialized view")]
    [InlineData("CREATE SERVER {0}_srv FOREIGN DATA WRAPPER postgres_fdw; CREATE FOREIGN TABLE {0}.r (a int) SERVER {0}_srv", "a foreign table")]
    [InlineData("CREATE SEQUENCE {0}.r", "a sequence")]
    public async Task Views_materialized_views_foreign_tables_and_sequences_are_refused_by_kind(string create, string kind)
    {
        var schema = await Db.NewSchemaAsync("guard");
        await Db.ExecAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, create, schema));
        var refused = await TrackRefusedAsync(schema, "r");
        Assert.Equal($"\"{schema}\".\"r\" is {kind}, not a table; only tables can be tracked.", refused.Message);
    }

    [Fact]
    public async Task A_temporary_table_cannot_be_tracked()
    {
        await using var session = await Db.DataSource.OpenConnectionAsync();
        await using (var create = new Npgsql.NpgsqlCommand("CREATE TEMP TABLE scratch (id int PRIMARY KEY)", session))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var schemaOf = new Npgsql.NpgsqlCommand("SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()", session);
        var tempSchema = (string)(await schemaOf.ExecuteScalarAsync())!;
        await using var engine = Db.Engine();
        var refused = await Assert.ThrowsAsync<NotUserSchemaException>(() => new ChangeEngine(engine).TrackTablesAsync([new TableRef(tempSchema, "scratch")]));
        Assert.Equal(403, refused.StatusCode);
    }
    [Theory]
    [InlineData("CREATE TABLE {0}.r0 (id int, v text) PARTITION BY RANGE (id); CREATE TABLE {0}.r PARTITION OF {0}.r0 FOR VALUES FROM (0) TO (10)", "r",
        "a partition of", "track the partitioned table")]
    [InlineData("CREATE TABLE {0}.r (id int PRIMARY KEY); CREATE TABLE {0}.kid (extra text) INHERITS ({0}.r)", "r", "a parent of inheritance child tables", "not supported")]
    [InlineData("CREATE TABLE {0}.p (id int PRIMARY KEY); CREATE TABLE {0}.r (extra text) INHERITS ({0}.p)", "r", "a child table of", "not supported")]
    public async Task Partitions_and_inheritance_are_refused_with_what_they_are(string create, string table, string what, string why)
    {
        var schema = await Db.NewSchemaAsync("family");
        await Db.ExecAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, create, schema));
        var refused = await TrackRefusedAsync(schema, table);
        Assert.Equal(400, refused.StatusCode);
        Assert.StartsWith($"\"{schema}\".\"{table}\" is {what}", refused.Message);
        Assert.Contains(why, refused.Message);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit%'  AND tgrelid = $1::regclass", $"{schema}.{table}"));
    }
}
