using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// Key matching uses each primary key column's own equality operator, read from its index's operator class: a bare
/// <c>=</c> resolves through the session's search_path ("$user", public), where a writer with CREATE on public can plant
/// an exact-type <c>=(varchar, varchar)</c> or <c>=(domain, domain)</c> that wins over pg_catalog's text equality, while
/// <c>OPERATOR(pg_catalog.=)</c> would miss an extension's own (citext's case-insensitive one).
/// </summary>
public sealed class KeyEqualityTests(ITestOutputHelper output)
{
    /// <summary>
    /// A table keyed by (varchar, domain over text) and a table without a key: inserts (a bulk entry among them),
    /// updates, a key change, deletes and a row changed and back; then raising <c>=</c> operators are planted in public
    /// for varchar, the domain and text (and a quote_nullable(varchar), which table dumps call). Net pages (cached and
    /// not), raw pages, a dump, commit and apply onto a copy of the table as it was run without calling them and give
    /// the live table.
    /// </summary>
    [Fact]
    public async Task Planted_equality_operators_in_public_are_never_called_for_keys()
    {
        await using var db = await TestDatabase.CreateAsync("plantedeq");
        var schema = await db.NewSchemaAsync("eq");
        await db.ExecAsync(
            $"""
            CREATE DOMAIN public.code AS text;
            CREATE TABLE {schema}.t (id varchar(20), c public.code, v int, PRIMARY KEY (id, c));
            INSERT INTO {schema}.t SELECT 'k' || g, 'c' || (g % 3), g FROM generate_series(1, 100) g;
            CREATE TABLE {schema}.n (name varchar(20), v int);
            INSERT INTO {schema}.n SELECT 'n' || (g % 10), g % 4 FROM generate_series(1, 40) g;
            """);
        await Objects.CopyTableAsync(db, schema, "t", "t_before");
        await Objects.CopyTableAsync(db, schema, "n", "n_before");
        await Objects.TrackAsync(db, schema, "t");
        await Objects.TrackAsync(db, schema, "n");
        // Written before the plants: the test's own statements compare varchar and the domain with a bare "=".
        await db.ExecAsync(
            $"""
            INSERT INTO {schema}.t SELECT 'bulk' || g, 'b', 1000 + g FROM generate_series(1, 1500) g;
            UPDATE {schema}.t SET v = -v WHERE v % 10 = 0;
            UPDATE {schema}.t SET id = 'moved' || v WHERE v BETWEEN 20 AND 25;
            UPDATE {schema}.t SET c = 'c9' WHERE v = 31;
            DELETE FROM {schema}.t WHERE v % 7 = 0;
            UPDATE {schema}.t SET v = 0 WHERE v = 5; UPDATE {schema}.t SET v = 5 WHERE v = 0;
            UPDATE {schema}.t SET v = v + 1 WHERE id LIKE 'bulk1%';
            INSERT INTO {schema}.n SELECT 'n' || g, 9 FROM generate_series(1, 5) g;
            DELETE FROM {schema}.n WHERE v = 1;
            UPDATE {schema}.n SET v = 7 WHERE v = 2;
            """);

        await db.ExecAsync(
            """
            CREATE FUNCTION public.planted_varchar_eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted =(varchar, varchar)'; END$$;
            CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.planted_varchar_eq);
            CREATE FUNCTION public.planted_code_eq(public.code, public.code) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted =(code, code)'; END$$;
            CREATE OPERATOR public.= (LEFTARG = public.code, RIGHTARG = public.code, FUNCTION = public.planted_code_eq);
            CREATE FUNCTION public.planted_text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted =(text, text)'; END$$;
            CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.planted_text_eq);
            CREATE FUNCTION public.quote_nullable(varchar) RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted quote_nullable(varchar)'; END$$;
            """);
        // A bare "=" on the key's types now calls the plants (text = text still finds pg_catalog's exact match first).
        foreach (var (call, message) in new[] { ("SELECT 'a'::varchar = 'a'::varchar", "planted =(varchar, varchar)"), ("SELECT 'a'::public.code = 'a'::public.code", "planted =(code, code)") })
        {
            var planted = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => db.ExecAsync(call));
            Assert.Equal(message, planted.MessageText);
        }

