namespace Engine.Api.Engine;

/// <summary>What <c>GET /api/engines</c> and <c>GET /api/capabilities</c> report of one engine.</summary>
public static class EngineOverview
{
    /// <param name="Initialized">Whether the engine's schemas (audit counters, object catalogue) exist.</param>
    public sealed record Basics(string ServerVersion, string Database, bool Initialized);

    /// <param name="PendingChanges">Raw logged inserts and deletes plus updates, as the counters and log hold them.</param>
    public sealed record Counts(int TrackedTables, long PendingChanges, int ObjectCount, long ObjectBytes);

    public static async Task<Basics> ReadBasicsAsync(SqlEngine engine, CancellationToken cancellationToken) =>
        (await engine.QueryFirstOrDefaultAsync(
            """
            SELECT current_setting('server_version'), current_database(),
                   to_regclass('splitgraph_audit.pending_counts') IS NOT NULL AND to_regclass('splitgraph_meta.objects') IS NOT NULL
            """, null, r => new Basics(r.GetString(0), r.GetString(1), r.GetBoolean(2)), cancellationToken))!;

    /// <summary>The server's version (<c>server_version</c>), for clients that show only what the engines support.</summary>
    public static Task<string?> ReadServerVersionAsync(SqlEngine engine, CancellationToken cancellationToken) =>
        engine.ScalarAsync<string?>("SELECT current_setting('server_version')", null, cancellationToken);

    /// <summary>Only on an initialised engine (see <see cref="Basics.Initialized"/>).</summary>
    public static async Task<Counts> ReadCountsAsync(SqlEngine engine, CancellationToken cancellationToken) =>
        (await engine.QueryFirstOrDefaultAsync(
            $"""
            SELECT (SELECT pg_catalog.count(DISTINCT tgrelid) FROM pg_trigger WHERE tgname = '{ChangeEngine.RowTrigger}' AND tgparentid = 0)::int,
                   (SELECT coalesce(sum(inserted + deleted), 0)::bigint FROM splitgraph_audit.pending_counts)
                     + (SELECT count(*) FROM splitgraph_audit.logged_actions WHERE action = 'U'),
                   (SELECT count(*) FROM splitgraph_meta.objects)::int,
                   (SELECT coalesce(sum(size_bytes), 0)::bigint FROM splitgraph_meta.objects)
            """, null, r => new Counts(r.GetInt32(0), r.GetInt64(1), r.GetInt32(2), r.GetInt64(3)), cancellationToken))!;
}
