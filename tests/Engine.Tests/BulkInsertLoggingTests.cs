using System.Text.Json;
using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// Statements inserting over 1,000 rows into a table with a primary key log the rest as bulk entries (key arrays):
/// every view must still read every row back, exactly as per-row logging would.
/// </summary>
public sealed class BulkInsertLoggingTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private async Task<List<ChangeEntry>> ReadAllAsync(string schema, string table, bool net, int limit)
    {
        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        var all = new List<ChangeEntry>();
        long after = 0;
        while (true)
        {
            var page = net
                ? await changes.GetNetChangesAsync(schema, table, after, limit)
                : await changes.GetPendingChangesAsync(schema, table, after, limit);
            Assert.True(page.Entries.Count <= limit);
            all.AddRange(page.Entries);
            if (page.NextAfter is not { } next)
            {
                return all;
            }

            Assert.True(next > after, "the cursor did not move forward");
            after = next;
        }
    }

    private async Task<long> LogRowsAsync(string schema) =>
        await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema);

    /// <summary>The table's rows as the log writes them (to_jsonb), by key, both in <see cref="Describe.Canon"/> form.</summary>
    private async Task<Dictionary<string, string>> LiveRowsAsync(string schema, string table, string keySql) =>
        (await Db.RowsAsync($"{schema}.\"{table}\"", $"jsonb_build_array({keySql}, to_jsonb(t.*))"))
            .Select(r => JsonDocument.Parse(r).RootElement).ToDictionary(p => Text(p[0]), p => Text(p[1]));

    private static string Text(JsonElement? element) => Describe.Canon(element);

    private static string Text(string json) => Describe.Canon(JsonDocument.Parse(json).RootElement);

    [Fact]
    public async Task Bulk_inserts_are_logged_as_key_arrays_and_every_view_reads_every_row_back()
    {
        var schema = await Db.NewSchemaAsync();
        // A composite key in an order other than the columns', and column names a careless trigger would trip on.
        await Db.ExecAsync($"""
            CREATE TABLE {schema}."Odd t" (r int, "k 1" text, sg_part int, id int, note text, PRIMARY KEY (id, "k 1"));
            """);
        await Objects.TrackAsync(Db, schema, "Odd t");
        await Db.ExecAsync($"""INSERT INTO {schema}."Odd t" SELECT g, 'k' || (g % 3), g % 7, g, 'n' || g FROM generate_series(1, 12345) g""");

        // 1,000 rows logged one per row, then 11,345 keys in two bulk entries.
        Assert.Equal(1_002L, await LogRowsAsync(schema));
        await using (var engine = Db.Engine())
        {
            Assert.Equal(new AggregateChanges(12_345, 0, 0), await new ChangeEngine(engine).GetAggregateChangesAsync(schema, "Odd t"));
        }

        // Change some bulk-inserted rows afterwards: an update, a delete, a key change.
        await Db.ExecAsync($"""
            UPDATE {schema}."Odd t" SET note = 'updated' WHERE id BETWEEN 5001 AND 5005;
            DELETE FROM {schema}."Odd t" WHERE id BETWEEN 6001 AND 6005;
            UPDATE {schema}."Odd t" SET id = 99999 WHERE id = 7001;
            """);

        // The raw view, in small pages across the bulk entries: one entry per inserted row in insertion order, each
        // with the row as inserted (for changed rows that is the old row of their next change).
        var raw = await ReadAllAsync(schema, "Odd t", net: false, limit: 777);
        Assert.Equal(12_345 + 5 + 5 + 2, raw.Count);
        var inserts = raw.Take(12_345).ToList();
        Assert.All(inserts, e => Assert.True(e.Upserted && e.OldRow is null));
        Assert.Equal(Enumerable.Range(1, 12_345), inserts.Select(e => e.PrimaryKey.GetProperty("id").GetInt32()));
        Assert.Equal(inserts.Select(e => e.EventId).Order(), inserts.Select(e => e.EventId));
        for (var i = 0; i < inserts.Count; i++)
        {
            var g = i + 1;
            var row = inserts[i].NewRow!.Value;
            Assert.Equal($"n{g}", row.GetProperty("note").GetString());
            Assert.Equal($"k{g % 3}", row.GetProperty("k 1").GetString());
            Assert.Equal(Text($$"""{"id": {{g}}, "k 1": "k{{g % 3}}"}"""), Text(inserts[i].PrimaryKey));
        }

        // The net view pages without losing or repeating a key, and equals the live table.
        var net = await ReadAllAsync(schema, "Odd t", net: true, limit: 1_000);
        var live = await LiveRowsAsync(schema, "Odd t", """jsonb_build_object('id', t.id, 'k 1', t."k 1")""");
        Assert.Equal(12_345 - 5, net.Count);
        Assert.Equal(net.Count, net.Select(e => Text(e.PrimaryKey)).Distinct().Count());
        Assert.All(net, e => Assert.True(e.Upserted && e.OldRow is null));
        Assert.Equal(live.Keys.Order(), net.Select(e => Text(e.PrimaryKey)).Order());
        Assert.All(net, e => Assert.Equal(live[Text(e.PrimaryKey)], Text(e.NewRow)));

        // A commit holds exactly the table; applied to an empty copy it rebuilds it; the log is then empty.
        await Db.ExecAsync($"""CREATE TABLE {schema}.copy (LIKE {schema}."Odd t" INCLUDING ALL)""");
        var commit = await Objects.CommitAsync(Db, schema, "Odd t");
        Assert.Equal((12_340L, 0L), (commit.Upserts, commit.Deletes));
        await Objects.ApplyAsync(Db, [commit.ObjectId!], schema, "copy");
        Assert.Equal(await Db.RowsAsync($"{schema}.\"Odd t\""), await Db.RowsAsync($"{schema}.copy"));
        Assert.Equal(0L, await LogRowsAsync(schema));
    }

    [Fact]
    public async Task A_statement_of_over_a_million_rows_logs_every_key_once_and_commits_whole()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.big (id int PRIMARY KEY, v smallint); CREATE TABLE {schema}.copy (LIKE {schema}.big INCLUDING ALL)");
        await Objects.TrackAsync(Db, schema, "big");
        const int rows = 1_012_345;
        await Db.ExecAsync($"INSERT INTO {schema}.big SELECT g, g % 100 FROM generate_series(1, {rows}) g");

        // 1,000 per-row entries, the next million keys in 100 entries, the remaining 11,345 in 2.
        Assert.Equal(1_102L, await LogRowsAsync(schema));
        Assert.Equal((long)rows - 1_000, await Db.ScalarAsync<long>(
            """
            SELECT count(DISTINCT k) FROM splitgraph_audit.logged_actions l, jsonb_array_elements(l.row_data -> 'id') AS k
            WHERE schema_name = $1 AND changed_fields ? 'sg_bulk'
            """, schema));

        var commit = await Objects.CommitAsync(Db, schema, "big");
        Assert.Equal(((long)rows, 0L), (commit.Upserts, commit.Deletes));
        await Objects.ApplyAsync(Db, [commit.ObjectId!], schema, "copy");
        Assert.Equal(0L, await Db.ScalarAsync<long>(
            $"SELECT count(*) FROM ((SELECT * FROM {schema}.big EXCEPT ALL SELECT * FROM {schema}.copy) UNION ALL (SELECT * FROM {schema}.copy EXCEPT ALL SELECT * FROM {schema}.big)) d"));
        Assert.Equal((long)rows, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.copy"));
    }

    [Fact]
    public async Task Deleting_rows_then_bulk_inserting_them_again_nets_to_nothing()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"""
            CREATE TABLE {schema}.t (id bigint PRIMARY KEY, v text, j jsonb);
            INSERT INTO {schema}.t SELECT g, md5(g::text), jsonb_build_object('g', g) FROM generate_series(1, 3000) g;
            CREATE TABLE {schema}.saved AS SELECT * FROM {schema}.t;
            """);
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"DELETE FROM {schema}.t; INSERT INTO {schema}.t SELECT * FROM {schema}.saved");
        Assert.Equal(3_000L + 1_001L, await LogRowsAsync(schema));

        Assert.Empty(await ReadAllAsync(schema, "t", net: true, limit: 500));
        var raw = await ReadAllAsync(schema, "t", net: false, limit: 2_500);
        Assert.Equal(6_000, raw.Count);
        Assert.Equal(raw.Take(3_000).Select(e => Text(e.OldRow)), raw.Skip(3_000).Select(e => Text(e.NewRow)));

        // One re-inserted row that differs is the whole net change.
        await Db.ExecAsync($"UPDATE {schema}.saved SET v = 'changed' WHERE id = 2500; DELETE FROM {schema}.t; INSERT INTO {schema}.t SELECT * FROM {schema}.saved");
        var net = await ReadAllAsync(schema, "t", net: true, limit: 500);
        var entry = Assert.Single(net);
        Assert.Equal(Text("""{"id": 2500}"""), Text(entry.PrimaryKey));
        Assert.Equal("changed", entry.NewRow!.Value.GetProperty("v").GetString());
        Assert.Equal(Text(raw[2_499].OldRow), Text(entry.OldRow));
    }

    [Fact]
    public async Task COPY_logs_bulk_entries_for_keyed_tables_and_every_row_for_tables_without_a_key()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.keyed (id int PRIMARY KEY, v text); CREATE TABLE {schema}.unkeyed (id int, v text)");
        await Objects.TrackAsync(Db, schema, "keyed");
        await Objects.TrackAsync(Db, schema, "unkeyed");
        foreach (var table in new[] { "keyed", "unkeyed" })
        {
            await using var connection = await Db.DataSource.OpenConnectionAsync();
            await using var writer = await connection.BeginTextImportAsync($"COPY {schema}.{table} FROM STDIN");
            for (var g = 1; g <= 2_500; g++)
            {
                await writer.WriteLineAsync($"{g}\tv{g}");
            }
        }

        Assert.Equal(1_001L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND table_name = 'keyed'", schema));
        Assert.Equal(2_500L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1 AND table_name = 'unkeyed'", schema));
        foreach (var table in new[] { "keyed", "unkeyed" })
        {
            var net = await ReadAllAsync(schema, table, net: true, limit: 1_000);
            Assert.Equal(Enumerable.Range(1, 2_500).Select(g => Text($$"""{"id": {{g}}, "v": "v{{g}}"}""")), net.Select(e => Text(e.NewRow)));
        }
    }

    [Fact]
    public async Task Bulk_entries_logged_under_a_primary_key_since_replaced_are_refused_with_a_conflict_and_can_be_discarded()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int CONSTRAINT t_pk PRIMARY KEY, code text NOT NULL)");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"INSERT INTO {schema}.t SELECT g, 'c' || g FROM generate_series(1, 1500) g");
        await Db.ExecAsync($"ALTER TABLE {schema}.t DROP CONSTRAINT t_pk, ADD PRIMARY KEY (code)");

        await using var engine = Db.Engine();
        var changes = new ChangeEngine(engine);
        var refused = await Assert.ThrowsAsync<ConflictException>(() => changes.GetNetChangesAsync(schema, "t"));
        Assert.Contains("primary key (id), not (code)", refused.Message);
        Assert.Equal(409, refused.StatusCode);

        await using var second = Db.Engine();
        Assert.Equal(1_500L, await new ChangeEngine(second).DiscardPendingChangesAsync(schema, "t"));
        await second.CommitAsync();
        await using var third = Db.Engine();
        Assert.Empty((await new ChangeEngine(third).GetNetChangesAsync(schema, "t")).Entries);
    }
}
