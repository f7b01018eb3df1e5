using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// Issue 15, "every column name and type works": a table with a domain with a constraint, an enum, a composite, ranges,
/// arrays, "char", bit, money, tsvector, xml, the geometric types, a 5 MB TOASTed value and 63-character and unicode
/// identifiers goes through track → DML → commit → upload → apply on the other engine → download back → object dump
/// and table dump on a fresh engine, and every copy equals the live table.
/// </summary>
public sealed class TypeRoundTripTests(TwoDatabasesFixture fixture) : IClassFixture<TwoDatabasesFixture>
{
    private TestDatabase Local => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    // 63 characters, the longest identifier PostgreSQL keeps.
    private const string LongName = "c23456789_123456789_123456789_123456789_123456789_123456789_123";

    private const string Table = "\"tâble ✓ 表\"";

    /// <summary>The user's types and the table (every engine that receives the table needs the same types).</summary>
    private static string Types(string schema) =>
        $$"""
        CREATE TYPE {{schema}}.mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TYPE {{schema}}.pair AS (a int, b text);
        CREATE DOMAIN {{schema}}.positive AS int NOT NULL CHECK (VALUE > 0);
        CREATE TABLE {{schema}}.{{Table}} (
            id int PRIMARY KEY, dom {{schema}}.positive, m {{schema}}.mood, p {{schema}}.pair, r int4range, tr tstzrange, nr numrange,
            arr int[], grid text[][], ch "char", b bit(3), vb varbit, cash money, ts tsvector, x xml,
            pt point, ln line, seg lseg, bx box, pa path, pg polygon, ci circle, big text,
            "{{LongName}}" text, "naïve 列" text);
        """;

    private static string BaseRows(string schema) =>
        $$"""
        INSERT INTO {{schema}}.{{Table}} VALUES
        (1, 1, 'sad', ROW(1, 'one'), '[1,5)', '[2024-01-01 00:00+00,2024-02-01 00:00+00)', '(1.50,2.500]', '{1,NULL,3}',
         ARRAY[['a','b'],['c d',NULL]], 'a', B'101', B'1', 12.34, 'fat cat sat', '<a x="1">t</a>', '(1,2)', '{1,-1,0}', '[(0,0),(1,1)]',
         '(1,1),(0,0)', '((0,0),(1,1),(2,0))', '((0,0),(1,1),(1,0))', '<(0,0),2>', 'small', 'long', 'unicode ✓'),
        (2, 2, 'ok', ROW(NULL, ''), 'empty', NULL, '(,)', '{}', '{}', E'\001', B'000', B'', -0.01, '', '<empty/>',
         '(-0,0)', '{0,1,0}', '[(1,1),(2,2)]', '(0,0),(0,0)', '[(0,0),(1,1)]', '((0,0))', '<(1,1),0>', '', NULL, NULL),
        (3, 3, 'happy', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        """;

    /// <summary>Changes every column of row 1, deletes row 2, inserts row 4 with a 5 MB value (TOASTed, little compressible).</summary>
    private static string Changes(string schema) =>
        $$"""
        UPDATE {{schema}}.{{Table}} SET dom = 10, m = 'happy', p = ROW(2, 'two'), r = '[2,3]', tr = '[2024-01-01 00:00+05,)', nr = '[1.5,2.50)',
            arr = '{4}', grid = ARRAY[['x']], ch = 'z', b = B'010', vb = B'1010', cash = 99.99, ts = 'dog ate', x = '<b/>',
            pt = '(-1,-2)', ln = '{1,0,-1}', seg = '[(0,0),(0,1)]', bx = '(2,2),(1,1)', pa = '[(0,0),(2,2),(3,0)]',
            pg = '((0,0),(3,3),(3,0))', ci = '<(0,0),1.5>', big = 'changed', "{{LongName}}" = 'longer', "naïve 列" = 'ünïcode'
        WHERE id = 1;
        DELETE FROM {{schema}}.{{Table}} WHERE id = 2;
        INSERT INTO {{schema}}.{{Table}} (id, dom, m, big, "{{LongName}}", "naïve 列")
        SELECT 4, 4, 'ok', string_agg(md5(g::text), ''), 'four', 'vier' FROM generate_series(1, 164000) g;
        """;

