using System.Globalization;
using System.Text;
using Engine.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;
using Writer = Engine.Tests.FaithfulOrderingTests.Writer;

namespace Engine.Tests;

/// <summary>
/// Property (issues 21 and 15): seeded random statements — inserts, bulk inserts, updates of keys and values, key
/// shifts over ranges, swaps, deletes, MERGE, writable CTEs, TRUNCATE, rolled-back savepoints, no-op and image-only
/// updates (numeric scale, float8 -0), tables without a key (duplicates, NULLs, json with \u0000, jsonb only) — by writers with
/// different TimeZone/IntervalStyle/DateStyle/extra_float_digits; after every commit, the copy of the table as it
/// was before the first change with every committed object applied equals the live table. At the end the same holds
/// on the other engine after upload, on this engine after the objects are deleted and downloaded back, and on a fresh
/// engine that ran nothing but the dumps (table dump of the base, object dumps).
/// Set SG_PROPERTY_SEED to replay a seed.
/// </summary>
public sealed class FaithfulChangesPropertyTests(TwoDatabasesFixture fixture, ITestOutputHelper output) : IClassFixture<TwoDatabasesFixture>
{
    private static readonly string[] TimeZones = ["UTC", "Asia/Tokyo", "America/St_Johns", "Pacific/Chatham", "Europe/Berlin"];
    private static readonly string[] IntervalStyles = ["postgres", "postgres_verbose", "sql_standard", "iso_8601"];
    private static readonly string[] DateStyles = ["ISO, MDY", "SQL, DMY", "German", "Postgres, YMD"];
    private static readonly int[] FloatDigits = [-15, 0, 1, 3];

    private TestDatabase Db => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    /// <summary>A table shape: its definition and a generator of statements on it ({0} is the qualified table).</summary>
    private sealed record Shape(string Name, string Create, Func<Random, int, string> Statement);

    [Theory]
    [InlineData("int_key_deferrable")]
    [InlineData("timestamptz_interval_key")]
    [InlineData("no_key")]
    [InlineData("no_key_duplicates")]
    [InlineData("jsonb_only")]
    [InlineData("uuid_key")]
    [InlineData("text_key")]
    [InlineData("float_key")]
    public async Task Base_plus_committed_objects_equals_the_live_table_after_every_commit(string shapeName)
    {
        var seed = Environment.GetEnvironmentVariable("SG_PROPERTY_SEED") is { Length: > 0 } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (shape {shapeName}); replay with SG_PROPERTY_SEED={seed}");
        var random = new Random(seed);
        var shape = Shapes.Single(s => s.Name == shapeName);

        var schema = await Db.NewSchemaAsync("prop");
        var table = $"{schema}.t";
        await Db.ExecAsync(string.Format(CultureInfo.InvariantCulture, shape.Create, table));
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.CopyTableAsync(Db, schema, "t", "base");
        var baseDump = await DumpBaseAsync(schema);
        await Objects.TrackAsync(Db, schema, "t");
        var committed = new List<string>();

        var history = new StringBuilder();
        for (var round = 0; round < 40; round++)
        {
            var statements = random.Next(1, 6);
            for (var i = 0; i < statements; i++)
            {
                var writer = new Writer(
                    TimeZones[random.Next(TimeZones.Length)], IntervalStyles[random.Next(IntervalStyles.Length)],
                    DateStyles[random.Next(DateStyles.Length)], FloatDigits[random.Next(FloatDigits.Length)]);
                var sql = string.Format(CultureInfo.InvariantCulture, shape.Statement(random, round), table);
                string outcome;
                try
                {
                    await FaithfulOrderingTests.ExecAsAsync(Db, writer, sql);
                    outcome = "ok";
                }
                catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation)
                {
                    // A shift or move onto a key that is taken: the statement changes nothing.
                    outcome = "unique violation, nothing changed";
                }
                catch (Exception)
                {
                    output.WriteLine($"seed {seed}: statement failed. Statements so far:");
                    output.WriteLine(history.ToString());
                    output.WriteLine($"[{writer}] {sql};");
                    throw;
                }

                history.AppendLine(CultureInfo.InvariantCulture, $"[{writer}] {sql};  -- {outcome}");
            }

            var result = await Objects.CommitAsync(Db, schema, "t");
            history.AppendLine(CultureInfo.InvariantCulture, $"-- commit {round}: {result.Upserts} upserts, {result.Deletes} deletes");
            if (result.ObjectId is not null)
            {
                await Objects.ApplyAsync(Db, [result.ObjectId], schema, "before");
                committed.Add(result.ObjectId);
            }

            var live = await Db.RowsAsync(table);
            var rebuilt = await Db.RowsAsync($"{schema}.before");
            if (!live.SequenceEqual(rebuilt))
            {
                output.WriteLine($"seed {seed}: base + objects differ from the live table after commit {round}. Statements:");
                output.WriteLine(history.ToString());
                output.WriteLine("only live: " + string.Join(" ", live.Except(rebuilt)));
                output.WriteLine("only rebuilt: " + string.Join(" ", rebuilt.Except(live)));
            }

            Assert.Equal(live, rebuilt);
        }