        Assert.True(await db.ScalarAsync<bool>("SELECT 'a'::text = 'a'::text"));

        await using (var engine = db.Engine())
        {
            var changes = new ChangeEngine(engine);
            var net = (await changes.GetNetChangesAsync(schema, "t", 0, 100_000)).Entries;
            var cached = await changes.GetNetChangesAsync(schema, "t", new NetPageRequest(0, 50, 0), null, new NetViewCache(), "e");
            Assert.Equal(net.Count, cached.Total);
            var raw = await changes.GetPendingChangesAsync(schema, "t", 0, 100_000);
            Assert.Equal(1500, raw.Entries.Count(e => e.Upserted && e.OldRow is null && e.PrimaryKey.GetProperty("id").GetString()!.StartsWith("bulk", StringComparison.Ordinal)));
            var multiset = (await changes.GetNetChangesAsync(schema, "n", 0, 100_000)).Entries;
            output.WriteLine($"net: {net.Count} entries of t, {multiset.Count} of n; raw: {raw.Entries.Count} entries of t");
        }

        // The table's dump (its literals made by quote_nullable) recreates it.
        await Objects.CopyTableAsync(db, schema, "t", "t_dump");
        await db.ExecAsync($"TRUNCATE {schema}.t_dump");
        await using (var engine = db.Engine())
        {
            using var script = new StringWriter();
            await engine.DumpTableSqlAsync(schema, "t", script, targetSchema: schema, targetTable: "t_dump");
            await engine.CommitAsync();
            await db.ExecAsync(script.ToString());
        }

        Assert.Equal(await db.RowsAsync($"{schema}.t"), await db.RowsAsync($"{schema}.t_dump"));

        // Row filters on the varchar and the domain column, in a dump and in an apply (the reference: pg_catalog's text operators).
        RowFilter[] filter = [new("id", ">=", "k5"), new("c", "<>", "c1")];
        const string Reference = "WHERE t.id::text OPERATOR(pg_catalog.>=) 'k5' AND t.c::text OPERATOR(pg_catalog.<>) 'c1'";
        await db.ExecAsync($"TRUNCATE {schema}.t_dump");
        await using (var engine = db.Engine())
        {
            using var script = new StringWriter();
            await engine.DumpTableSqlAsync(schema, "t", script, filter: filter, targetSchema: schema, targetTable: "t_dump");
            await engine.CommitAsync();
            await db.ExecAsync(script.ToString());
        }

        var filtered = await db.RowsAsync($"(SELECT * FROM {schema}.t t {Reference})");
        Assert.InRange(filtered.Count, 1, await db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t") - 1);
        Assert.Equal(filtered, await db.RowsAsync($"{schema}.t_dump"));

        foreach (var table in new[] { "t", "n" })
        {
            var result = await Objects.CommitAsync(db, schema, table);
            output.WriteLine($"{table}: {result.Upserts} upserts, {result.Deletes} deletes");
            Assert.NotNull(result.ObjectId);
            if (table == "t")
            {
                // Upserts the filter keeps, onto an empty copy.
                await db.ExecAsync($"CREATE TABLE {schema}.t_filtered (LIKE {schema}.t)");
                await Objects.ApplyAsync(db, [result.ObjectId], schema, "t_filtered", filter);
                var upserted = await db.ScalarAsync<long>($"SELECT count(*) FROM splitgraph_meta.\"{result.ObjectId}\" t {Reference} AND t.sg_ud_flag");
                Assert.Equal(upserted, (long)(await db.RowsAsync($"{schema}.t_filtered")).Count);
                Assert.InRange(upserted, 1, result.Upserts - 1);
            }

            await Objects.ApplyAsync(db, [result.ObjectId], schema, table + "_before");
            Assert.Equal(await db.RowsAsync($"{schema}.{table}"), await db.RowsAsync($"{schema}.{table}_before"));
        }
    }