    [Fact]
    public async Task Every_type_and_identifier_round_trips_through_commit_transfers_apply_and_dumps()
    {
        var schema = await Local.NewSchemaAsync("types");
        await Local.ExecAsync(Types(schema) + BaseRows(schema));
        await Local.ExecAsync($"CREATE TABLE {schema}.before (LIKE {schema}.{Table})");
        await Local.ExecAsync($"INSERT INTO {schema}.before SELECT * FROM {schema}.{Table}");
        await Objects.TrackAsync(Local, schema, "tâble ✓ 表");
        await Local.ExecAsync(Changes(schema));
        Assert.True(await Local.ScalarAsync<int>($"SELECT octet_length(big) FROM {schema}.{Table} WHERE id = 4") > 5_000_000);

        var result = await Objects.CommitAsync(Local, schema, "tâble ✓ 表");
        Assert.Equal((2L, 1L), (result.Upserts, result.Deletes));
        var id = result.ObjectId!;
        var live = await Local.RowsAsync($"{schema}.{Table}");
        await Objects.ApplyAsync(Local, [id], schema, "before");
        Assert.Equal(live, await Local.RowsAsync($"{schema}.before"));

        // The other engine: same types and base rows, the object uploaded and applied.
        await Remote.ExecAsync($"CREATE SCHEMA {schema};" + Types(schema) + BaseRows(schema));
        await new ObjectTransfers(Local.Endpoint, Remote.Endpoint, verifyContent: true).UploadObjectsAsync([id]);
        await Objects.ApplyAsync(Remote, [id], schema, "tâble ✓ 表");
        Assert.Equal(live, await Remote.RowsAsync($"{schema}.{Table}"));

        // Downloaded back after deleting it here: the same content, applied onto the base again.
        using var dump = new StringWriter();
        await using (var engine = Local.Engine())
        {
            await new ObjectEngine(engine).DumpObjectAsync(id, dump);
            await new ObjectEngine(engine).DeleteObjectsAsync([id]);
            await engine.CommitAsync();
        }

        Assert.Equal([id], (await new ObjectTransfers(Local.Endpoint, Remote.Endpoint, verifyContent: true).DownloadObjectsAsync([id])).Transferred);
        await Local.ExecAsync($"CREATE TABLE {schema}.back (LIKE {schema}.{Table}); {BaseRows(schema).Replace(Table, "back")}");
        await Objects.ApplyAsync(Local, [id], schema, "back");
        Assert.Equal(live, await Local.RowsAsync($"{schema}.back"));

        // A fresh engine with the user's types: the object's dump applied onto the base, and the live table's dump.
        await using var fresh = await TestDatabase.CreateAsync("typesfresh");
        await fresh.ExecAsync($"CREATE SCHEMA {schema};" + Types(schema) + BaseRows(schema));
        await fresh.ExecAsync(dump.ToString());
        await Objects.ApplyAsync(fresh, [id], schema, "tâble ✓ 表");
        Assert.Equal(live, await fresh.RowsAsync($"{schema}.{Table}"));

        using var tableDump = new StringWriter();
        await using (var engine = Local.Engine())
        {
            await engine.DumpTableSqlAsync(schema, "tâble ✓ 表", tableDump, targetSchema: schema, targetTable: "copy");
            await engine.CommitAsync();
        }

        await fresh.ExecAsync($"CREATE TABLE {schema}.copy (LIKE {schema}.{Table}); {tableDump}");
        Assert.Equal(live, await fresh.RowsAsync($"{schema}.copy"));
    }
}
