using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>
/// Only user tables are served: every engine operation that takes a schema and table refuses PostgreSQL's catalogues,
/// <c>information_schema</c>, temporary schemas and the engine's own schemas with a 403, before reading anything.
/// </summary>
public sealed class UserTablesTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    public static TheoryData<string, string> SystemTables => new()
    {
        { "pg_catalog", "pg_authid" },
        { "pg_catalog", "pg_class" },
        { "information_schema", "sql_features" },
        { "pg_toast", "pg_toast_1262" },
        { "splitgraph_meta", "objects" },
        { "splitgraph_audit", "logged_actions" },
    };

    [Theory]
    [MemberData(nameof(SystemTables))]
    public async Task Every_table_operation_refuses_system_and_engine_tables(string schema, string table)
    {
        await AssertRefusedEverywhereAsync(schema, table);
    }

    [Fact]
    public async Task A_temporary_table_is_not_served_either()
    {
        // The temporary schema exists while its session lives: hold one open.
        await using var holder = await Db.DataSource.OpenConnectionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE secret (id int PRIMARY KEY); INSERT INTO secret VALUES (1)", holder))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var schemaQuery = new NpgsqlCommand("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()", holder);
        var tempSchema = (string)(await schemaQuery.ExecuteScalarAsync())!;
        await AssertRefusedEverywhereAsync(tempSchema, "secret");
    }

    [Fact]
    public async Task The_rule_agrees_with_the_server_on_which_schemas_are_the_users()
    {
        var schema = await Db.NewSchemaAsync("mine");
        var names = new List<string>();
        await using (var command = Db.DataSource.CreateCommand("SELECT nspname FROM pg_namespace"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }
        }

        var users = names.Where(UserTables.IsUserSchema).Order().ToList();
        Assert.Contains(schema, users);
        Assert.Contains("public", users);
        Assert.DoesNotContain(users, n => n.StartsWith("pg_", StringComparison.Ordinal) || n.StartsWith("splitgraph_", StringComparison.Ordinal) || n == "information_schema");
        // The SQL form of the rule picks exactly the same schemas.
        await using var sql = Db.DataSource.CreateCommand($"SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE {UserTables.SqlCondition("nspname")}");
        var sqlUsers = ((string)(await sql.ExecuteScalarAsync())!).Split(',').Order().ToList();
        Assert.Equal(users, sqlUsers);
    }

    private async Task AssertRefusedEverywhereAsync(string schema, string table)
    {
        var target = new TableRef(schema, table);
        var id = await Objects.FromRowsAsync(Db, await Db.NewSchemaAsync("obj"), "id int PRIMARY KEY", "(1, true)");
        var attempts = new (string What, Func<SqlEngine, Task> Act)[]
        {
            ("dump", e => e.DumpTableSqlAsync(schema, table, TextWriter.Null)),
            ("track", e => new ChangeEngine(e).TrackTablesAsync([target])),
            ("untrack", e => new ChangeEngine(e).UntrackTablesAsync([target])),
            ("changes", e => new ChangeEngine(e).GetPendingChangesAsync(schema, table)),
            ("net changes", e => new ChangeEngine(e).GetNetChangesAsync(schema, table)),
            ("commit", e => { e.IsolationLevel = TableCommitter.Isolation; return new TableCommitter(e).CommitAsync(schema, table, snapshot: true); }),
            ("apply", e => new FragmentApplier(e).ApplyFragmentsAsync([id], schema, table)),
        };

        foreach (var (what, act) in attempts)
        {
            await using var engine = Db.Engine();
            var refused = await Assert.ThrowsAsync<NotUserSchemaException>(() => act(engine));
            Assert.True(refused.StatusCode == 403, $"{what}: {refused.StatusCode}");
            Assert.Contains(schema, refused.Message);
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal", schema));
    }
}
