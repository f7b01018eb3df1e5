using Npgsql;

namespace Postgres.Testing;

/// <summary>What differs between users of <see cref="ThrowawayPostgres"/> (the engine tests want speed, the bench wants realism).</summary>
public sealed record ThrowawayPostgresOptions
{
    /// <summary>
    /// Start of the server's folder name under the temp folder (e.g. <c>sg-bench-</c>). Dead runs are swept only under
    /// this prefix, so one user never deletes another's folders.
    /// </summary>
    public required string FolderPrefix { get; init; }

    /// <summary>Optional server name (e.g. <c>local</c>), part of the folder name so concurrent servers are told apart.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Fast, non-durable settings (fsync, synchronous_commit and full_page_writes off): fine for tests, whose data is
    /// thrown away; false keeps PostgreSQL's durable defaults so measurements reflect a real server.
    /// </summary>
    public bool Fast { get; init; }

    /// <summary>Extra server settings, each <c>name=value</c>, passed as <c>-c</c> after the built-in ones.</summary>
    public IReadOnlyList<string> Settings { get; init; } = [];

    /// <summary>Folder holding initdb and postgres; null searches as <see cref="Postgres.Launcher.PostgresBinaries.Find"/> does.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>A fixed port (to bring a server back where clients expect it); null picks a free one.</summary>
    public int? Port { get; init; }

    /// <summary>A fixed superuser password (with <see cref="Port"/>, to stand in for an earlier server); null generates one.</summary>
    public string? Password { get; init; }

    /// <summary>Adjusts the connection strings handed out (pool size, timeouts) to the user's workload.</summary>
    public Action<NpgsqlConnectionStringBuilder>? ConfigureConnection { get; init; }
}
