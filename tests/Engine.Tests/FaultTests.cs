using Engine.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Engine.Tests;

/// <summary>
/// Faults in the middle of multi-step work: the receiving engine's connection is killed (pg_terminate_backend, as a
/// crash or restart of that server looks to us) during an upload, a download and a commit. The work is stopped on
/// purpose at its most delicate point — the big object's rows written, its catalogue row not yet — by locks the test
/// holds, and killed there. Afterwards every object present is complete and matches its content ID, nothing half-made
/// is left, and a retry finishes the job.
/// </summary>
public sealed class FaultTests(TwoDatabasesFixture fixture, ITestOutputHelper output) : IClassFixture<TwoDatabasesFixture>
{
    /// <summary>One round per fault in the default run; <c>FAULT_ITERATIONS=10</c> for the long loop.</summary>
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("FAULT_ITERATIONS"), out var n) && n > 0 ? n : 1;

    private const int BigRows = 150_000;

    private TestDatabase Local => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    [Fact]
    public async Task Upload_interrupted_on_the_receiving_side_leaves_whole_objects_only_and_a_retry_finishes()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (small1, big, small2) = await ThreeObjectsAsync(Local);
            var transfers = new ObjectTransfers(Local.Endpoint, Remote.Endpoint);

            await KillBeforeRegisteringAsync(Remote, big, () => transfers.UploadObjectsAsync([small1, big, small2]));

            await AssertOnlyWholeObjectsAsync(Remote);
            Assert.True(await HasObjectAsync(Remote, small1));
            Assert.False(await HasObjectAsync(Remote, big));
            Assert.False(await HasObjectAsync(Remote, small2));

            var retry = await transfers.UploadObjectsAsync([small1, big, small2]);
            Assert.Equal([small1], retry.Skipped);
            Assert.Equal([big, small2], retry.Transferred);
            await AssertOnlyWholeObjectsAsync(Remote);
            await DeleteEverywhereAsync([small1, big, small2]);
        }

        output.WriteLine($"{Iterations} interrupted uploads survived; no row lost.");
    }

    [Fact]
    public async Task Download_interrupted_leaves_no_half_object_and_no_foreign_schema_and_a_retry_finishes()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var (small1, big, small2) = await ThreeObjectsAsync(Remote);
            var transfers = new ObjectTransfers(Local.Endpoint, Remote.Endpoint);

            await KillBeforeRegisteringAsync(Local, big, () => transfers.DownloadObjectsAsync([small1, big, small2]));

            await AssertOnlyWholeObjectsAsync(Local);
            Assert.True(await HasObjectAsync(Local, small1));
            Assert.False(await HasObjectAsync(Local, big));
            Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sg_fdw_%'"));
            Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM pg_foreign_server"));

            var retry = await transfers.DownloadObjectsAsync([small1, big, small2]);
            Assert.Equal([small1], retry.Skipped);
            Assert.Equal([big, small2], retry.Transferred);
            await AssertOnlyWholeObjectsAsync(Local);
            await DeleteEverywhereAsync([small1, big, small2]);
        }

        output.WriteLine($"{Iterations} interrupted downloads survived; no row lost, no foreign schema or server left.");
    }

    [Fact]
    public async Task Commit_interrupted_keeps_every_pending_change_and_leaves_no_object()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var schema = await Local.NewSchemaAsync("fault_commit");
            await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text)");
            await Objects.TrackAsync(Local, schema, "t");
            await Local.ExecAsync($"INSERT INTO {schema}.t SELECT g, md5(g::text) FROM generate_series(1, {BigRows}) g");
            var pending = await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema);
            var objectsBefore = await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects");

            await KillBeforeRegisteringAsync(Local, null, () => Objects.CommitAsync(Local, schema, "t"));

            Assert.Equal(pending, await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema));
            Assert.Equal(objectsBefore, await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects"));
            await AssertOnlyWholeObjectsAsync(Local);

            var commit = await Objects.CommitAsync(Local, schema, "t");
            Assert.Equal(BigRows, commit.Upserts);
            Assert.Equal(0L, await Local.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema));
            await using var engine = Local.Engine();
            await new ObjectEngine(engine).DeleteObjectsAsync([commit.ObjectId!]);
            await engine.CommitAsync();
        }

        output.WriteLine($"{Iterations} interrupted commits survived; every pending change kept.");
    }

    /// <summary>Two small objects around a big one, so a fault can land in the middle of a multi-object transfer.</summary>
    private static async Task<(string Small1, string Big, string Small2)> ThreeObjectsAsync(TestDatabase db)
    {
        var schema = await db.NewSchemaAsync("fault");
        var salt = Guid.NewGuid().ToString("N");
        await db.ExecAsync(
            $"CREATE TABLE {schema}.small1 (id int PRIMARY KEY, v text); INSERT INTO {schema}.small1 VALUES (1, '{salt}a');" +
            $"CREATE TABLE {schema}.big (id int PRIMARY KEY, v text); INSERT INTO {schema}.big SELECT g, md5(g::text) || '{salt}' FROM generate_series(1, {BigRows}) g;" +
            $"CREATE TABLE {schema}.small2 (id int PRIMARY KEY, v text); INSERT INTO {schema}.small2 VALUES (2, '{salt}b');");
        return ((await Objects.CommitAsync(db, schema, "small1", snapshot: true)).ObjectId!,
                (await Objects.CommitAsync(db, schema, "big", snapshot: true)).ObjectId!,
                (await Objects.CommitAsync(db, schema, "small2", snapshot: true)).ObjectId!);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> so that it stops on <paramref name="target"/> with an object's rows written but
    /// its catalogue row not yet inserted, terminates it there, and checks that it failed with a database error.
    /// With <paramref name="objectId"/>, objects before it go through first: its per-object lock is held until the
    /// operation waits on it, and only then is the catalogue locked against inserts.
    /// </summary>
    private async Task KillBeforeRegisteringAsync(TestDatabase target, string? objectId, Func<Task> operation)
    {
        Task run;
        LockGate catalogueLock;
        if (objectId is null)
        {
            catalogueLock = await LockGate.TableAsync(target, "splitgraph_meta.objects", "SHARE ROW EXCLUSIVE");
            run = Task.Run(operation);
        }
        else
        {
            await using var objectLock = await LockGate.AdvisoryAsync(target, objectId);
            run = Task.Run(operation);
            await WaitForWaiterAsync(target, "advisory", run);
            // Taken before the object lock is let go (at the end of this block): the operation then stops at the catalogue.
            catalogueLock = await LockGate.TableAsync(target, "splitgraph_meta.objects", "SHARE ROW EXCLUSIVE");
        }

        await using (catalogueLock)
        {
            var pid = await WaitForWaiterAsync(target, "relation", run);
            await LockGate.TerminateAsync(Local, pid);
        }

        var error = await Assert.ThrowsAsync<EngineUnavailableException>(() => run);
        output.WriteLine($"killed before registering on {target.Name}: {error.GetType().Name}: {error.Message}");
    }

    /// <summary>The backend of <paramref name="target"/> waiting on a lock of this kind; fails if the operation ends first.</summary>
    private async Task<int> WaitForWaiterAsync(TestDatabase target, string waitEvent, Task operation)
    {
        var waiter = LockGate.WaitForWaiterAsync(Local, target.Name, waitEvent);
        if (await Task.WhenAny(waiter, operation) == operation)
        {
            await operation;
            Assert.Fail($"the operation finished without waiting on the {waitEvent} lock");
        }

        return await waiter;
    }

    private static async Task<bool> HasObjectAsync(TestDatabase db, string id) =>
        await db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = $1", id) == 1;

    /// <summary>Every table in splitgraph_meta is a registered object (or one of the catalogue's) and hashes to its ID.</summary>
    private static async Task AssertOnlyWholeObjectsAsync(TestDatabase db)
    {
        var strays = await db.ScalarAsync<long>(
            """
            SELECT count(*) FROM pg_tables t WHERE t.schemaname = 'splitgraph_meta'
              AND t.tablename NOT IN ('objects', 'images', 'tables', 'tags', 'released_objects')
              AND NOT EXISTS (SELECT 1 FROM splitgraph_meta.objects o WHERE o.object_id = t.tablename)
            """);
        Assert.Equal(0L, strays);

        await using var engine = db.Engine();
        var objects = new ObjectEngine(engine);
        foreach (var info in await objects.ListObjectsAsync())
        {
            var spec = await objects.GetObjectSchemaAsync(info.ObjectId);
            var hash = await ObjectHasher.ComputeAsync(engine, ObjectEngine.MetaSchema, info.ObjectId, spec, CancellationToken.None);
            Assert.Equal(info.ObjectId, hash.ObjectId);
            Assert.Equal(info.RowCount, hash.RowCount);
        }
    }

    private async Task DeleteEverywhereAsync(IReadOnlyList<string> ids)
    {
        foreach (var db in new[] { Local, Remote })
        {
            await using var engine = db.Engine();
            await new ObjectEngine(engine).DeleteObjectsAsync(ids);
            await engine.CommitAsync();
        }
    }
}