    /// <summary>
    /// A citext key, the extension in a schema of its own (off the search_path, where a bare <c>=</c> falls back to
    /// pg_catalog's case-sensitive text equality): updates that change only a key's case, and a delete followed by an
    /// insert of the key in another case. By citext's uniqueness each is one key whose row changed: the commit holds three
    /// upserts and no delete (with a case-sensitive match it would hold deletes of 'A', 'B', 'C' and upserts of 'a', 'b',
    /// 'c', which the fragment's own citext key refuses), and applied to the table as it was it gives the live table.
    /// </summary>
    [Fact]
    public async Task A_citext_key_is_matched_with_citexts_own_equality()
    {
        await using var db = await TestDatabase.CreateAsync("citext");
        var schema = await db.NewSchemaAsync("ci");
        await db.ExecAsync(
            $"""
            CREATE SCHEMA ext; CREATE EXTENSION citext SCHEMA ext;
            CREATE TABLE {schema}.t (id ext.citext PRIMARY KEY, v int);
            INSERT INTO {schema}.t VALUES ('A', 1), ('B', 2), ('C', 3), ('D', 4);
            """);
        await Objects.CopyTableAsync(db, schema, "t", "before");
        await Objects.TrackAsync(db, schema, "t");
        await db.ExecAsync(
            $"""
            UPDATE {schema}.t SET id = 'a' WHERE v = 1;
            UPDATE {schema}.t SET id = 'c', v = 30 WHERE v = 3;
            DELETE FROM {schema}.t WHERE v = 2;
            INSERT INTO {schema}.t VALUES ('b', 20);
            """);

        await using (var engine = db.Engine())
        {
            Assert.Equal("\"$user\", public", await engine.ScalarAsync<string>("SHOW search_path"));
            // Keyed by the key as logged: an update of 'A' to 'a' is a delete of 'A', then an upsert of 'a' (in position
            // order), the upsert's row the live one.
            var net = (await new ChangeEngine(engine).GetNetChangesAsync(schema, "t", 0, 1000)).Entries.ToList();
            output.WriteLine(string.Join("\n", net.Select(e => $"{e.PrimaryKey.GetRawText()} {e.Kind} {e.NewRow?.GetRawText()}")));
            string Key(ChangeEntry e) => e.PrimaryKey.GetProperty("id").GetString()!;
            Assert.Equal(["A", "B", "C"], net.Where(e => !e.Upserted).Select(Key).Order(StringComparer.Ordinal));
            Assert.Equal(["a", "b", "c"], net.Where(e => e.Upserted).Select(Key).Order(StringComparer.Ordinal));
            Assert.All(net.Where(e => e.Upserted), upsert =>
                Assert.True(net.IndexOf(net.Single(d => !d.Upserted && string.Equals(Key(d), Key(upsert), StringComparison.OrdinalIgnoreCase))) < net.IndexOf(upsert)));
        }

        // A row filter on the key compares with citext's own "=" too: 'A' finds 'a'.
        await using (var engine = db.Engine())
        {
            using var script = new StringWriter();
            await engine.DumpTableSqlAsync(schema, "t", script, filter: [new RowFilter("id", "=", "A")]);
            await engine.CommitAsync();
            Assert.Contains("('a'::ext.citext,'1'::integer)", script.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("'B'", script.ToString(), StringComparison.Ordinal);
        }

        var result = await Objects.CommitAsync(db, schema, "t");
        Assert.Equal((3L, 0L), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(db, [result.ObjectId!], schema, "before");
        Assert.Equal(await db.RowsAsync($"{schema}.t"), await db.RowsAsync($"{schema}.before"));
        Assert.Equal(["(D,4)", "(a,1)", "(b,20)", "(c,30)"], await db.RowsAsync($"{schema}.before"));
    }

    /// <summary>
    /// An interval key updated to an equal interval written otherwise ('1 day' to '24:00:00', equal by interval's
    /// equality, logged as two keys): the commit holds one upsert of the live row, and the copy gets the new text.
    /// </summary>
    [Fact]
    public async Task An_interval_key_updated_to_an_equal_interval_is_one_key()
    {
        await using var db = await TestDatabase.CreateAsync("intervalkey");
        var schema = await db.NewSchemaAsync("iv");
        await db.ExecAsync($"CREATE TABLE {schema}.t (id interval PRIMARY KEY, v int); INSERT INTO {schema}.t VALUES ('1 day', 1), ('2 days', 2)");
        await Objects.CopyTableAsync(db, schema, "t", "before");
        await Objects.TrackAsync(db, schema, "t");
        await db.ExecAsync($"UPDATE {schema}.t SET id = '24 hours' WHERE v = 1");

        var result = await Objects.CommitAsync(db, schema, "t");
        Assert.Equal((1L, 0L), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(db, [result.ObjectId!], schema, "before");
        Assert.Equal(await db.RowsAsync($"{schema}.t"), await db.RowsAsync($"{schema}.before"));
        Assert.Equal(["(\"2 days\",2)", "(24:00:00,1)"], await db.RowsAsync($"{schema}.before"));
    }

    /// <summary>
    /// Row filters find each column type's operators as PostgreSQL's default operator classes give them: arrays, enums,
    /// composites and ranges (polymorphic classes), cidr (inet's, binary-coercible), varchar (text's), "char", a domain
    /// over int, xid (hash: = and &lt;&gt; only); box, whose "=" (equal area) is in no default class, is refused.
    /// </summary>
    [Fact]
    public async Task Row_filters_use_the_operators_of_each_types_default_operator_class()
    {
        await using var db = await TestDatabase.CreateAsync("filterops");
        var schema = await db.NewSchemaAsync("fo");
        await db.ExecAsync(
            $"""
            CREATE TYPE {schema}.mood AS ENUM ('sad', 'ok', 'happy');
            CREATE TYPE {schema}.pair AS (x int, y text);
            CREATE DOMAIN {schema}.small AS int CHECK (VALUE < 100);
            CREATE TABLE {schema}.f (id int, a int[], d {schema}.mood, e {schema}.pair, g int4range, h cidr, x xid, l "char", v varchar(5), s {schema}.small, b box);
            INSERT INTO {schema}.f VALUES
                (1, ARRAY[1,2], 'sad', '(1,z)', '[1,3)', '10.0.0.0/8', '5', 'q', 'apple', 1, '((0,0),(1,1))'),
                (2, ARRAY[3], 'happy', '(2,y)', '[2,9)', '192.168.0.0/16', '7', 'r', 'pear', 50, '((0,0),(2,2))');
            """);
        (string Column, string Operator, string Value, int Id)[] cases =
        [
            ("a", "=", "{1,2}", 1), ("d", ">", "ok", 2), ("e", "=", "(2,y)", 2), ("g", "=", "[1,3)", 1), ("h", "<", "11.0.0.0/8", 1),
            ("x", "<>", "5", 2), ("l", "=", "q", 1), ("v", "<", "b", 1), ("s", ">=", "10", 2),
        ];
        await using var engine = db.Engine();
        foreach (var (column, op, value, id) in cases)
        {
            using var script = new StringWriter();
            await engine.DumpTableSqlAsync(schema, "f", script, ["id"], [new RowFilter(column, op, value)]);
            Assert.True(script.ToString().Contains($"('{id}'::integer)", StringComparison.Ordinal) && !script.ToString().Contains($"('{3 - id}'::integer)", StringComparison.Ordinal),
                $"{column} {op} {value}: {script}");
        }

        var refused = await Assert.ThrowsAsync<InvalidInputException>(() => engine.DumpTableSqlAsync(schema, "f", TextWriter.Null, filter: [new RowFilter("b", "=", "((0,0),(1,1))")]));
        Assert.Contains("'b' (box) has no '='", refused.Message, StringComparison.Ordinal);
    }
}
