using System.Diagnostics;
using Engine.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Engine.Tests;

/// <summary>A 1M-row object up and down: memory stays flat, and the figures are printed next to a raw COPY pipe.</summary>
public sealed class TransferScaleTests(TwoDatabasesFixture fixture, ITestOutputHelper output) : IClassFixture<TwoDatabasesFixture>
{
    private const int Rows = 1_000_000;
    private const long MemoryCeiling = 300L * 1024 * 1024;

    [Fact]
    public async Task A_million_row_object_moves_both_ways_with_bounded_memory()
    {
        var local = fixture.Local;
        var remote = fixture.Remote;
        var schema = await local.NewSchemaAsync("scale");
        await local.ExecAsync($"CREATE TABLE {schema}.big (id int PRIMARY KEY, v text, n numeric); " +
                              $"INSERT INTO {schema}.big SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, {Rows}) g");
        var id = (await Objects.CommitAsync(local, schema, "big", snapshot: true)).ObjectId!;
        var transfers = new ObjectTransfers(local.Endpoint, remote.Endpoint);

        var raw = await RawPipeAsync(local, remote, id);

        GC.Collect();
        using var process = Process.GetCurrentProcess();
        var baseline = process.WorkingSet64;
        long peak = baseline;
        using var sampler = new Timer(_ =>
        {
            process.Refresh();
            peak = Math.Max(peak, process.WorkingSet64);
        }, null, 0, 50);

        var watch = Stopwatch.StartNew();
        var upload = await transfers.UploadObjectsAsync([id]);
        var uploadTime = watch.Elapsed;
        Assert.Equal([id], upload.Transferred);

        await using (var engine = local.Engine())
        {
            await new ObjectEngine(engine).DeleteObjectsAsync([id]);
            await engine.CommitAsync();
        }

        // Verified: the object is large enough to come back in two page ranges, and every row must arrive exactly once.
        watch.Restart();
        var download = await new ObjectTransfers(local.Endpoint, remote.Endpoint, verifyContent: true).DownloadObjectsAsync([id]);
        var downloadTime = watch.Elapsed;
        Assert.Equal([id], download.Transferred);

        var growth = peak - baseline;
        output.WriteLine($"raw COPY pipe: {Rows / raw.TotalSeconds:N0} rows/s ({raw.TotalSeconds:F2} s)");
        output.WriteLine($"upload:        {Rows / uploadTime.TotalSeconds:N0} rows/s ({uploadTime.TotalSeconds:F2} s), ratio {raw / uploadTime:F2}");
        output.WriteLine($"download:      {Rows / downloadTime.TotalSeconds:N0} rows/s ({downloadTime.TotalSeconds:F2} s), ratio {raw / downloadTime:F2}");
        output.WriteLine($"working set growth during transfers: {growth / (1024 * 1024)} MiB");
        Assert.True(growth < MemoryCeiling, $"working set grew by {growth / (1024 * 1024)} MiB");
        Assert.Equal((long)Rows, await local.ScalarAsync<long>($"SELECT count(*) FROM splitgraph_meta.\"{id}\""));
    }

    /// <summary>The baseline: binary COPY TO STDOUT piped into COPY FROM STDIN between the same two databases.</summary>
    private static async Task<TimeSpan> RawPipeAsync(TestDatabase local, TestDatabase remote, string id)
    {
        await remote.ExecAsync("CREATE TABLE raw_copy (id int, v text, n numeric, sg_ud_flag boolean)");
        await using var source = await local.DataSource.OpenConnectionAsync();
        await using var target = await remote.DataSource.OpenConnectionAsync();
        var watch = Stopwatch.StartNew();
        await using (var reader = await source.BeginRawBinaryCopyAsync($"COPY splitgraph_meta.\"{id}\" TO STDOUT (FORMAT BINARY)"))
        await using (var writer = await target.BeginRawBinaryCopyAsync("COPY raw_copy FROM STDIN (FORMAT BINARY)"))
        {
            await reader.CopyToAsync(writer);
        }

        var elapsed = watch.Elapsed;
        await remote.ExecAsync("DROP TABLE raw_copy");
        return elapsed;
    }
}
