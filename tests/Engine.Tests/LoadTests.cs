using System.Diagnostics;
using Engine.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Engine.Tests;

/// <summary>
/// Many writers on tracked tables while dashboard-style reads run: every change is logged exactly once, and reads stay
/// fast. <c>LOAD_CHANGES_PER_WRITER=10000</c> gives the full 16 × 10k run; the default run keeps it small.
/// </summary>
public sealed class LoadTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const int Writers = 16;

    private static readonly int ChangesPerWriter =
        int.TryParse(Environment.GetEnvironmentVariable("LOAD_CHANGES_PER_WRITER"), out var n) && n > 0 ? n : 400;

    private TestDatabase Db => fixture.Db;

    [Fact]
    public async Task Sixteen_writers_lose_no_change_while_reads_stay_fast()
    {
        var schema = await Db.NewSchemaAsync("load");
        await Db.ExecAsync($"CREATE TABLE {schema}.a (id int PRIMARY KEY, v int); CREATE TABLE {schema}.b (id int PRIMARY KEY, v int)");
        await Objects.TrackAsync(Db, schema, "a");
        await Objects.TrackAsync(Db, schema, "b");

        using var stop = new CancellationTokenSource();
        var readTimes = new List<double>();
        var reader = Task.Run(() => ReadLoopAsync(schema, readTimes, stop.Token));

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(schema, w))).ToArray();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(writers);
        var writeTime = watch.Elapsed;
        await stop.CancelAsync();
        await reader;

        var expected = (long)Writers * ChangesPerWriter;
        var logged = await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema);
        Assert.Equal(expected, logged);

        readTimes.Sort();
        var p50 = readTimes[readTimes.Count / 2];
        var p99 = readTimes[(int)Math.Min(readTimes.Count - 1, Math.Ceiling(readTimes.Count * 0.99) - 1)];
        output.WriteLine($"{Writers} writers × {ChangesPerWriter} changes = {expected} logged, 0 lost, in {writeTime.TotalSeconds:F1} s " +
                         $"({expected / writeTime.TotalSeconds:N0} changes/s); {readTimes.Count} reads: p50 {p50:F1} ms, p99 {p99:F1} ms");
        Assert.True(readTimes.Count > 10, "the reads did not run alongside the writers");
        // A loose bound for a shared CI machine; the figure itself goes into the output.
        Assert.True(p99 < 1000, $"p99 of reads under load was {p99:F1} ms");
    }

    /// <summary>One writer: single-row autocommit inserts, updates and deletes, alternating between the two tables.</summary>
    private async Task WriteAsync(string schema, int writer)
    {
        await using var connection = await Db.DataSource.OpenConnectionAsync();
        var baseId = writer * 1_000_000;
        for (var i = 0; i < ChangesPerWriter; i++)
        {
            var table = i % 2 == 0 ? "a" : "b";
            var id = baseId + (i / 6);
            // Per table, per id: insert, update, delete — three changes, each its own transaction.
            var sql = ((i / 2) % 3) switch
            {
                0 => $"INSERT INTO {schema}.{table} VALUES ($1, 0)",
                1 => $"UPDATE {schema}.{table} SET v = v + 1 WHERE id = $1",
                _ => $"DELETE FROM {schema}.{table} WHERE id = $1",
            };
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }
    }

    /// <summary>What the dashboard reads while people write: aggregate counts and the latest page of changes.</summary>
    private async Task ReadLoopAsync(string schema, List<double> times, CancellationToken stop)
    {
        var after = 0L;
        while (!stop.IsCancellationRequested)
        {
            var watch = Stopwatch.StartNew();
            await using (var engine = Db.Engine())
            {
                var changes = new ChangeEngine(engine);
                await changes.GetAggregateChangesAsync(schema, "a");
                var page = await changes.GetPendingChangesAsync(schema, "b", after, 100);
                after = page.NextAfter ?? after;
                await engine.CommitAsync();
            }

            times.Add(watch.Elapsed.TotalMilliseconds);
            await Task.Delay(20, CancellationToken.None);
        }
    }
}
