namespace Bench;

public sealed partial class Measures
{
    private const int NetPages = 5;
    private const int NetPageSize = 25;

    /// <summary>
    /// P11: the change grid's net view, the first <see cref="NetPages"/> pages of 25 read one after another
    /// (fresh <see cref="SqlEngine"/> each, as the API), on a table with <see cref="Options.NetRows"/> pending changes
    /// (updates of every row in statements of 10,000, then one in ten rows deleted). Engine: by offset through a
    /// <see cref="NetViewCache"/>, as the Dashboard's grid pages (a cursor page of an uncached view stays on the SQL
    /// path and builds no view, so reading by cursor would never measure the cache). Baseline: the uncached path by
    /// cursor, which computes the whole table's net changes for every page (the code before the cache).
    /// </summary>
    private async Task P11Async()
    {
        var rows = options.NetRows * 10 / 11;
        await Harness.ExecAsync(LocalEp,
            $"TRUNCATE {Log}, splitgraph_audit.pending_counts; DROP TABLE IF EXISTS bench.p10; " +
            $"CREATE TABLE bench.p10 ({Columns}); INSERT INTO bench.p10 SELECT {RowSql} FROM generate_series(1, {rows}) g");
        await TrackAsync("p10");
        try
        {
            for (var from = 1; from <= rows; from += 10_000)
            {
                await Harness.ExecAsync(LocalEp, $"UPDATE bench.p10 SET a = a + 1 WHERE id BETWEEN {from} AND {from + 9_999}");
            }

            await Harness.ExecAsync(LocalEp, "DELETE FROM bench.p10 WHERE id % 11 = 0");
            await Harness.ExecAsync(LocalEp, $"VACUUM ANALYZE {Log}");
            var logged = await Harness.ScalarAsync<long>(LocalEp, $"SELECT count(*) FROM {Log} WHERE table_name = 'p10'");

            var first = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
            var later = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
            for (var rep = 0; rep < options.Reps; rep++)
            {
                foreach (var cached in EngineFirst(rep) ? new[] { true, false } : [false, true])
                {
                    // A new cache per run: the first page pays for the view, as the first reader of a new log state does.
                    var cache = cached ? new NetViewCache() : null;
                    long after = 0;
                    for (var page = 0; page < NetPages; page++)
                    {
                        var seconds = await Harness.TimeAsync(async () =>
                        {
                            await using var engine = new SqlEngine(LocalEp);
                            var changes = new ChangeEngine(engine);
                            var result = cache is null
                                ? await changes.GetNetChangesAsync("bench", "p10", after, NetPageSize)
                                : await changes.GetNetChangesAsync("bench", "p10", new NetPageRequest(Limit: NetPageSize, Offset: page * NetPageSize), null, cache, "local", default);
                            after = result.NextAfter ?? throw new InvalidOperationException("P11: the net view ended early.");
                            await engine.CommitAsync();
                        });
                        (page == 0 ? first : later)[cached].Add(seconds);
                    }
                }
            }

            results.Faster($"P11 net view, first page of {NetPageSize} ({logged:N0} pending log rows)", Harness.Median(first[true]), Harness.Median(first[false]), 0.5);
            results.Faster($"P11 net view, pages 2–{NetPages} of {NetPageSize} each (cached view vs recomputed per page)", Harness.Median(later[true]), Harness.Median(later[false]), 5);
            results.Note("P11: baseline = the uncached path (the whole net view recomputed for every page, as before the cache); " +
                         "engine = the Dashboard's path, pages by offset through NetViewCache (the first page computes the view, later pages slice it).");
        }
        finally
        {
            await Harness.ExecAsync(LocalEp, $"DROP TABLE IF EXISTS bench.p10; TRUNCATE {Log}, splitgraph_audit.pending_counts");
        }
    }
}