        var final = await Db.RowsAsync(table);
        await AssertElsewhereAsync(seed, schema, baseDump, committed, final);
    }

    /// <summary>The base table as SQL (its CREATE TABLE and rows), taken before any change: what another engine starts from.</summary>
    private async Task<string> DumpBaseAsync(string schema)
    {
        await using var engine = Db.Engine();
        var script = new StringWriter();
        await script.WriteAsync(await TableDefinition.OfTableAsync(engine, schema, "t", CancellationToken.None));
        await engine.DumpTableSqlAsync(schema, "t", script);
        await engine.CommitAsync();
        return script.ToString();
    }

    /// <summary>
    /// The committed objects rebuild <paramref name="live"/> from the base on the other engine after upload, here after
    /// they are deleted and downloaded back, and on a fresh engine from their dumps alone.
    /// </summary>
    private async Task AssertElsewhereAsync(int seed, string schema, string baseDump, List<string> ids, List<string> live)
    {
        async Task RebuildAndCompareAsync(TestDatabase db, string where, string table = "t")
        {
            if (table == "t")
            {
                await db.ExecAsync($"CREATE SCHEMA {schema}");
                await db.ExecAsync(baseDump);
            }

            if (ids.Count > 0)
            {
                await Objects.ApplyAsync(db, ids, schema, table);
            }

            var rebuilt = await db.RowsAsync($"{schema}.{table}");
            if (!live.SequenceEqual(rebuilt))
            {
                output.WriteLine($"seed {seed}: {where}: base + {ids.Count} objects differ from the live table.");
                output.WriteLine("only live: " + string.Join(" ", live.Except(rebuilt)));
                output.WriteLine("only rebuilt: " + string.Join(" ", rebuilt.Except(live)));
            }

            Assert.Equal(live, rebuilt);
        }

        var transfers = new ObjectTransfers(Db.Endpoint, Remote.Endpoint, verifyContent: true);
        if (ids.Count > 0)
        {
            Assert.Empty((await transfers.UploadObjectsAsync(ids)).Missing);
        }

        await RebuildAndCompareAsync(Remote, "other engine after upload");

        var dumps = new StringBuilder();
        await using (var engine = Db.Engine())
        {
            // The same content committed twice is one object (content-addressed): dump each once.
            foreach (var id in ids.Distinct())
            {
                await using var writer = new StringWriter(dumps);
                await new ObjectEngine(engine).DumpObjectAsync(id, writer);
            }

            await new ObjectEngine(engine).DeleteObjectsAsync(ids.Distinct().ToList());
            await engine.CommitAsync();
        }

        if (ids.Count > 0)
        {
            Assert.Equal(ids.Distinct().Count(), (await transfers.DownloadObjectsAsync(ids)).Transferred.Count);
        }

        // Here the live table is in the way: rebuild from a plain copy of the base taken before any change.
        await Objects.CopyTableAsync(Db, schema, "base", "back");
        await RebuildAndCompareAsync(Db, "this engine after download back", "back");

        await using var fresh = await TestDatabase.CreateAsync("propfresh");
        if (dumps.Length > 0)
        {
            await fresh.ExecAsync(dumps.ToString());
        }

        await RebuildAndCompareAsync(fresh, "fresh engine from the dumps");
    }

    private static string Ts(Random random) =>
        $"timestamptz '2024-01-{random.Next(1, 4):00} {random.Next(0, 3):00}:{random.Next(0, 60):00}:00.{random.Next(0, 3) * 250000:000000}+00'";

    private static string Iv(Random random) => $"interval '{random.Next(0, 3)} days {random.Next(0, 3)}:00:00'";

    private static string F(Random random) => $"{random.Next(-3, 4)}::float8 / 7";

    private static readonly Shape[] Shapes =
    [
        new("int_key_deferrable",
            "CREATE TABLE {0} (id int PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, ts timestamptz, iv interval, f float8, n numeric, name text);" +
            "INSERT INTO {0} SELECT g, timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', g * interval '1 minute', g::float8 / 3, g, 'row' || g FROM generate_series(1, 30) g",
            IntKeyStatement),
        new("timestamptz_interval_key",
            "CREATE TABLE {0} (ts timestamptz, iv interval, v int, PRIMARY KEY (ts, iv) DEFERRABLE);" +
            "INSERT INTO {0} SELECT timestamptz '2024-01-01 00:00+00' + g * interval '30 minutes', interval '1 day', g FROM generate_series(1, 20) g",
            TimeKeyStatement),
        new("no_key",
            "CREATE TABLE {0} (id int, ts timestamptz, name text);" +
            "INSERT INTO {0} SELECT g % 10, timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', 'row' || (g % 4) FROM generate_series(1, 20) g",
            NoKeyStatement),
        new("no_key_duplicates",
            "CREATE TABLE {0} (a int, f float8, j json, p point);" +
            "INSERT INTO {0} SELECT g % 3, 0, '{{\"a\":1}}', point(g % 2, 0) FROM generate_series(1, 12) g",
            DuplicatesStatement),
        new("jsonb_only",
            "CREATE TABLE {0} (j jsonb); INSERT INTO {0} SELECT jsonb_build_object('a', g % 3) FROM generate_series(1, 8) g",
            JsonbOnlyStatement),
        KeyShape("uuid_key", "uuid", g => $"md5(({g})::text)::uuid", id => $"md5({id}::text)::uuid"),
        KeyShape("text_key", "text", g => $"'k' || ({g})", id => $"{id} || 'x'"),
        KeyShape("float_key", "float8", g => $"({g})::float8 / 7", id => $"{id} + 1.0 / 3"),
    ];

    /// <summary>
    /// Keys of other types (uuid, text, float8): inserts, value updates, key moves over ranges, deletes, a MERGE that
    /// deletes one row and moves another onto its key, bulk inserts over 1,000 rows and now and then TRUNCATE. The
    /// float key never takes -0 (a known gap: a keyed -0 reached through other values across statements nets to 0).
    /// </summary>
    private static Shape KeyShape(string name, string type, Func<string, string> keyOf, Func<string, string> moved) =>
        new(name,
            $"CREATE TABLE {{0}} (id {type} PRIMARY KEY, v int, name text);" +
            $"INSERT INTO {{0}} SELECT {keyOf("g")}, g, 'row' || g FROM generate_series(1, 30) g",
            (random, round) =>
            {
                var a = random.Next(1, 40);
                var b = random.Next(1, 39);
                b = b >= a ? b + 1 : b;
                return random.Next(9) switch
                {
                    0 => $"INSERT INTO {{0}} SELECT {keyOf("g")}, g, 'new' || g FROM generate_series({a}, {a + random.Next(3)}) g ON CONFLICT DO NOTHING",
                    1 => $"UPDATE {{0}} SET v = v + 1, name = name || '+' WHERE v BETWEEN {Math.Min(a, b)} AND {Math.Max(a, b)}",
                    2 => $"UPDATE {{0}} SET id = {moved("id")} WHERE v BETWEEN {Math.Min(a, b)} AND {Math.Min(a, b) + random.Next(3)}",
                    3 => $"DELETE FROM {{0}} WHERE v BETWEEN {Math.Min(a, b)} AND {Math.Min(a, b) + random.Next(2)}",
                    4 => $"MERGE INTO {{0}} x USING (SELECT id, row_number() OVER (ORDER BY id) AS r FROM {{0}} WHERE v IN ({a}, {b})) s ON x.id = s.id " +
                         "WHEN MATCHED AND s.r = 1 THEN DELETE WHEN MATCHED THEN UPDATE SET name = 'merged'",
                    5 => round % 5 == 0
                        ? $"INSERT INTO {{0}} SELECT {keyOf("g")}, g, 'bulk' FROM generate_series({1000 + (round * 2000)}, {1000 + (round * 2000) + 1100 + random.Next(200)}) g ON CONFLICT DO NOTHING"
                        : $"UPDATE {{0}} SET v = v WHERE v = {a}",
                    6 => $"WITH gone AS (DELETE FROM {{0}} WHERE v = {a} RETURNING *) INSERT INTO {{0}} SELECT {moved("id")}, v, name || '*' FROM gone ON CONFLICT DO NOTHING",
                    7 => random.Next(15) == 0 ? "TRUNCATE {0}" : $"UPDATE {{0}} SET name = NULL WHERE v = {b}",
                    _ => $"INSERT INTO {{0}} VALUES ({keyOf((10_000 + (round * 10) + a).ToString(CultureInfo.InvariantCulture))}, {a}, 'one') ON CONFLICT (id) DO UPDATE SET name = 'upserted'",
                };
            });

    // json literals as string.Format templates (braces doubled): the same value in two texts.
    private const string Json = "'{{\"a\":1}}'";
    private const string JsonSpaced = "'{{\"a\": 1}}'";
    private const string JsonNul = "'{{\"a\": \"\\u0000\"}}'";

    /// <summary>No key, duplicates, NULLs, -0, json text, point: statements that touch one copy or all of them.</summary>
    private static string DuplicatesStatement(Random random, int round)
    {
        var a = random.Next(0, 4);
        var one = $"ctid = (SELECT min(ctid) FROM {{0}} WHERE a IS NOT DISTINCT FROM {(a == 3 ? "NULL" : a)})";
        return random.Next(12) switch
        {
            0 => $"INSERT INTO {{0}} VALUES ({a}, 0, {Json}, point(0, 0)), ({a}, 0, {Json}, point(0, 0))",
            11 => $"UPDATE {{0}} SET j = {JsonNul} WHERE {one}",
            1 => "INSERT INTO {0} VALUES (NULL, NULL, NULL, NULL)",
            2 => $"UPDATE {{0}} SET a = NULL WHERE {one}",
            3 => $"UPDATE {{0}} SET f = -f WHERE {one}",
            4 => $"UPDATE {{0}} SET j = {JsonSpaced} WHERE {one}",
            5 => $"UPDATE {{0}} SET j = {Json}, f = 5 WHERE a = {a}",
            6 => $"DELETE FROM {{0}} WHERE {one}",
            7 => $"DELETE FROM {{0}} WHERE a = {a}",
            8 => round % 5 == 0
                ? $"INSERT INTO {{0}} SELECT g % 4, 0, {Json}, point(0, 0) FROM generate_series(1, {1001 + random.Next(100)}) g"
                : $"UPDATE {{0}} SET a = a + 1 WHERE a >= {a}",
            9 => $"BEGIN; DELETE FROM {{0}} WHERE {one}; SAVEPOINT s; DELETE FROM {{0}} WHERE a IS NULL; ROLLBACK TO SAVEPOINT s; UPDATE {{0}} SET f = 'NaN' WHERE {one}; COMMIT",
            _ => random.Next(8) == 0 ? "TRUNCATE {0}" : $"UPDATE {{0}} SET p = point(1, 1) WHERE {one}",
        };
    }

    /// <summary>A table whose only column is jsonb: no column with equality, rows are their values.</summary>
    private static string JsonbOnlyStatement(Random random, int round)
    {
        var a = random.Next(0, 4);
        var one = $"ctid = (SELECT min(ctid) FROM {{0}} WHERE j = jsonb_build_object('a', {a}))";
        return random.Next(5) switch
        {
            0 => $"INSERT INTO {{0}} VALUES (jsonb_build_object('a', {a})), (jsonb_build_object('a', {a}))",
            1 => $"UPDATE {{0}} SET j = jsonb_build_object('a', {random.Next(0, 4)}) WHERE {one}",
            2 => $"DELETE FROM {{0}} WHERE {one}",
            3 => $"DELETE FROM {{0}} WHERE j = jsonb_build_object('a', {a})",
            _ => "INSERT INTO {0} VALUES ('null'), (NULL)",
        };
    }

    private static string IntKeyStatement(Random random, int round)
    {
        var a = random.Next(1, 40);
        var b = random.Next(1, 39);
        b = b >= a ? b + 1 : b; // two different keys (a MERGE source must not match one row twice)
        return random.Next(15) switch
        {
            // Image-only changes: numeric scale, float8 -0 (jsonb equality sees neither).
            13 => $"UPDATE {{0}} SET n = round(n, {random.Next(0, 4)}), f = CASE WHEN f = 0 THEN -f ELSE f END WHERE id BETWEEN {Math.Min(a, b)} AND {Math.Max(a, b)}",
            0 => $"INSERT INTO {{0}} SELECT g, {Ts(random)}, {Iv(random)}, {F(random)}, {random.Next(100)}.{random.Next(3)}0, 'new' || g FROM generate_series({a}, {a + random.Next(3)}) g WHERE NOT EXISTS (SELECT 1 FROM {{0}} x WHERE x.id = g)",
            1 => $"UPDATE {{0}} SET ts = ts + interval '1 hour', iv = iv * 2, f = f * 3, n = n + 1.50, name = name || '+' WHERE id BETWEEN {Math.Min(a, b)} AND {Math.Max(a, b)}",
            2 => $"UPDATE {{0}} SET id = id + {random.Next(1, 3)} WHERE id BETWEEN {Math.Min(a, b)} AND {Math.Max(a, b)}",
            3 => $"UPDATE {{0}} SET id = id - 1 WHERE id BETWEEN {Math.Min(a, b)} AND {Math.Max(a, b)}",
            4 => $"UPDATE {{0}} SET id = {a + b} - id WHERE id IN ({a}, {b})",
            5 => $"DELETE FROM {{0}} WHERE id BETWEEN {Math.Min(a, b)} AND {Math.Min(a, b) + random.Next(3)}",
            6 => $"MERGE INTO {{0}} x USING (VALUES ({a}, true), ({b}, false)) s(id, del) ON x.id = s.id WHEN MATCHED AND s.del THEN DELETE WHEN MATCHED THEN UPDATE SET id = {a}, name = 'merged'",
            7 => $"MERGE INTO {{0}} x USING (SELECT g AS id FROM generate_series({a}, {a + 2}) g) s ON x.id = s.id WHEN MATCHED THEN UPDATE SET id = x.id + 1 WHEN NOT MATCHED THEN INSERT VALUES (s.id, {Ts(random)}, {Iv(random)}, 1, 1, 'merge-new')",
            8 => $"WITH gone AS (DELETE FROM {{0}} WHERE id = {a} RETURNING id) UPDATE {{0}} SET id = {a} WHERE id = {b} AND EXISTS (SELECT 1 FROM gone)",
            9 => $"WITH gone AS (DELETE FROM {{0}} WHERE id BETWEEN {a} AND {a + 2} RETURNING *) INSERT INTO {{0}} SELECT id + {random.Next(0, 3)}, ts, iv, f, n, name || '*' FROM gone",
            10 => $"UPDATE {{0}} SET ts = ts, n = n WHERE id = {a}",
            11 => round % 4 == 0
                ? $"INSERT INTO {{0}} SELECT g, {Ts(random)} + g * interval '1 second', interval '1 hour', g, g, 'bulk' FROM generate_series({1000 + (round * 2000)}, {1000 + (round * 2000) + 1100 + random.Next(200)}) g"
                : $"UPDATE {{0}} SET id = id + 1 WHERE id >= 1000 AND id % {random.Next(2, 5)} = 0 AND id + 1 NOT IN (SELECT id FROM {{0}})",
            12 => $"BEGIN; UPDATE {{0}} SET name = 'kept' WHERE id = {a}; SAVEPOINT s; DELETE FROM {{0}} WHERE id = {b}; UPDATE {{0}} SET id = id + 100 WHERE id = {a}; ROLLBACK TO SAVEPOINT s; DELETE FROM {{0}} WHERE id = {b}; COMMIT",
            _ => random.Next(12) == 0 ? "TRUNCATE {0}" : $"UPDATE {{0}} SET id = id + 1 WHERE id >= {a}",
        };
    }

    private static string TimeKeyStatement(Random random, int round)
    {
        var ts = Ts(random);
        return random.Next(9) switch
        {
            0 => $"INSERT INTO {{0}} SELECT {ts}, {Iv(random)}, {random.Next(100)} WHERE NOT EXISTS (SELECT 1 FROM {{0}} x WHERE x.ts = {ts})",
            1 => $"UPDATE {{0}} SET v = v + 1 WHERE ts < {ts}",
            2 => $"UPDATE {{0}} SET ts = ts + interval '30 minutes' WHERE ts >= {ts}",
            3 => $"UPDATE {{0}} SET iv = iv + interval '1 hour' WHERE v % 3 = {random.Next(3)}",
            4 => $"DELETE FROM {{0}} WHERE ts BETWEEN {ts} AND {ts} + interval '1 hour'",
            5 => $"MERGE INTO {{0}} x USING (SELECT ts, iv, row_number() OVER (ORDER BY ts) AS r FROM {{0}} WHERE ts >= {ts} ORDER BY ts LIMIT 2) s ON x.ts = s.ts AND x.iv = s.iv WHEN MATCHED AND s.r = 1 THEN DELETE WHEN MATCHED THEN UPDATE SET ts = x.ts - interval '30 minutes'",
            6 => $"WITH gone AS (DELETE FROM {{0}} WHERE ts < {ts} RETURNING *) INSERT INTO {{0}} SELECT ts + interval '1 minute', iv, v FROM gone",
            7 => $"UPDATE {{0}} SET ts = ts WHERE ts < {ts}",
            _ => $"UPDATE {{0}} SET ts = ts - interval '30 minutes' WHERE ts >= {ts}",
        };
    }

    private static string NoKeyStatement(Random random, int round)
    {
        var a = random.Next(0, 12);
        return random.Next(6) switch
        {
            0 => $"INSERT INTO {{0}} VALUES ({a}, {Ts(random)} + {random.Next(1, 999999)} * interval '1 microsecond', 'new'), ({a}, {Ts(random)} + {random.Next(1, 999999)} * interval '1 microsecond', 'new')",
            1 => $"UPDATE {{0}} SET id = id + 1 WHERE id >= {a}",
            2 => $"UPDATE {{0}} SET name = name || '!' WHERE id = {a}",
            3 => $"DELETE FROM {{0}} WHERE id = {a}",
            4 => $"WITH gone AS (DELETE FROM {{0}} WHERE id = {a} RETURNING *) INSERT INTO {{0}} SELECT id + 1, ts, name FROM gone",
            _ => $"UPDATE {{0}} SET ts = ts + interval '1 hour' + {random.Next(1, 999999)} * interval '1 microsecond' WHERE id = {a}",
        };
    }
}
