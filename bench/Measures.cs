using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using Engine.Api.Engine.Versions;
using Npgsql;
using Postgres.Launcher;
using Postgres.Testing;

namespace Bench;

/// <summary>P1…P12. Each figure is the median of <see cref="Options.Reps"/> runs; engine and baseline runs alternate
/// in order from one repetition to the next so drift on a busy machine hits both alike.</summary>
public sealed partial class Measures(Harness harness, Options options, Results results)
{
    /// <summary>The narrow table every measure uses.</summary>
    private const string Columns = "id bigint PRIMARY KEY, a integer, b text, c timestamp with time zone";

    /// <summary>The columns of P1's and P12's single-row tables (the key from a sequence, so pgbench inserts need no ID).</summary>
    private const string SingleRowColumns = "id bigserial PRIMARY KEY, a integer NOT NULL, b text NOT NULL, c timestamptz NOT NULL DEFAULT now()";

    private const string RowSql = "g::bigint, (g % 1000)::int, md5(g::text), timestamptz '2024-01-01' + g * interval '1 second'";

    private const string Log = "splitgraph_audit.logged_actions";

    private EngineEndpoint LocalEp => harness.Local;

    private EngineEndpoint RemoteEp => harness.Remote;

    private bool _sourceReady;
    private string? _objectId;

    public Task RunAsync(string id) => id.ToUpperInvariant() switch
    {
        "P1" => P1Async(),
        "P2" => P2Async(),
        "P3" => P3Async(),
        "P4" => P4Async(),
        "P5" => P5Async(),
        "P6" => P6Async(),
        "P7" => P7Async(),
        "P8" => P8Async(),
        "P9" => P9Async(),
        "P10" => P10Async(),
        "P11" => P11Async(),
        "P12" => P12Async(),
        _ => throw new ArgumentException(id),
    };

    private static string Count(int n) => n >= 1_000_000 && n % 1_000_000 == 0 ? $"{n / 1_000_000}M" : n >= 1000 && n % 1000 == 0 ? $"{n / 1000}k" : n.ToString(CultureInfo.InvariantCulture);

    private static bool EngineFirst(int rep) => rep % 2 == 0;

    // ───────────────────────────── P1: single-row statements, concurrent clients ─────────────────────────────

    private async Task P1Async()
    {
        var rows = Math.Max(options.Clients * options.P1Transactions + 1000, options.Smoke ? 1000 : 100_000);
        await SingleRowWritesAsync("p1", rows, table => $"CREATE TABLE bench.{table} ({SingleRowColumns})", op => $"P1 single-row {op}", 0.85);
        results.Note($"P1: pgbench -M prepared, {options.Clients} clients, {options.P1Transactions} transactions per client per run, one statement per transaction " +
            $"(autocommit), on a {rows:N0}-row table (id bigserial PK, int, text, timestamptz); UPDATE picks a random id, DELETE takes the next id from a sequence. " +
            "Goal 0.85 for all three (the spec asks ≥ 0.85 for inserts, ≥ 0.75 for updates).");
    }

