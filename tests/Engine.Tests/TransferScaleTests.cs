using Engine.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Engine.Tests;

/// <summary>A 1M-row object up and down: every row arrives and memory stays flat (streamed, never buffered whole).</summary>
public sealed class TransferScaleTests(TwoDatabasesFixture fixture, ITestOutputHelper output) : IClassFixture<TwoDatabasesFixture>
{
    private const int Rows = 1_000_000;
    private const double MemoryCeilingMb = 300;

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

        // The kernel's high-water mark (VmHWM, reset first) gives the exact peak: nothing is sampled, so nothing is missed.
        var (download, growthMb) = await MemoryProbe.MeasureAsync(async () =>
        {
            var upload = await transfers.UploadObjectsAsync([id]);
            Assert.Equal([id], upload.Transferred);

            await using (var engine = local.Engine())
            {
                await new ObjectEngine(engine).DeleteObjectsAsync([id]);
                await engine.CommitAsync();
            }

            // Verified: the object is large enough to come back in two page ranges, and every row must arrive exactly once.
            return await new ObjectTransfers(local.Endpoint, remote.Endpoint, verifyContent: true).DownloadObjectsAsync([id]);
        });
        Assert.Equal([id], download.Transferred);

        output.WriteLine($"peak resident-set growth during both transfers: {growthMb:F0} MiB (bound {MemoryCeilingMb} MiB); speed is measured by the bench (P4, P5)");
        Assert.True(growthMb < MemoryCeilingMb, $"resident set grew by {growthMb:F0} MiB");
        Assert.Equal((long)Rows, await local.ScalarAsync<long>($"SELECT count(*) FROM splitgraph_meta.\"{id}\""));
    }
}
