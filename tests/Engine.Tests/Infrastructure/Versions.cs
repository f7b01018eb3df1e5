using Engine.Api.Engine.Versions;

namespace Engine.Tests.Infrastructure;

/// <summary>Repository operations for tests, each in its own engine transaction as the API runs them.</summary>
public static class Versions
{
    public static Task<RepositoryInfo> InitAsync(TestDatabase db, string schema, string? message = null) =>
        InTransactionAsync(db, e => new RepositoryEngine(e).InitAsync(new InitRepositoryRequest(schema, Message: message), default), repeatableRead: true);

    public static Task<CommitImageResult> CommitAsync(TestDatabase db, string schema, string? message = null, bool snapshot = false) =>
        InTransactionAsync(db, e => new RepositoryEngine(e).CommitAsync(schema, new CommitImageRequest(message, "tests", snapshot), default), repeatableRead: true);

    public static Task<CheckoutResult> CheckoutAsync(TestDatabase db, string schema, string image, bool force = false) =>
        InTransactionAsync(db, e => new Checkout(e).RunAsync(schema, image, force, default));

    public static Task<RepositoryStatus> StatusAsync(TestDatabase db, string schema) =>
        InTransactionAsync(db, e => new RepositoryEngine(e).StatusAsync(schema, default));

    public static Task<VersionDiff> DiffAsync(TestDatabase db, string schema, string from, string? to) =>
        InTransactionAsync(db, e => new VersionDiffer(e).DiffAsync(schema, from, to, default));

    /// <summary>Every row change of one table between two versions, read page by page.</summary>
    public static async Task<List<ChangeEntry>> DiffRowsAsync(TestDatabase db, string schema, string table, string from, string? to, int pageSize = 7)
    {
        var entries = new List<ChangeEntry>();
        long after = 0;
        while (true)
        {
            var page = await InTransactionAsync(db, e => new VersionDiffer(e).RowsAsync(schema, table, from, to, after, pageSize, default));
            entries.AddRange(page.Entries);
            if (page.NextAfter is not { } next)
            {
                return entries;
            }

            after = next;
        }
    }

    public static async Task<IReadOnlyList<TableRow>> TablesAsync(TestDatabase db, string schema, string image) =>
        await InTransactionAsync(db, async e => (IReadOnlyList<TableRow>)await new VersionCatalog(e).TablesAsync(schema, await new VersionCatalog(e).ResolveAsync(schema, image, default), default));

    public static Task<long> ImageCountAsync(TestDatabase db, string schema) =>
        db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.images WHERE repository = $1", schema);

    public static async Task<T> InTransactionAsync<T>(TestDatabase db, Func<SqlEngine, Task<T>> action, bool repeatableRead = false)
    {
        await using var engine = db.Engine();
        if (repeatableRead)
        {
            engine.IsolationLevel = TableCommitter.Isolation;
        }

        var result = await action(engine);
        await engine.CommitAsync();
        return result;
    }
}