    /// <summary>
    /// P1 and P12: single-row INSERT / UPDATE / DELETE by concurrent pgbench clients on a tracked table of
    /// <paramref name="rows"/> rows (<c>bench.{prefix}_tracked</c>) against the same table untracked
    /// (<c>bench.{prefix}_plain</c>), both made by <paramref name="create"/> and rebuilt for every repetition.
    /// </summary>
    private async Task SingleRowWritesAsync(string prefix, int rows, Func<string, string> create, Func<string, string> label, double goal)
    {
        var pgbench = Path.Combine(harness.LocalServer.BinDirectory, "pgbench");
        var clients = options.Clients;
        var folder = Directory.CreateTempSubdirectory("sgbench-pgbench-").FullName;
        string Table(bool tracked) => tracked ? $"{prefix}_tracked" : $"{prefix}_plain";
        try
        {
            foreach (var op in new[] { "INSERT", "UPDATE", "DELETE" })
            {
                var tps = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
                for (var rep = 0; rep < options.Reps; rep++)
                {
                    await Harness.ExecAsync(LocalEp, $"TRUNCATE {Log}, splitgraph_audit.pending_counts");
                    foreach (var tracked in new[] { false, true })
                    {
                        var table = Table(tracked);
                        await Harness.ExecAsync(LocalEp,
                            $"""
                            DROP TABLE IF EXISTS bench.{table};
                            {create(table)};
                            INSERT INTO bench.{table} (a, b) SELECT g % 1000, md5(g::text) FROM generate_series(1, {rows}) g;
                            DROP SEQUENCE IF EXISTS bench.{table}_del; CREATE SEQUENCE bench.{table}_del;
                            """);
                        if (tracked)
                        {
                            await TrackAsync(table);
                        }

                        await Harness.ExecAsync(LocalEp, $"VACUUM ANALYZE bench.{table}");
                        var script = op switch
                        {
                            "INSERT" => $"\\set r random(1, 1000000)\nINSERT INTO bench.{table} (a, b) VALUES (:r, 'abcdefghijklmnopqrstuvwxyz012345');\n",
                            "UPDATE" => $"\\set id random(1, {rows})\nUPDATE bench.{table} SET a = a + 1 WHERE id = :id;\n",
                            _ => $"DELETE FROM bench.{table} WHERE id = (SELECT nextval('bench.{table}_del'));\n",
                        };
                        await File.WriteAllTextAsync(Path.Combine(folder, $"{op}-{table}.sql"), script);
                    }

                    foreach (var tracked in EngineFirst(rep) ? new[] { true, false } : [false, true])
                    {
                        var table = Table(tracked);
                        await harness.QuiesceAsync();
                        var value = await PgbenchAsync(pgbench, Path.Combine(folder, $"{op}-{table}.sql"), clients);
                        tps[tracked].Add(value);
                        global::Bench.Log.Info($"  {label(op)} {(tracked ? "tracked" : "untracked")} rep {rep + 1}: {value:N0} tx/s");
                    }

                    var logged = await Harness.ScalarAsync<long>(LocalEp, $"SELECT count(*) FROM {Log} WHERE table_name = '{Table(true)}'");
                    var expected = (long)clients * options.P1Transactions;
                    if (logged != expected)
                    {
                        results.Note($"{label(op)} rep {rep + 1}: {logged} log rows for {expected} statements (a no-op or lost statement?)");
                    }
                }

                results.Higher($"{label(op)}, tracked vs untracked ({clients} clients, pgbench)", Harness.Median(tps[true]), Harness.Median(tps[false]), "tx/s", goal);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.{Table(true)}, bench.{Table(false)}; TRUNCATE {Log}, splitgraph_audit.pending_counts");
        }
    }

    private async Task<double> PgbenchAsync(string pgbench, string script, int clients)
    {
        var output = await PostgresCommand.RunAsync(pgbench,
        [
            "-n", "-M", "prepared", "-c", clients.ToString(CultureInfo.InvariantCulture), "-j", Math.Min(clients, Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture),
            "-t", options.P1Transactions.ToString(CultureInfo.InvariantCulture), "-f", script,
            "-h", "127.0.0.1", "-p", harness.LocalServer.Port.ToString(CultureInfo.InvariantCulture), "-U", ThrowawayPostgres.Superuser, Harness.Database,
        ], environment: new Dictionary<string, string> { ["PGPASSWORD"] = harness.LocalServer.Password });
        var match = TpsPattern().Match(output);
        if (!match.Success)
        {
            throw new InvalidOperationException("Could not read tps from pgbench output:\n" + output);
        }

        var failed = FailedPattern().Match(output);
        if (failed.Success && failed.Groups[1].Value != "0")
        {
            throw new InvalidOperationException("pgbench transactions failed:\n" + output);
        }

        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsPattern();

    [GeneratedRegex(@"number of failed transactions: (\d+)")]
    private static partial Regex FailedPattern();

    // ───────────────────────────── P2: bulk loads ─────────────────────────────

    private async Task P2Async()
    {
        await EnsureSourceAsync();
        byte[] copyData;
        await using (var connection = await LocalEp.DataSource.OpenConnectionAsync())
        await using (var reader = await connection.BeginRawBinaryCopyAsync("COPY bench.src TO STDOUT (FORMAT BINARY)"))
        using (var memory = new MemoryStream())
        {
            await reader.CopyToAsync(memory);
            copyData = memory.ToArray();
        }

        long trackedLogBytes = 0, trackedLogRows = 0;
        async Task LoadAsync(string method)
        {
            await using var connection = await LocalEp.DataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            if (method == "COPY")
            {
                await using var writer = await connection.BeginRawBinaryCopyAsync("COPY bench.p2 FROM STDIN (FORMAT BINARY)");
                for (var offset = 0; offset < copyData.Length; offset += 1 << 16)
                {
                    await writer.WriteAsync(copyData.AsMemory(offset, Math.Min(1 << 16, copyData.Length - offset)));
                }
            }
            else
            {
                await using var command = new NpgsqlCommand("INSERT INTO bench.p2 SELECT * FROM bench.src", connection, transaction);
                await command.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        try
        {
            foreach (var method in new[] { "COPY", "INSERT … SELECT" })
            {
                var times = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
                for (var rep = 0; rep < options.Reps; rep++)
                {
                    foreach (var tracked in EngineFirst(rep) ? new[] { true, false } : [false, true])
                    {
                        await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p2; CREATE TABLE bench.p2 ({Columns}); TRUNCATE {Log}, splitgraph_audit.pending_counts");
                        if (tracked)
                        {
                            await TrackAsync("p2");
                        }

                        await harness.QuiesceAsync();
                        var seconds = await Harness.TimeAsync(() => LoadAsync(method));
                        times[tracked].Add(seconds);
                        global::Bench.Log.Info($"  P2 {method} {(tracked ? "tracked" : "untracked")} rep {rep + 1}: {seconds:0.000} s");
                        if (tracked)
                        {
                            var logged = await Harness.ScalarAsync<long>(LocalEp, "SELECT inserted FROM splitgraph_audit.count_changes('bench', 'p2')");
                            if (logged != options.Rows)
                            {
                                throw new InvalidOperationException($"P2: {logged} inserts logged after loading {options.Rows} rows into a tracked table.");
                            }

                            trackedLogRows = await Harness.ScalarAsync<long>(LocalEp, $"SELECT count(*) FROM {Log}");

                            trackedLogBytes = await Harness.ScalarAsync<long>(LocalEp, $"SELECT pg_total_relation_size('{Log}')");
                        }
                    }
                }

                results.Faster($"P2 bulk load {Count(options.Rows)} rows by {method}, tracked vs untracked", Harness.Median(times[true]), Harness.Median(times[false]), 0.6);
            }

            var logBytes = trackedLogBytes;
            var tableBytes = await Harness.ScalarAsync<long>(LocalEp, "SELECT pg_total_relation_size('bench.p2')");
            results.Note($"P2: one transaction per load into an empty table with a primary key; COPY is binary from client memory. A load writes a " +
                $"{tableBytes / 1048576.0:0} MB table (with index) and, when tracked, a {logBytes / 1048576.0:0} MB log (with index) of {trackedLogRows:N0} rows " +
                $"(the first {LocalEp.BulkLogging.PerRowRows:N0} rows of a statement one log row each, the rest as bulk entries of up to {LocalEp.BulkLogging.EntryKeys:N0} keys).");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p2; TRUNCATE {Log}, splitgraph_audit.pending_counts");
        }
    }

    // ───────────────────────────── P3: aggregate pending changes in a big log ─────────────────────────────

    private async Task P3Async()
    {
        var target = options.LogTableRows;
        var others = options.LogRows - target;
        var updates = target / 20;
        var deletes = target / 20;
        var inserts = target - updates - deletes;
        global::Bench.Log.Info($"  P3: building a {options.LogRows:N0}-row log ({target:N0} rows of bench.p3: {inserts:N0} I, {updates:N0} U, {deletes:N0} D)");
        string OtherRows(long from, long to) =>
            $"INSERT INTO {Log} (schema_name, table_name, action, row_data) " +
            $"SELECT 'bench', 'other_' || (g % 4), 'I', jsonb_build_object('id', g, 'a', g % 1000, 'b', md5(g::text), 'c', '2024-01-01T00:00:00+00:00') " +
            $"FROM generate_series({from}, {to}) g";
        try
        {
            await Harness.ExecAsync(LocalEp, $"TRUNCATE {Log}, splitgraph_audit.pending_counts; DROP TABLE IF EXISTS bench.p3; CREATE TABLE bench.p3 ({Columns})");
            await TrackAsync("p3");
            await Harness.ExecAsync(LocalEp, OtherRows(1, others / 2));
            // Statements of 1,000 rows: the triggers log each row (a larger statement logs keys in bulk entries, and the
            // table's log would no longer be 1M rows).
            await Harness.ExecAsync(LocalEp,
                $"DO $$ BEGIN FOR s IN 0..{(inserts - 1) / 1000} LOOP INSERT INTO bench.p3 SELECT {RowSql} FROM generate_series(s * 1000 + 1, least((s + 1) * 1000, {inserts})) g; END LOOP; END $$");
            await Harness.ExecAsync(LocalEp, $"UPDATE bench.p3 SET a = a + 1 WHERE id <= {updates}");
            await Harness.ExecAsync(LocalEp, $"DELETE FROM bench.p3 WHERE id > {inserts - deletes}");
            await Harness.ExecAsync(LocalEp, OtherRows(others / 2 + 1, others));
            var total = await Harness.ScalarAsync<long>(LocalEp, $"SELECT count(*) FROM {Log}");
            if (total != options.LogRows)
            {
                throw new InvalidOperationException($"P3: log has {total} rows, expected {options.LogRows}.");
            }

            async Task<double> OnceAsync()
            {
                AggregateChanges? counts = null;
                var seconds = await Harness.TimeAsync(async () =>
                {
                    await using var engine = new SqlEngine(LocalEp);
                    counts = await new ChangeEngine(engine).GetAggregateChangesAsync("bench", "p3");
                    await engine.CommitAsync();
                });
                if (counts != new AggregateChanges(inserts, deletes, updates))
                {
                    throw new InvalidOperationException($"P3: aggregate {counts} differs from ({inserts}, {deletes}, {updates}).");
                }

                return seconds * 1000;
            }

            // Warm the pool and the catalogue caches once (a connection's first use of the table), then measure.
            await OnceAsync();
            var before = await OnceAsync();
            await Harness.ExecAsync(LocalEp, $"VACUUM ANALYZE {Log}");
            await OnceAsync();
            var runs = new List<double>();
            for (var rep = 0; rep < Math.Max(options.Reps, 5); rep++)
            {
                runs.Add(await OnceAsync());
            }

            var median = Harness.Median(runs);
            results.Add(new ResultRow($"P3 aggregate pending changes of {Count(target)} logged rows among {Count(options.LogRows)} (after VACUUM ANALYZE)",
                $"{median:0.0} ms", "—", null, "≤ 100 ms", median <= 100));
            results.Add(new ResultRow("P3 the same before VACUUM (visibility map not set yet; informational)", $"{before:0.0} ms", "—", null, "—", null));
            // Why: time the same count in other shapes on the same log (informational, to locate the cost).
            var where = "FROM splitgraph_audit.logged_actions WHERE schema_name = 'bench' AND table_name = 'p3'";
            var variants = new (string Name, string Sql)[]
            {
                ("engine query, raw SQL", $"SELECT count(*) FILTER (WHERE action = 'I'), count(*) FILTER (WHERE action = 'D'), count(*) FILTER (WHERE action = 'U') {where}"),
                ("engine query, no parallel workers", $"BEGIN; SET LOCAL max_parallel_workers_per_gather = 0; SELECT count(*) FILTER (WHERE action = 'I'), count(*) FILTER (WHERE action = 'D'), count(*) FILTER (WHERE action = 'U') {where}; COMMIT"),
                ("GROUP BY action", $"SELECT action, count(*) {where} GROUP BY action"),
                ("count(*) only", $"SELECT count(*) {where}"),
            };
            var timings = new List<string>();
            foreach (var (name, sql) in variants)
            {
                var samples = new List<double>();
                for (var rep = 0; rep < 5; rep++)
                {
                    samples.Add(1000 * await Harness.TimeAsync(() => Harness.ExecAsync(LocalEp, sql)));
                }

                timings.Add($"{name} {Harness.Median(samples):0} ms");
            }

            results.Note($"P3 variants on the same vacuumed log (median of 5, informational): {string.Join("; ", timings)}.");
            var plan = await Harness.LinesAsync(LocalEp,
                $"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FILTER (WHERE action = 'I'), count(*) FILTER (WHERE action = 'D'), count(*) FILTER (WHERE action = 'U') " +
                $"FROM {Log} WHERE schema_name = 'bench' AND table_name = 'p3'");
            global::Bench.Log.Info("  P3 plan after VACUUM:\n      " + string.Join("\n      ", plan));
            var scan = plan.FirstOrDefault(l => l.Contains("Scan", StringComparison.Ordinal))?.Trim().TrimStart('-', '>', ' ') ?? "?";
            var fetches = plan.FirstOrDefault(l => l.Contains("Heap Fetches", StringComparison.Ordinal))?.Trim();
            results.Note($"P3: log VACUUM ANALYZEd before the measured runs (median of {runs.Count}; a fresh SqlEngine per run, pooled connection). Plan: {scan}{(fetches is null ? string.Empty : "; " + fetches)}.");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p3; TRUNCATE {Log}, splitgraph_audit.pending_counts");
        }
    }

    // ───────────────────────────── P4 / P5: object transfers ─────────────────────────────

    private const string ObjectColumns = "id bigint, a integer, b text, c timestamp with time zone, sg_ud_flag boolean, PRIMARY KEY (id)";

    /// <summary>The runs of one transfer measure, in an order that rotates from one repetition to the next.</summary>
    private enum TransferRun
    {
        Engine,
        EngineVerified,
        RawPipe,
    }

    private static IEnumerable<TransferRun> Rotation(int rep)
    {
        var runs = Enum.GetValues<TransferRun>();
        return runs.Skip(rep % runs.Length).Concat(runs.Take(rep % runs.Length));
    }

    private async Task P4Async()
    {
        var id = await EnsureObjectAsync();
        var (times, memory) = await TimeTransfersAsync("P4", id, LocalEp, RemoteEp, upload: true);
        var raw = Harness.Median(times[TransferRun.RawPipe]);
        results.Faster($"P4 upload {Count(options.Rows)}-row object local→remote vs raw binary COPY pipe", Harness.Median(times[TransferRun.Engine]), raw, 0.8);
        results.Add(new ResultRow("P4 peak working-set growth of this process during the upload (max of reps)",
            $"{memory[TransferRun.Engine].Max():0.0} MB", $"{memory[TransferRun.RawPipe].Max():0.0} MB (raw pipe)", null, "bounded (streams)", null));
        results.Faster("P4 the same upload with \"verify\": true (content re-hashed on arrival; informational)", Harness.Median(times[TransferRun.EngineVerified]), raw, 0.8);
        var size = await Harness.ScalarAsync<long>(LocalEp, $"SELECT pg_total_relation_size('splitgraph_meta.\"{id}\"')");
        results.Note($"P4/P5: the object has {options.Rows:N0} rows, {size / 1048576.0:0} MB with its primary key; baselines create the same table (with key) " +
            "and pipe binary COPY in one transaction between the same two servers. The engine also builds the key after the load, checks the row count " +
            "(with verify: re-hashes the rows against the ID) and registers the object. Engine, verified and raw runs rotate order per repetition.");
    }

    private async Task P5Async()
    {
        var id = await EnsureObjectAsync();
        if (!await ExistsAsync(RemoteEp, id))
        {
            await new ObjectTransfers(LocalEp, RemoteEp).UploadObjectsAsync([id]);
        }

        var (times, _) = await TimeTransfersAsync("P5", id, RemoteEp, LocalEp, upload: false);
        var raw = Harness.Median(times[TransferRun.RawPipe]);
        results.Faster($"P5 download {Count(options.Rows)}-row object remote→local (postgres_fdw) vs raw binary COPY pipe", Harness.Median(times[TransferRun.Engine]), raw, 0.6);
        results.Faster("P5 the same download with \"verify\": true (informational)", Harness.Median(times[TransferRun.EngineVerified]), raw, 0.6);
    }

    /// <summary>
    /// Times every <see cref="TransferRun"/> of one object from <paramref name="from"/> to <paramref name="to"/>
    /// (upload: local → remote, else a download remote → local), with the process's working-set growth of each run.
    /// The receiving side is cleared before each run.
    /// </summary>
    private async Task<(Dictionary<TransferRun, List<double>> Times, Dictionary<TransferRun, List<double>> Memory)> TimeTransfersAsync(
        string measure, string id, EngineEndpoint from, EngineEndpoint to, bool upload)
    {
        var objectTable = $"splitgraph_meta.\"{id}\"";
        var rawTable = $"bench.{measure.ToLowerInvariant()}_raw";
        var times = Enum.GetValues<TransferRun>().ToDictionary(r => r, _ => new List<double>());
        var memory = Enum.GetValues<TransferRun>().ToDictionary(r => r, _ => new List<double>());
        for (var rep = 0; rep < options.Reps; rep++)
        {
            foreach (var run in Rotation(rep))
            {
                if (run == TransferRun.RawPipe)
                {
                    await Harness.ExecAsync(to, $"DROP TABLE IF EXISTS {rawTable}");
                }
                else
                {
                    await DeleteObjectAsync(to, id);
                }

                await harness.QuiesceAsync();
                var (seconds, growth) = await MemoryProbe.MeasureAsync(() => Harness.TimeAsync(async () =>
                {
                    if (run == TransferRun.RawPipe)
                    {
                        await Harness.RawPipeAsync(from, objectTable, to, $"CREATE TABLE {rawTable} ({ObjectColumns})", rawTable);
                        return;
                    }

                    var transfers = new ObjectTransfers(LocalEp, RemoteEp, verifyContent: run == TransferRun.EngineVerified);
                    var result = upload ? await transfers.UploadObjectsAsync([id]) : await transfers.DownloadObjectsAsync([id]);
                    if (result.Transferred.Count != 1)
                    {
                        throw new InvalidOperationException(
                            $"{measure}: transferred {result.Transferred.Count} objects (skipped {result.Skipped.Count}, missing {result.Missing.Count}).");
                    }
                }));
                times[run].Add(seconds);
                memory[run].Add(growth);
                global::Bench.Log.Info($"  {measure} {run} rep {rep + 1}: {seconds:0.000} s, working set +{growth:0.0} MB");
            }
        }

        await Harness.ExecAsync(to, $"DROP TABLE IF EXISTS {rawTable}");
        return (times, memory);
    }

    // ───────────────────────────── P6: apply fragments ─────────────────────────────

    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "The statement is written here: fixed bench.* tables and quoted IDs of objects the bench itself created; values are parameters.")]
    private async Task P6Async()
    {
        await EnsureSourceAsync();
        var n = options.Rows;
        var r = options.FragmentRows;
        int up = r * 7 / 10, fresh = r * 2 / 10, del = r - up - fresh;
        await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p6_base; CREATE TABLE bench.p6_base ({Columns}); INSERT INTO bench.p6_base SELECT * FROM bench.src");
        var ids = new List<string>();
        for (var i = 0; i < options.Fragments; i++)
        {
            // A unique staging name: the staging table's index name travels with it into splitgraph_meta.
            var staging = $"p6_stg_{i}_{Guid.NewGuid():N}"[..30];
            await using var engine = new SqlEngine(LocalEp);
            await engine.RunSqlAsync(
                $"""
                DROP TABLE IF EXISTS bench.{staging};
                CREATE TABLE bench.{staging} ({ObjectColumns});
                INSERT INTO bench.{staging} SELECT ((({i}::bigint * {up}) + k - 1) % {n}) + 1, -k, md5('f{i}-' || k), timestamptz '2025-01-01' + k * interval '1 minute', true
                    FROM generate_series(1, {up}) k ON CONFLICT DO NOTHING;
                INSERT INTO bench.{staging} SELECT {n}::bigint + {i}::bigint * {fresh} + k, k, md5('n{i}-' || k), timestamptz '2025-06-01' + k * interval '1 minute', true
                    FROM generate_series(1, {fresh}) k ON CONFLICT DO NOTHING;
                INSERT INTO bench.{staging} (id, sg_ud_flag) SELECT {n}::bigint - {i}::bigint * {del} - k + 1, false
                    FROM generate_series(1, {del}) k ON CONFLICT DO NOTHING;
                """, null, ResultShape.None);
            var (objectId, _) = await new ObjectEngine(engine).StoreContentAddressedAsync("bench", staging);
            await engine.CommitAsync();
            ids.Add(objectId);
        }

        await Harness.ExecAsync(LocalEp, string.Join("; ", ids.Select(id => $"ANALYZE splitgraph_meta.\"{id}\"")));
        var expected = await Harness.ScalarAsync<long>(LocalEp,
            $"SELECT count(*) FROM (SELECT id FROM bench.p6_base UNION SELECT id FROM ({string.Join(" UNION ALL ", ids.Select(id => $"SELECT id FROM splitgraph_meta.\"{id}\" WHERE sg_ud_flag"))}) u) a " +
            $"WHERE id NOT IN ({string.Join(" UNION ALL ", ids.Select(id => $"SELECT id FROM splitgraph_meta.\"{id}\" WHERE NOT sg_ud_flag"))})");

        var engineTimes = new List<double>();
        var handTimes = new List<double>();
        try
        {
            for (var rep = 0; rep < options.Reps; rep++)
            {
                foreach (var engineRun in EngineFirst(rep) ? new[] { true, false } : [false, true])
                {
                    await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p6; CREATE TABLE bench.p6 ({Columns}); INSERT INTO bench.p6 SELECT * FROM bench.p6_base");
                    await Harness.ExecAsync(LocalEp, "VACUUM ANALYZE bench.p6");
                    await harness.QuiesceAsync();
                    double seconds;
                    if (engineRun)
                    {
                        seconds = await Harness.TimeAsync(async () =>
                        {
                            await using var engine = new SqlEngine(LocalEp);
                            await new FragmentApplier(engine).ApplyFragmentsAsync(ids, "bench", "p6");
                            await engine.CommitAsync();
                        });
                        engineTimes.Add(seconds);
                    }
                    else
                    {
                        seconds = await Harness.TimeAsync(async () =>
                        {
                            await using var connection = await LocalEp.DataSource.OpenConnectionAsync();
                            await using var transaction = await connection.BeginTransactionAsync();
                            foreach (var id in ids)
                            {
                                await using var command = new NpgsqlCommand(
                                    $"DELETE FROM bench.p6 t USING splitgraph_meta.\"{id}\" f WHERE t.id = f.id; " +
                                    $"INSERT INTO bench.p6 (id, a, b, c) SELECT f.id, f.a, f.b, f.c FROM splitgraph_meta.\"{id}\" f WHERE f.sg_ud_flag",
                                    connection, transaction);
                                await command.ExecuteNonQueryAsync();
                            }

                            await transaction.CommitAsync();
                        });
                        handTimes.Add(seconds);
                    }

                    var count = await Harness.ScalarAsync<long>(LocalEp, "SELECT count(*) FROM bench.p6");
                    if (count != expected)
                    {
                        throw new InvalidOperationException($"P6: {(engineRun ? "applier" : "hand-written SQL")} left {count} rows, expected {expected}.");
                    }

                    global::Bench.Log.Info($"  P6 {(engineRun ? "FragmentApplier" : "hand-written")} rep {rep + 1}: {seconds:0.000} s");
                }
            }

            results.Faster($"P6 apply {options.Fragments} fragments × {Count(r)} rows onto a {Count(n)}-row table vs hand-written DELETE … USING + INSERT … SELECT",
                Harness.Median(engineTimes), Harness.Median(handTimes), 0.9);
            results.Note($"P6: each fragment = {up:N0} updates of existing keys, {fresh:N0} new keys, {del:N0} deletes; the target is rebuilt and VACUUM ANALYZEd " +
                "before every run, fragments are ANALYZEd once; one transaction per run in both variants.");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, "DROP TABLE IF EXISTS bench.p6, bench.p6_base");
            await using var engine = new SqlEngine(LocalEp);
            await new ObjectEngine(engine).DeleteObjectsAsync(ids);
            await engine.CommitAsync();
        }
    }

    // ───────────────────────────── P7: commit ─────────────────────────────

    private async Task P7Async()
    {
        var c = options.CommitRows;
        int ins = c * 6 / 10, upd = c * 3 / 10, del = c - ins - upd;
        var times = new List<double>();
        try
        {
            for (var rep = 0; rep < options.Reps; rep++)
            {
                await Harness.ExecAsync(LocalEp,
                    $"TRUNCATE {Log}, splitgraph_audit.pending_counts; DROP TABLE IF EXISTS bench.p7; CREATE TABLE bench.p7 ({Columns}); INSERT INTO bench.p7 SELECT {RowSql} FROM generate_series(1, {c}) g");
                await TrackAsync("p7");
                await Harness.ExecAsync(LocalEp, $"INSERT INTO bench.p7 SELECT {RowSql} FROM generate_series({c + 1}, {c + ins}) g");
                await Harness.ExecAsync(LocalEp, $"UPDATE bench.p7 SET a = a + 1, b = md5(b) WHERE id <= {upd}");
                await Harness.ExecAsync(LocalEp, $"DELETE FROM bench.p7 WHERE id > {c - del} AND id <= {c}");
                await Harness.ExecAsync(LocalEp, $"ANALYZE {Log}");
                await Harness.ExecAsync(LocalEp, "VACUUM ANALYZE bench.p7");
                await harness.QuiesceAsync();
                CommitResult? result = null;
                var seconds = await Harness.TimeAsync(async () =>
                {
                    await using var engine = new SqlEngine(LocalEp) { IsolationLevel = TableCommitter.Isolation };
                    result = await new TableCommitter(engine).CommitAsync("bench", "p7");
                    await engine.CommitAsync();
                });
                if (result is null || result.Upserts != ins + upd || result.Deletes != del || result.ObjectId is null)
                {
                    throw new InvalidOperationException($"P7: commit gave {result}, expected {ins + upd} upserts and {del} deletes.");
                }

                times.Add(seconds);
                global::Bench.Log.Info($"  P7 commit rep {rep + 1}: {seconds:0.000} s ({c / seconds:N0} changes/s)");
                await DeleteObjectAsync(LocalEp, result.ObjectId);
            }

            var median = Harness.Median(times);
            results.Add(new ResultRow($"P7 commit {Count(c)} pending changes into an object (TableCommitter)", $"{c / median:N0} changes/s ({median:0.000} s)", "—", null, "report", null));
            results.Note($"P7: {ins:N0} inserts (one statement), {upd:N0} updates (one statement, row trigger), {del:N0} deletes on a {c:N0}-row tracked table; " +
                "log ANALYZEd before the commit; time includes net-change conflation, fragment build, content hash, registration and log discard.");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p7; TRUNCATE {Log}, splitgraph_audit.pending_counts");
        }
    }

    private Task P8Async()
    {
        results.Add(new ResultRow("P8 topology cold start (AppHost)", "not measured", "—", null, "—", null));
        results.Note("P8 skipped: timing `dotnet run --project AppHost` until every resource is healthy needs the orchestrator and is not automated here; " +
            "tests/EndToEnd.Tests' fixture start (DistributedApplicationTestingBuilder → StartAsync) is the closest automated figure (≈ 9 s per running-here.md).");
        return Task.CompletedTask;
    }

    // ───────────────────────────── P9: dashboard reads while 16 writers run ─────────────────────────────

    /// <summary>
    /// The reads the Dashboard makes (one table's aggregate counts and the next page of changes of another), timed on
    /// an idle engine (baseline) and while 16 single-row writers run. The load test in Engine.Tests checks that these
    /// reads answer correctly under the same load; how fast they answer is reported here.
    /// </summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "The statement is written here: fixed bench.* tables and quoted IDs of objects the bench itself created; values are parameters.")]
    private async Task P9Async()
    {
        const int writers = 16;
        var changesPerWriter = options.Smoke ? 200 : 10_000;
        await Harness.ExecAsync(LocalEp,
            $"TRUNCATE {Log}, splitgraph_audit.pending_counts; DROP TABLE IF EXISTS bench.p9a, bench.p9b; " +
            "CREATE TABLE bench.p9a (id int PRIMARY KEY, v int); CREATE TABLE bench.p9b (id int PRIMARY KEY, v int)");
        await TrackAsync("p9a");
        await TrackAsync("p9b");
        try
        {
            var idle = await ReadTimesAsync(() => false, minimum: options.Smoke ? 10 : 200);
            var done = 0;
            var loaded = ReadTimesAsync(() => Volatile.Read(ref done) < writers, minimum: 1);
            var tasks = Enumerable.Range(0, writers).Select(async w =>
            {
                await using var connection = await LocalEp.DataSource.OpenConnectionAsync();
                for (var i = 0; i < changesPerWriter; i++)
                {
                    var table = i % 2 == 0 ? "p9a" : "p9b";
                    var sql = ((i / 2) % 3) switch
                    {
                        0 => $"INSERT INTO bench.{table} VALUES ($1, 0)",
                        1 => $"UPDATE bench.{table} SET v = v + 1 WHERE id = $1",
                        _ => $"DELETE FROM bench.{table} WHERE id = $1",
                    };
                    await using var command = new NpgsqlCommand(sql, connection);
                    command.Parameters.Add(new NpgsqlParameter { Value = w * 1_000_000 + i / 6 });
                    await command.ExecuteNonQueryAsync();
                }

                Interlocked.Increment(ref done);
            }).ToArray();
            await Task.WhenAll(tasks);
            var underLoad = await loaded;

            string Percentiles(List<double> t) => $"p50 {Percentile(t, 0.50):0.0} / p95 {Percentile(t, 0.95):0.0} / p99 {Percentile(t, 0.99):0.0} ms";
            var ratio = Percentile(underLoad, 0.5) / Percentile(idle, 0.5);
            results.Add(new ResultRow($"P9 dashboard read (aggregate + page of 100) while {writers} writers × {Count(changesPerWriter)} changes run ({underLoad.Count} reads)",
                Percentiles(underLoad), $"idle: {Percentiles(idle)} ({idle.Count} reads)", ratio, "report", null));
            results.Note("P9: ratio is p50 under load / p50 idle (higher is slower). The load test asserts only that these reads answer correctly.");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p9a, bench.p9b; TRUNCATE {Log}, splitgraph_audit.pending_counts");
        }
    }

    /// <summary>Times reads one after another while <paramref name="more"/> holds, and at least <paramref name="minimum"/> of them.</summary>
    private async Task<List<double>> ReadTimesAsync(Func<bool> more, int minimum)
    {
        await Task.Yield();
        var times = new List<double>();
        var after = 0L;
        while (times.Count < minimum || more())
        {
            times.Add(await Harness.TimeAsync(async () =>
            {
                await using var engine = new SqlEngine(LocalEp);
                var changes = new ChangeEngine(engine);
                await changes.GetAggregateChangesAsync("bench", "p9a");
                var page = await changes.GetPendingChangesAsync("bench", "p9b", after, 100);
                after = page.NextAfter ?? after;
                await engine.CommitAsync();
            }) * 1000);
        }

        return times;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(sorted.Count * p) - 1)];
    }

    // ───────────────────────────── helpers ─────────────────────────────

    // ───────────────────────────── P10: checkout of a versioned table ─────────────────────────────

    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "The statement is written here: fixed bench.* tables and quoted IDs of objects the bench itself created; values are parameters.")]
    private async Task P10Async()
    {
        await EnsureSourceAsync();
        var n = options.Rows;
        var r = options.FragmentRows / 2;
        int up = r * 7 / 10, fresh = r * 2 / 10, del = r - up - fresh;
        const string repo = "p10repo";
        await Harness.ExecAsync(LocalEp, $"DROP SCHEMA IF EXISTS {repo} CASCADE; CREATE SCHEMA {repo}; CREATE TABLE {repo}.t ({Columns}); INSERT INTO {repo}.t SELECT * FROM bench.src");
        await using (var engine = new SqlEngine(LocalEp) { IsolationLevel = TableCommitter.Isolation })
        {
            await new RepositoryEngine(engine).InitAsync(new InitRepositoryRequest(repo), default);
            await engine.CommitAsync();
        }

        string? first = null;
        for (var i = 0; i < options.Fragments; i++)
        {
            // Each commit: r/2 · 0.7 updates of existing keys, 0.2 new keys, 0.1 deletes, as P6's fragments (half their size,
            // so ten of them stay below the base's row count and the snapshot rule keeps the chain).
            await Harness.ExecAsync(LocalEp,
                $"""
                UPDATE {repo}.t SET a = -a, b = md5('f{i}-' || id) WHERE id IN (SELECT id FROM {repo}.t ORDER BY id OFFSET {i * up % Math.Max(1, n - up)} LIMIT {up});
                INSERT INTO {repo}.t SELECT {n}::bigint + {i}::bigint * {fresh} + k, k, md5('n{i}-' || k), timestamptz '2025-06-01' + k * interval '1 minute' FROM generate_series(1, {fresh}) k;
                DELETE FROM {repo}.t WHERE id IN (SELECT id FROM {repo}.t ORDER BY id DESC OFFSET {i * del} LIMIT {del});
                """);
            await using var engine = new SqlEngine(LocalEp) { IsolationLevel = TableCommitter.Isolation };
            var image = await new RepositoryEngine(engine).CommitAsync(repo, new CommitImageRequest($"p10 {i}"), default);
            await engine.CommitAsync();
            first ??= image.Image.ParentId;
        }

        IReadOnlyList<string> chain;
        string chainImage;
        await using (var engine = new SqlEngine(LocalEp))
        {
            var catalog = new VersionCatalog(engine);
            chainImage = await catalog.ResolveAsync(repo, VersionCatalog.Latest, default);
            chain = (await catalog.TablesAsync(repo, chainImage, default))[0].ObjectIds;
        }

        // The same content as one snapshot, for the snapshot rule: what replaying the chain costs over copying one object.
        string snapshotImage;
        await using (var engine = new SqlEngine(LocalEp) { IsolationLevel = TableCommitter.Isolation })
        {
            snapshotImage = (await new RepositoryEngine(engine).CommitAsync(repo, new CommitImageRequest("p10 snapshot", Snapshot: true), default)).Image.ImageHash;
            await engine.CommitAsync();
        }

        if (chain.Count != options.Fragments + 1)
        {
            throw new InvalidOperationException($"P10: the chain has {chain.Count} objects, expected a base and {options.Fragments} fragments.");
        }

        var expected = await Harness.ScalarAsync<long>(LocalEp, $"SELECT sum(hashtext(t::text)::bigint)::bigint FROM {repo}.t t");
        var checkoutTimes = new List<double>();
        var plainTimes = new List<double>();
        var snapshotTimes = new List<double>();
        try
        {
            for (var rep = 0; rep < options.Reps; rep++)
            {
                foreach (var checkoutRun in EngineFirst(rep) ? new[] { true, false } : [false, true])
                {
                    double seconds;
                    if (checkoutRun)
                    {
                        // From the first image (the base alone) to the latest: the table is emptied and the chain applied.
                        await CheckoutAsync(repo, first!);
                        await harness.QuiesceAsync();
                        seconds = await Harness.TimeAsync(() => CheckoutAsync(repo, chainImage));
                        checkoutTimes.Add(seconds);
                        await CheckoutAsync(repo, first!);
                        await harness.QuiesceAsync();
                        var snapshotSeconds = await Harness.TimeAsync(() => CheckoutAsync(repo, snapshotImage));
                        snapshotTimes.Add(snapshotSeconds);
                        global::Bench.Log.Info($"  P10 checkout of the snapshot image rep {rep + 1}: {snapshotSeconds:0.000} s");
                    }
                    else
                    {
                        await Harness.ExecAsync(LocalEp, "DROP TABLE IF EXISTS bench.p10_plain");
                        await harness.QuiesceAsync();
                        seconds = await Harness.TimeAsync(async () =>
                        {
                            await using var connection = await LocalEp.DataSource.OpenConnectionAsync();
                            await using var transaction = await connection.BeginTransactionAsync();
                            await using (var create = new NpgsqlCommand($"CREATE TABLE bench.p10_plain ({Columns})", connection, transaction))
                            {
                                await create.ExecuteNonQueryAsync();
                            }

                            foreach (var id in chain)
                            {
                                await using var command = new NpgsqlCommand(
                                    $"DELETE FROM bench.p10_plain t USING splitgraph_meta.\"{id}\" f WHERE t.id = f.id; " +
                                    $"INSERT INTO bench.p10_plain (id, a, b, c) SELECT f.id, f.a, f.b, f.c FROM splitgraph_meta.\"{id}\" f WHERE f.sg_ud_flag",
                                    connection, transaction);
                                await command.ExecuteNonQueryAsync();
                            }

                            await transaction.CommitAsync();
                        });
                        plainTimes.Add(seconds);
                    }

                    var table = checkoutRun ? $"{repo}.t" : "bench.p10_plain";
                    var sum = await Harness.ScalarAsync<long>(LocalEp, $"SELECT sum(hashtext(t::text)::bigint)::bigint FROM {table} t");
                    if (sum != expected)
                    {
                        throw new InvalidOperationException($"P10: {(checkoutRun ? "checkout" : "plain apply")} left different rows in {table}.");
                    }

                    global::Bench.Log.Info($"  P10 {(checkoutRun ? "checkout" : "CREATE TABLE + apply")} rep {rep + 1}: {seconds:0.000} s");
                }
            }

            results.Faster($"P10 checkout of a {Count(n)}-row table of a base + {options.Fragments} fragments × {Count(r)} rows vs CREATE TABLE + DELETE … USING / INSERT … SELECT of the same objects",
                Harness.Median(checkoutTimes), Harness.Median(plainTimes), 0.8);
            results.Add(new ResultRow($"P10 the same checkout vs checkout of one snapshot of the same content (informational: the snapshot rule)",
                $"{Harness.Median(checkoutTimes):0.000} s", $"{Harness.Median(snapshotTimes):0.000} s", Harness.Median(snapshotTimes) / Harness.Median(checkoutTimes), "—", null));
            results.Note($"P10: each fragment = {up:N0} updates, {fresh:N0} new keys, {del:N0} deletes, committed through the repository; checkout goes from the " +
                "first image (base only) to the latest: untrack, TRUNCATE, apply the chain in order (FragmentApplier), track again, in one transaction. " +
                "The plain variant creates an empty table with the key and applies the same objects in one transaction.");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, "DROP TABLE IF EXISTS bench.p10_plain");
            await using var engine = new SqlEngine(LocalEp);
            await new RepositoryEngine(engine).DeleteAsync(repo, default);
            await new RepositoryEngine(engine).CleanupAsync(false, default);
            await engine.CommitAsync();
            await Harness.ExecAsync(LocalEp, $"DROP SCHEMA IF EXISTS {repo} CASCADE");
        }
    }

    private async Task CheckoutAsync(string repo, string image)
    {
        await using var engine = new SqlEngine(LocalEp);
        await new Checkout(engine).RunAsync(repo, image, force: false, default);
        await engine.CommitAsync();
    }

    private async Task TrackAsync(string table)
    {
        await using var engine = new SqlEngine(LocalEp);
        await new ChangeEngine(engine).TrackTablesAsync([new TableRef("bench", table)]);
        await engine.CommitAsync();
    }

    private async Task EnsureSourceAsync()
    {
        if (_sourceReady)
        {
            return;
        }

        await Harness.ExecAsync(LocalEp,
            $"DROP TABLE IF EXISTS bench.src; CREATE TABLE bench.src ({Columns}); INSERT INTO bench.src SELECT {RowSql} FROM generate_series(1, {options.Rows}) g");
        await Harness.ExecAsync(LocalEp, "VACUUM ANALYZE bench.src");
        _sourceReady = true;
    }

    /// <summary>The transferred object: a snapshot commit of a copy of the source table, on local.</summary>
    private async Task<string> EnsureObjectAsync()
    {
        if (_objectId is not null)
        {
            return _objectId;
        }

        await EnsureSourceAsync();
        await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p4; CREATE TABLE bench.p4 ({Columns}); INSERT INTO bench.p4 SELECT * FROM bench.src");
        await using (var engine = new SqlEngine(LocalEp) { IsolationLevel = TableCommitter.Isolation })
        {
            var result = await new TableCommitter(engine).CommitAsync("bench", "p4", snapshot: true);
            await engine.CommitAsync();
            _objectId = result.ObjectId ?? throw new InvalidOperationException("P4: snapshot commit gave no object.");
        }

        await Harness.ExecAsync(LocalEp, "DROP TABLE bench.p4");
        await Harness.ExecAsync(LocalEp, $"VACUUM ANALYZE splitgraph_meta.\"{_objectId}\"");
        return _objectId;
    }

    private static async Task<bool> ExistsAsync(EngineEndpoint endpoint, string id)
    {
        await using var engine = new SqlEngine(endpoint);
        return await new ObjectEngine(engine).ExistsAsync(id);
    }

    private static async Task DeleteObjectAsync(EngineEndpoint endpoint, string id)
    {
        await using var engine = new SqlEngine(endpoint);
        await new ObjectEngine(engine).DeleteObjectsAsync([id]);
        await engine.CommitAsync();
    }
}
