using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// Issue 15, the trigger's no-op detection: an update is a no-op only when the row images are identical, so changes
/// that jsonb equality cannot see (numeric scale, float8 -0, json text, json 'null' vs NULL) are logged and committed.
/// Each test: copy of the table before + the committed object applied == the live table, compared as row text.
/// </summary>
public sealed class ImageIdentityTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private async Task<string> ArrangeAsync(string columns, string values)
    {
        var schema = await Db.NewSchemaAsync("img");
        await Db.ExecAsync($"CREATE TABLE {schema}.t ({columns}); INSERT INTO {schema}.t VALUES {values}");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        return schema;
    }

    private async Task<AggregateChanges> AggregateAsync(string schema)
    {
        await using var engine = Db.Engine();
        return await new ChangeEngine(engine).GetAggregateChangesAsync(schema, "t");
    }

    private Task<CommitResult> CommitAndCompareAsync(string schema) => Objects.CommitAndCompareAsync(Db, schema);

    [Fact]
    public async Task Numeric_scale_only_change_is_logged_and_committed()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, n numeric", "(1, 1.0), (2, 2.50)");
        await Db.ExecAsync($"UPDATE {schema}.t SET n = 1.00 WHERE id = 1");
        // Through another value and back to an equal number of another scale, in separate statements.
        await Db.ExecAsync($"UPDATE {schema}.t SET n = 7 WHERE id = 2; UPDATE {schema}.t SET n = 2.5 WHERE id = 2");
        Assert.Equal(new AggregateChanges(0, 0, 3), await AggregateAsync(schema));

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,1.00)", "(2,2.5)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Numeric_key_scale_only_change_is_committed()
    {
        var schema = await ArrangeAsync("id numeric PRIMARY KEY, v text", "(1.0, 'one')");
        await Db.ExecAsync($"UPDATE {schema}.t SET id = 1.00");
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal(1L, result.Upserts);
        Assert.Equal(["(1.00,one)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Float_zero_to_negative_zero_is_logged_and_committed()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, f float8", "(1, 0), (2, '-0')");
        await Db.ExecAsync($"UPDATE {schema}.t SET f = '-0' WHERE id = 1; UPDATE {schema}.t SET f = 0 WHERE id = 2");
        Assert.Equal(new AggregateChanges(0, 0, 2), await AggregateAsync(schema));

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,-0)", "(2,0)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Json_text_changes_and_json_null_versus_sql_null_are_logged_and_committed()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, j json",
            """(1, '{"a":1}'), (2, '{"a": 1, "b": 2}'), (3, '{"a": 1}'), (4, 'null'), (5, NULL)""");
        await Db.ExecAsync(
            $$"""
            UPDATE {{schema}}.t SET j = '{"a": 1}' WHERE id = 1;
            UPDATE {{schema}}.t SET j = '{"b": 2, "a": 1}' WHERE id = 2;
            UPDATE {{schema}}.t SET j = '{"a": 0, "a": 1}' WHERE id = 3;
            UPDATE {{schema}}.t SET j = NULL WHERE id = 4;
            UPDATE {{schema}}.t SET j = 'null' WHERE id = 5;
            """);
        Assert.Equal(new AggregateChanges(0, 0, 5), await AggregateAsync(schema));

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((5L, 0L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Change_views_keep_json_types_and_show_other_values_as_exact_strings()
    {
        var schema = await ArrangeAsync(
            "id int PRIMARY KEY, n numeric, f float8, r real, ts timestamp(6), tz timestamptz, iv interval, b bytea, ok boolean, j jsonb",
            "(0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL)");
        // Written under unusual settings: the views show the same text whoever wrote the row.
        const string Jb = """{"a": [1.50, null]}""";
        await Db.ExecAsync(
            $$"""
            SET TimeZone = 'Asia/Tokyo'; SET IntervalStyle = 'sql_standard'; SET extra_float_digits = 0; SET bytea_output = 'escape';
            INSERT INTO {{schema}}.t VALUES (1, 1.00, 'NaN', '-Infinity', '2024-02-29 23:59:59.000001', '2024-01-01 09:00:00.5+09',
                '1 day 00:00:00.000001', '\x00ff', true, '{{Jb}}'), (2, -0.0010, 'Infinity', 1.5, NULL, NULL, NULL, NULL, false, 'null');
            RESET ALL;
            """);
        await using var engine = Db.Engine();
        var rows = (await new ChangeEngine(engine).GetPendingChangesAsync(schema, "t")).Entries
            .ToDictionary(e => e.NewRow!.Value.GetProperty("id").GetInt32(), e => e.NewRow!.Value);

        // Numbers, booleans, nulls and objects as their JSON text; strings as "…" around their value (however escaped).
        string Raw(int id, string column) => rows[id].GetProperty(column) is { ValueKind: System.Text.Json.JsonValueKind.String } text
            ? $"\"{text.GetString()}\""
            : rows[id].GetProperty(column).GetRawText();
        Assert.Equal(("1", "1.00", "\"NaN\"", "\"-Infinity\"", "true"), (Raw(1, "id"), Raw(1, "n"), Raw(1, "f"), Raw(1, "r"), Raw(1, "ok")));
        Assert.Equal("\"2024-02-29T23:59:59.000001\"", Raw(1, "ts"));
        Assert.Equal("\"2024-01-01T00:00:00.5+00:00\"", Raw(1, "tz"));
        Assert.Equal("\"1 day 00:00:00.000001\"", Raw(1, "iv"));
        Assert.Equal("\"\\x00ff\"", Raw(1, "b"));
        Assert.Equal("{\"a\":[1.50,null]}", Raw(1, "j"));
        Assert.Equal(("-0.0010", "\"Infinity\"", "1.5", "false", "null"), (Raw(2, "n"), Raw(2, "f"), Raw(2, "r"), Raw(2, "ok"), Raw(2, "j")));
    }

    /// <summary>
    /// Property test seed 1828371188: one statement moves a float8 key 0 -> -0 together with another column, a later one
    /// puts that column back. In jsonb (which writes -0 as 0) the key ends where it started; the row texts logged for
    /// keyed tables with such columns (trigger argument 'texts') see the new key image, and commit takes it.
    /// </summary>
    [Fact]
    public async Task Float_key_moved_to_negative_zero_with_another_column_that_is_put_back_commits_the_negative_zero()
    {
        var schema = await ArrangeAsync("id float8 PRIMARY KEY, v int", "(0, 1), (1, 2)");
        Assert.Equal("{texts}", await Db.ScalarAsync<string>($"SELECT splitgraph_audit.trigger_args('{schema}.t'::regclass)::text"));
        await Db.ExecAsync($"UPDATE {schema}.t SET id = '-0', v = v + 1 WHERE id = 0");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = v - 1 WHERE id = 0");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(-0,1)", "(1,2)"], await Db.RowsAsync($"{schema}.before"));
        // The record-image operator tells -0 from 0 whatever the session's extra_float_digits.
        Assert.True(await Db.ScalarAsync<bool>($"SELECT b *= t FROM {schema}.before b, {schema}.t t WHERE b.v = 1 AND t.v = 1"));
    }

    [Fact]
    public async Task Json_text_changed_with_another_column_that_is_put_back_is_committed()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, j json, v int", """(1, '{"a":1}', 1)""");
        await Db.ExecAsync($$"""UPDATE {{schema}}.t SET j = '{"a": 1}', v = 2""");
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 1");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal(1L, result.Upserts);
        Assert.Equal(["""(1,"{""a"": 1}",1)"""], await Db.RowsAsync($"{schema}.before"));
    }

    /// <summary>
    /// In a row's jsonb, SQL NULL and jsonb 'null' are both null: a jsonb column set to 'null' together with another
    /// column that a later statement puts back must still be committed (jsonb columns log row texts).
    /// </summary>
    [Fact]
    public async Task Jsonb_sql_null_to_json_null_with_another_column_that_is_put_back_is_committed()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, j jsonb, v int", "(1, NULL, 1)");
        await Db.ExecAsync($"UPDATE {schema}.t SET j = 'null', v = 2; UPDATE {schema}.t SET v = 1");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,null,1)"], await Db.RowsAsync($"{schema}.before"));
        Assert.True(await Db.ScalarAsync<bool>($"SELECT b *= t FROM {schema}.before b, {schema}.t t"));
    }

    /// <summary>
    /// jsonb writes an array without its lower bound ('[0:1]={1,2}' and '{1,2}' are both [1,2]), and array equality
    /// tells them apart: an array column's new bounds with another column put back must still be committed.
    /// </summary>
    [Fact]
    public async Task Array_lower_bound_change_with_another_column_that_is_put_back_is_committed()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, a int[], v int", "(1, '{1,2}', 1)");
        await Db.ExecAsync($"UPDATE {schema}.t SET a = '[0:1]={{1,2}}', v = 2; UPDATE {schema}.t SET v = 1");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,\"[0:1]={1,2}\",1)"], await Db.RowsAsync($"{schema}.before"));
        Assert.True(await Db.ScalarAsync<bool>($"SELECT b *= t FROM {schema}.before b, {schema}.t t"));
    }

    /// <summary>A bulk insert entry logs only keys: the key's last state is then the live row, compared by its exact text.</summary>
    [Fact]
    public async Task Float_key_deleted_then_bulk_inserted_as_negative_zero_is_committed()
    {
        var schema = await ArrangeAsync("id float8 PRIMARY KEY, v int", "(0, 1)");
        await Db.ExecAsync($"DELETE FROM {schema}.t WHERE id = 0");
        // 1,201 rows: the last 201 (the -0 key among them) go to a bulk entry.
        await Db.ExecAsync($"INSERT INTO {schema}.t SELECT g, g FROM generate_series(1, 1200) g UNION ALL SELECT '-0'::float8, 1");
        Assert.True(await Db.ScalarAsync<bool>(
            $"SELECT EXISTS (SELECT 1 FROM splitgraph_audit.logged_actions WHERE schema_name = '{schema}' AND table_name = 't' AND changed_fields ? 'sg_bulk')"));

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1201L, 0L), (result.Upserts, result.Deletes));
    }

    private static readonly string[] LoggingTriggers = ["audit_trigger_stm", "audit_trigger_stm_delete", "audit_trigger_row", "audit_trigger_truncate"];

    /// <summary>Installs the logging triggers as an older engine did: no arguments.</summary>
    private Task InstallArgumentlessTriggersAsync(string schema) => Db.ExecAsync(
        $"""
        CREATE OR REPLACE TRIGGER audit_trigger_stm AFTER INSERT ON {schema}.t
            REFERENCING NEW TABLE AS sg_new_rows FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_inserts();
        CREATE OR REPLACE TRIGGER audit_trigger_stm_delete AFTER DELETE ON {schema}.t
            REFERENCING OLD TABLE AS sg_old_rows FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_deletes();
        CREATE OR REPLACE TRIGGER audit_trigger_row AFTER UPDATE ON {schema}.t FOR EACH ROW EXECUTE FUNCTION splitgraph_audit.log_update();
        CREATE OR REPLACE TRIGGER audit_trigger_truncate BEFORE TRUNCATE ON {schema}.t FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_truncate();
        """);

    /// <summary>Each logging trigger of <c>t</c> as <c>name=args</c> (arguments in escape encoding), by name.</summary>
    private async Task<string> TriggerArgsAsync(string schema) => await Db.ScalarAsync<string>(
        $"SELECT string_agg(tgname || '=' || encode(tgargs, 'escape'), ' ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = '{schema}.t'::regclass AND tgname = ANY ($1)",
        [LoggingTriggers]);

    private static string AllTriggersWith(string args) =>
        string.Join(" ", LoggingTriggers.Order(StringComparer.Ordinal).Select(t => t + "=" + args));

    /// <summary>A float8 table tracked before row texts were logged for keyed tables gets them at its next commit.</summary>
    [Fact]
    public async Task Triggers_installed_without_row_texts_are_resynced_at_commit()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, f float8, v int", "(1, 1, 1)");
        await InstallArgumentlessTriggersAsync(schema);
        Task<string> ArgsAsync() => TriggerArgsAsync(schema);
        Assert.DoesNotContain("texts", await ArgsAsync());
        await Db.ExecAsync($"UPDATE {schema}.t SET f = 0");
        await CommitAndCompareAsync(schema);

        Assert.Equal(AllTriggersWith("texts\\000"), await ArgsAsync());
        await Db.ExecAsync($"UPDATE {schema}.t SET f = '-0', v = 2; UPDATE {schema}.t SET v = 1");
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal(1L, result.Upserts);
        Assert.Equal(["(1,-0,1)"], await Db.RowsAsync($"{schema}.before"));
    }

    /// <summary>
    /// A float8 table whose triggers an older engine installed (no arguments) gets 'texts' at the engine's initialize,
    /// before any commit, so the entries logged from then on carry row texts; a repeated initialize re-creates nothing.
    /// </summary>
    [Fact]
    public async Task Triggers_installed_without_row_texts_are_resynced_at_initialize()
    {
        var schema = await ArrangeAsync("id float8 PRIMARY KEY, v int", "(0, 1)");
        await InstallArgumentlessTriggersAsync(schema);
        Assert.Equal(AllTriggersWith(""), await TriggerArgsAsync(schema));

        await using (var engine = Db.Engine())
        {
            await engine.InitializeAsync();
        }

        Assert.Equal(AllTriggersWith("texts\\000"), await TriggerArgsAsync(schema));
        Assert.Equal(0, await Db.ScalarAsync<int>("SELECT splitgraph_audit.sync_trigger_args()"));
        // Logged with texts from the first statement: the key moved to -0 with a column put back is committed.
        await Db.ExecAsync($"UPDATE {schema}.t SET id = '-0', v = 2; UPDATE {schema}.t SET v = 1");
        Assert.True(await Db.ScalarAsync<bool>(
            $"SELECT bool_and(row_text IS NOT NULL) FROM splitgraph_audit.logged_actions WHERE schema_name = '{schema}' AND table_name = 't'"));
        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(-0,1)"], await Db.RowsAsync($"{schema}.before"));
    }

    /// <summary>
    /// Which keyed tables log row texts ('texts'): those with a column of a type outside the whitelist of jsonb-exact
    /// ones — float4/float8, json and jsonb, also inside domains; arrays (their lower bounds), composites, ranges and
    /// other types always (even an array or composite of ints). Tables of whitelisted types, enums, and domains over
    /// them keep the plain path (the bench's tables: bigint, int, text, timestamptz).
    /// </summary>
    [Theory]
    [InlineData("bigint, a int, b text, c timestamptz", "{}")]
    [InlineData("int, n numeric(10,2), u uuid, d date, t timestamp, iv interval, b bytea, ok boolean, v varchar(5), ch char(3)", "{}")]
    [InlineData("int, e {0}.mood, pos {0}.pos", "{}")]
    [InlineData("int, jb jsonb", "{texts}")]
    [InlineData("int, xs int[]", "{texts}")]
    [InlineData("int, ts text[]", "{texts}")]
    [InlineData("int, poss {0}.pos[]", "{texts}")]
    [InlineData("int, d {0}.ints", "{texts}")]
    [InlineData("int, f float8", "{texts}")]
    [InlineData("int, r real", "{texts}")]
    [InlineData("float8, v int", "{texts}")]
    [InlineData("int, fs float8[]", "{texts}")]
    [InlineData("int, m {0}.money_ish", "{texts}")]
    [InlineData("int, c {0}.pair", "{texts}")]
    [InlineData("int, r numrange", "{texts}")]
    [InlineData("int, p point", "{texts}")]
    [InlineData("int, j json", "{json,texts}")]
    public async Task Keyed_tables_log_row_texts_only_with_a_column_jsonb_does_not_write_exactly(string columns, string expected)
    {
        var schema = await Db.NewSchemaAsync("img");
        await Db.ExecAsync(
            $"""
            CREATE TYPE {schema}.mood AS ENUM ('sad', 'ok');
            CREATE DOMAIN {schema}.pos AS int CHECK (VALUE > 0);
            CREATE DOMAIN {schema}.money_ish AS float8;
            CREATE DOMAIN {schema}.ints AS int[];
            CREATE TYPE {schema}.pair AS (a int, b int);
            CREATE TABLE {schema}.t (id {string.Format(System.Globalization.CultureInfo.InvariantCulture, columns, schema)}, PRIMARY KEY (id));
            """);
        Assert.Equal(expected, await Db.ScalarAsync<string>($"SELECT splitgraph_audit.trigger_args('{schema}.t'::regclass)::text"));
    }

    [Fact]
    public async Task Update_to_an_identical_image_is_still_not_logged()
    {
        var schema = await ArrangeAsync("id int PRIMARY KEY, n numeric, f float8, j json", """(1, 1.0, '-0', '{"a":1}')""");
        await Db.ExecAsync($"UPDATE {schema}.t SET n = n, f = f, j = j; UPDATE {schema}.t SET n = 1.0, f = '-0'");
        Assert.Equal(new AggregateChanges(0, 0, 0), await AggregateAsync(schema));
    }
}
