using System.Diagnostics.CodeAnalysis;
using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>
/// Issue 21: one statement that deletes a row and moves another onto its key nets to the statement's difference, and
/// keys are compared by value whatever the writer's TimeZone, IntervalStyle, DateStyle or extra_float_digits.
/// Each test: copy of the table before + the committed object applied == the live table.
/// </summary>
public sealed class FaithfulOrderingTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    /// <summary>Session settings of one writer (applied with SET before its statement).</summary>
    internal sealed record Writer(string TimeZone = "UTC", string IntervalStyle = "postgres", string DateStyle = "ISO, MDY", int ExtraFloatDigits = 1)
    {
        public override string ToString() =>
            $"TimeZone={TimeZone}; IntervalStyle={IntervalStyle}; DateStyle={DateStyle}; extra_float_digits={ExtraFloatDigits}";
    }

    /// <summary>
    /// Runs <paramref name="sql"/> on its own connection with the writer's settings (autocommit). <c>COPY … FROM STDIN</c>
    /// takes its data from the lines after the first (text format).
    /// </summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.Helper)]
    internal static async Task ExecAsAsync(TestDatabase db, Writer writer, string sql)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using (var set = new NpgsqlCommand(
            "SELECT set_config('TimeZone', $1, false), set_config('IntervalStyle', $2, false), set_config('DateStyle', $3, false), set_config('extra_float_digits', $4, false)",
            connection))
        {
            set.Parameters.Add(new NpgsqlParameter { Value = writer.TimeZone });
            set.Parameters.Add(new NpgsqlParameter { Value = writer.IntervalStyle });
            set.Parameters.Add(new NpgsqlParameter { Value = writer.DateStyle });
            set.Parameters.Add(new NpgsqlParameter { Value = writer.ExtraFloatDigits.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            await set.ExecuteNonQueryAsync();
        }

        if (sql.StartsWith("COPY ", StringComparison.Ordinal) && sql.IndexOf('\n', StringComparison.Ordinal) is > 0 and var end)
        {
            await using var import = await connection.BeginTextImportAsync(sql[..end]);
            await import.WriteAsync(sql[(end + 1)..]);
            return;
        }

        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Creates and fills a table, copies it as "before", tracks it; returns the schema.</summary>
    private async Task<string> ArrangeAsync(string create, string fill)
    {
        var schema = await Db.NewSchemaAsync("fo");
        await Db.ExecAsync($"SET search_path = {schema}; {create}; {fill}");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        return schema;
    }

    /// <summary>Commits, applies the object to "before" and asserts it equals the live table; returns the commit.</summary>
    private Task<CommitResult> CommitAndCompareAsync(string schema) => Objects.CommitAndCompareAsync(Db, schema);

    [Fact]
    public async Task Merge_that_deletes_a_key_and_moves_another_onto_it_nets_to_one_upsert_and_one_delete()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (fruit_id int PRIMARY KEY, name text)", "INSERT INTO t VALUES (1, 'apple'), (2, 'orange')");
        await Db.ExecAsync(
            $"""
            MERGE INTO {schema}.t x USING (VALUES (1, true), (2, false)) s(id, del) ON x.fruit_id = s.id
            WHEN MATCHED AND s.del THEN DELETE WHEN MATCHED THEN UPDATE SET fruit_id = 1
            """);

        await using (var engine = Db.Engine())
        {
            var net = await new ChangeEngine(engine).GetNetChangesAsync(schema, "t");
            Assert.Equal(["+{\"fruit_id\":1} {\"fruit_id\":1,\"name\":\"orange\"}", "-{\"fruit_id\":2}"], Describe.Entries(net).Order(StringComparer.Ordinal));
        }

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 1L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,orange)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Writable_cte_that_deletes_a_key_and_moves_another_onto_it_nets_to_the_difference()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (fruit_id int PRIMARY KEY, name text)", "INSERT INTO t VALUES (1, 'apple'), (2, 'orange'), (3, 'pear')");
        await Db.ExecAsync(
            $"""
            WITH gone AS (DELETE FROM {schema}.t WHERE fruit_id = 1 RETURNING fruit_id)
            UPDATE {schema}.t SET fruit_id = 1 WHERE fruit_id = 2 AND EXISTS (SELECT 1 FROM gone)
            """);
        // Delete and re-insert of one key in one statement, and a move by delete + insert.
        await Db.ExecAsync($"WITH gone AS (DELETE FROM {schema}.t WHERE fruit_id = 3 RETURNING *) INSERT INTO {schema}.t SELECT fruit_id + 10, name FROM gone");
        await Db.ExecAsync($"WITH gone AS (DELETE FROM {schema}.t WHERE fruit_id = 13 RETURNING *) INSERT INTO {schema}.t SELECT * FROM gone");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 2L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,orange)", "(13,pear)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Theory]
    [InlineData("DEFERRABLE INITIALLY IMMEDIATE")]
    [InlineData("DEFERRABLE INITIALLY DEFERRED")]
    public async Task Key_shift_over_a_range_nets_to_the_difference(string deferrable)
    {
        var schema = await ArrangeAsync($"CREATE TABLE t (id int PRIMARY KEY {deferrable}, v text)", "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 6) g");
        await Db.ExecAsync($"UPDATE {schema}.t SET id = id + 1 WHERE id >= 3");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((4L, 1L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,v1)", "(2,v2)", "(4,v3)", "(5,v4)", "(6,v5)", "(7,v6)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Fact]
    public async Task Key_shift_without_a_primary_key_nets_to_the_difference()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (id int, v text)", "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 6) g");
        await Db.ExecAsync($"UPDATE {schema}.t SET id = id + 1 WHERE id BETWEEN 1 AND 5");
        await CommitAndCompareAsync(schema);
    }

    [Fact]
    public async Task Key_swap_in_one_statement_nets_to_two_upserts()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (id int PRIMARY KEY DEFERRABLE, v text)", "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')");
        await Db.ExecAsync($"UPDATE {schema}.t SET id = 3 - id WHERE id IN (1, 2)");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 0L), (result.Upserts, result.Deletes));
        Assert.Equal(["(1,two)", "(2,one)", "(3,three)"], await Db.RowsAsync($"{schema}.before"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Timestamptz_key_written_under_two_time_zones_is_one_key(bool primaryKey)
    {
        var schema = await ArrangeAsync($"CREATE TABLE t (ts timestamptz{(primaryKey ? " PRIMARY KEY" : string.Empty)}, v int)", "SELECT 1");
        await ExecAsAsync(Db, new Writer(TimeZone: "UTC"), $"INSERT INTO {schema}.t VALUES ('2024-03-01 10:00:00.123456+00', 1)");
        await ExecAsAsync(Db, new Writer(TimeZone: "Asia/Tokyo"), $"UPDATE {schema}.t SET v = 2 WHERE ts = '2024-03-01 10:00:00.123456+00'");

        await using (var engine = Db.Engine())
        {
            var net = await new ChangeEngine(engine).GetNetChangesAsync(schema, "t");
            Assert.Single(net.Entries);
        }

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        Assert.Single(await Db.RowsAsync($"{schema}.before"));
    }

    [Theory]
    [InlineData("sql_standard")]
    [InlineData("iso_8601")]
    [InlineData("postgres_verbose")]
    public async Task Interval_key_written_under_two_interval_styles_is_one_key(string style)
    {
        var schema = await ArrangeAsync("CREATE TABLE t (iv interval PRIMARY KEY, v int)", "INSERT INTO t VALUES ('1 day 02:03:04.5', 0)");
        await ExecAsAsync(Db, new Writer(IntervalStyle: "postgres"), $"INSERT INTO {schema}.t VALUES ('3 mons 2 days 01:00:00', 1)");
        await ExecAsAsync(Db, new Writer(IntervalStyle: style), $"UPDATE {schema}.t SET v = 2 WHERE iv = interval '3 mons 2 days 01:00:00'");
        await ExecAsAsync(Db, new Writer(IntervalStyle: style), $"UPDATE {schema}.t SET v = 3 WHERE iv = interval '1 day 02:03:04.5'");
        await ExecAsAsync(Db, new Writer(IntervalStyle: "postgres"), $"DELETE FROM {schema}.t WHERE v = 3");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 1L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Float_key_written_with_extra_float_digits_zero_is_its_exact_value()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (f float8 PRIMARY KEY, v int)", "SELECT 1");
        await ExecAsAsync(Db, new Writer(ExtraFloatDigits: 0), $"INSERT INTO {schema}.t VALUES (0.1::float8 + 0.2::float8, 1), (1::float8 / 3, 1)");
        await ExecAsAsync(Db, new Writer(ExtraFloatDigits: -3), $"UPDATE {schema}.t SET v = 2 WHERE f = 0.1::float8 + 0.2::float8");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 0L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Bytea_key_written_under_two_bytea_outputs_is_one_key()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (b bytea PRIMARY KEY, v int)", "INSERT INTO t VALUES ('\\x00ff', 0)");
        await ExecAsAsync(Db, new Writer(), $"SET bytea_output = 'escape'; INSERT INTO {schema}.t VALUES ('\\xdeadbeef', 1)");
        await ExecAsAsync(Db, new Writer(), $"SET bytea_output = 'hex'; UPDATE {schema}.t SET v = 2 WHERE b = '\\xdeadbeef'");
        await ExecAsAsync(Db, new Writer(), $"SET bytea_output = 'escape'; UPDATE {schema}.t SET v = 3 WHERE v = 0; DELETE FROM {schema}.t WHERE v = 3");

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1L, 1L), (result.Upserts, result.Deletes));
    }

    [Fact]
    public async Task Bulk_and_per_row_entries_render_timestamptz_alike_under_any_time_zone()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (ts timestamptz PRIMARY KEY, v int)", "SELECT 1");
        // 1,500 rows: the first 1,000 are logged per row, the rest as a bulk entry of keys.
        await ExecAsAsync(Db, new Writer(TimeZone: "America/St_Johns"),
            $"INSERT INTO {schema}.t SELECT timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', g FROM generate_series(1, 1500) g");
        await ExecAsAsync(Db, new Writer(TimeZone: "Asia/Tokyo"),
            $"UPDATE {schema}.t SET v = -v WHERE v IN (10, 1200); DELETE FROM {schema}.t WHERE v IN (11, 1300)");

        await using (var engine = Db.Engine())
        {
            var changes = new ChangeEngine(engine);
            var raw = new List<string>();
            long after = 0;
            while (true)
            {
                var page = await changes.GetPendingChangesAsync(schema, "t", after, 400);
                raw.AddRange(page.Entries.Select(e => e.PrimaryKey.GetProperty("ts").GetString()!));
                if (page.NextAfter is not { } next)
                {
                    break;
                }

                after = next;
            }

            Assert.Contains("2024-01-01T00:10:00+00:00", raw);
            Assert.Contains("2024-01-01T20:00:00+00:00", raw);
            Assert.All(raw, ts => Assert.EndsWith("+00:00", ts));
            var net = await changes.GetNetChangesAsync(schema, "t", limit: 5000);
            Assert.Equal(1498, net.Entries.Count);
        }

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((1498L, 0L), (result.Upserts, result.Deletes));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public async Task The_writers_settings_are_what_they_were_after_every_tracked_statement(bool inTransaction)
    {
        // The triggers log under fixed output settings (set only when the writer's differ) and must hand the
        // writer's own back: the writer's later statements, and the rest of its session, see its settings.
        var schema = await ArrangeAsync("CREATE TABLE t (id int PRIMARY KEY, ts timestamptz, v bytea)", "INSERT INTO t VALUES (1, '2024-01-01 00:00+00', '\\x01')");
        await using var connection = await Db.DataSource.OpenConnectionAsync();
        const string Settings = "SELECT current_setting('TimeZone') || '|' || current_setting('IntervalStyle') || '|' || current_setting('DateStyle') || '|' || " +
                                "current_setting('extra_float_digits') || '|' || current_setting('bytea_output')";
        var set = $"{(inTransaction ? "BEGIN; SET LOCAL" : "SET")} TimeZone = 'Asia/Tokyo'; SET{(inTransaction ? " LOCAL" : "")} IntervalStyle = 'sql_standard'; " +
                  $"SET{(inTransaction ? " LOCAL" : "")} DateStyle = 'SQL, DMY'; SET{(inTransaction ? " LOCAL" : "")} extra_float_digits = 0; SET{(inTransaction ? " LOCAL" : "")} bytea_output = 'escape'";
        await using (var command = new NpgsqlCommand(set, connection))
        {
            await command.ExecuteNonQueryAsync();
        }

        const string Expected = "Asia/Tokyo|sql_standard|SQL, DMY|0|escape";
        foreach (var statement in new[]
                 {
                     $"INSERT INTO {schema}.t VALUES (2, '2024-01-02 00:00+00', '\\x02')", $"UPDATE {schema}.t SET v = '\\x03' WHERE id = 1",
                     $"DELETE FROM {schema}.t WHERE id = 2", $"TRUNCATE {schema}.t",
                 })
        {
            await using var command = new NpgsqlCommand($"{statement}; {Settings}", connection);
            Assert.Equal(Expected, await command.ExecuteScalarAsync());
        }

        if (inTransaction)
        {
            await using var commit = new NpgsqlCommand("COMMIT", connection);
            await commit.ExecuteNonQueryAsync();
        }

        await using (var after = new NpgsqlCommand(Settings, connection))
        {
            // SET LOCAL ends with the transaction; a session SET stays.
            Assert.Equal(inTransaction, !Expected.Equals(await after.ExecuteScalarAsync()));
        }

        await using (var reset = new NpgsqlCommand("RESET ALL", connection))
        {
            await reset.ExecuteNonQueryAsync();
        }

        await CommitAndCompareAsync(schema);
    }

    [Fact]
    public async Task Statements_of_one_transaction_under_different_settings_stay_in_order()
    {
        var schema = await ArrangeAsync("CREATE TABLE t (ts timestamptz PRIMARY KEY, iv interval, v int)", "INSERT INTO t VALUES ('2024-01-01 00:00+00', '1 hour', 1)");
        await ExecAsAsync(Db, new Writer(TimeZone: "Pacific/Chatham", IntervalStyle: "sql_standard", DateStyle: "German"),
            $"""
            BEGIN;
            DELETE FROM {schema}.t;
            INSERT INTO {schema}.t VALUES ('2024-01-01 00:00+00', '2 hours', 2);
            SET LOCAL TimeZone = 'UTC';
            UPDATE {schema}.t SET ts = ts + interval '1 day';
            INSERT INTO {schema}.t VALUES ('2024-01-01 00:00+00', '3 hours', 3);
            COMMIT;
            """);

        var result = await CommitAndCompareAsync(schema);
        Assert.Equal((2L, 0L), (result.Upserts, result.Deletes));
    }
}
