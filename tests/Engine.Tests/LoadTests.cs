using System.Diagnostics.CodeAnalysis;
using Engine.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Engine.Tests;

/// <summary>
/// Many writers on tracked tables while dashboard-style reads run: every change is logged exactly once, and reads answer
/// correctly while the writers run. <c>LOAD_CHANGES_PER_WRITER=10000</c> gives the full 16 × 10k run; the default run
/// keeps it small. How fast the reads are under this load is the bench's business (<c>bench</c>, measure P8), not a test's.
/// </summary>
public sealed class LoadTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const int Writers = 16;

    /// <summary>Reads that must complete while every writer is parked halfway, so reads and writes overlap by design.</summary>
    private const int ReadsWhileWriting = 3;

    private static readonly int ChangesPerWriter =
        int.TryParse(Environment.GetEnvironmentVariable("LOAD_CHANGES_PER_WRITER"), out var n) && n > 0 ? n : 400;

    private TestDatabase Db => fixture.Db;

    [Fact]
    public async Task Sixteen_writers_lose_no_change_while_reads_answer_correctly()
    {
        var schema = await Db.NewSchemaAsync("load");
        await Db.ExecAsync($"CREATE TABLE {schema}.a (id int PRIMARY KEY, v int); CREATE TABLE {schema}.b (id int PRIMARY KEY, v int)");
        await Objects.TrackAsync(Db, schema, "a");
        await Objects.TrackAsync(Db, schema, "b");

        using var stop = new CancellationTokenSource();
        var readsDuringWrites = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var halfway = new CountdownEvent(Writers);
        var reads = 0;
        var reader = Task.Run(() => ReadLoopAsync(schema, () =>
        {
            // Count only reads that started after every writer had written half its changes and parked.
            if (halfway.IsSet && Interlocked.Increment(ref reads) >= ReadsWhileWriting)
            {
                readsDuringWrites.TrySetResult();
            }
        }, stop.Token));

        var writers = Enumerable.Range(0, Writers)
            .Select(w => Task.Run(() => WriteAsync(schema, w, halfway, readsDuringWrites.Task)))
            .ToArray();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await reader;

        var expected = (long)Writers * ChangesPerWriter;
        var logged = await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema);
        Assert.Equal(expected, logged);

        // Every change of b pages back exactly once, in order.
        var seen = new List<long>();
        await using (var engine = Db.Engine())
        {
            var changes = new ChangeEngine(engine);
            long? after = 0;
            while (after is { } cursor)
            {
                var page = await changes.GetPendingChangesAsync(schema, "b", cursor, 500);
                seen.AddRange(page.Entries.Select(e => e.EventId));
                after = page.NextAfter;
            }

            await engine.CommitAsync();
        }

        Assert.Equal(expected / 2, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.Order(), seen);
        output.WriteLine($"{Writers} writers × {ChangesPerWriter} changes = {expected} logged, 0 lost, 0 duplicated; " +
                         $"{reads} reads checked while writers ran");
    }

    /// <summary>
    /// One writer: single-row autocommit inserts, updates and deletes, alternating between the two tables. Halfway it
    /// parks until the reader has answered while every writer is mid-run.
    /// </summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    private async Task WriteAsync(string schema, int writer, CountdownEvent halfway, Task resume)
    {
        await using var connection = await Db.DataSource.OpenConnectionAsync();
        var baseId = writer * 1_000_000;
        for (var i = 0; i < ChangesPerWriter; i++)
        {
            if (i == ChangesPerWriter / 2)
            {
                halfway.Signal();
                await resume.WaitAsync(TimeSpan.FromMinutes(5));
            }

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

    /// <summary>
    /// What the dashboard reads while people write: aggregate counts and the next page of changes. Each answer is
    /// checked: counts within what has been written, a page in event order with no entry twice, every key one a writer
    /// wrote, and each entry's kind matching its rows.
    /// </summary>
    private async Task ReadLoopAsync(string schema, Action answered, CancellationToken stop)
    {
        var after = 0L;
        var writtenToA = (long)Writers * ChangesPerWriter / 2;
        while (!stop.IsCancellationRequested)
        {
            await using (var engine = Db.Engine())
            {
                var changes = new ChangeEngine(engine);
                // Each read runs to the end and is checked: stop only ends the loop between reads, so it is not passed on.
                var counts = await changes.GetAggregateChangesAsync(schema, "a", CancellationToken.None);
                Assert.InRange(counts.Added + counts.Removed + counts.Updated, 0, writtenToA);
                var page = await changes.GetPendingChangesAsync(schema, "b", after, 100, cancellationToken: CancellationToken.None);
                Assert.InRange(page.Entries.Count, 0, 100);
                var ids = page.Entries.Select(e => e.EventId).ToList();
                Assert.Equal(ids.Order(), ids);
                Assert.Equal(ids.Count, ids.Distinct().Count());
                foreach (var entry in page.Entries)
                {
                    var id = entry.PrimaryKey.GetProperty("id").GetInt32();
                    Assert.InRange(id % 1_000_000, 0, ChangesPerWriter / 6 + 1);
                    Assert.Equal(entry.Upserted, entry.NewRow is not null);
                }

                after = page.NextAfter ?? after;
                await engine.CommitAsync(CancellationToken.None);
            }

            answered();
            await Task.Delay(20, CancellationToken.None);
        }
    }
}
