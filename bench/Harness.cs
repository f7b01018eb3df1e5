using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Npgsql;
using Postgres.Testing;

namespace Bench;

/// <summary>The two throw-away servers ("local" and "remote"), their initialised engines and SQL helpers.</summary>
public sealed class Harness : IAsyncDisposable
{
    public const string Database = "bench";

    // Owned here, disposed with the harness.
    private readonly NpgsqlDataSource _localSource;
    private readonly NpgsqlDataSource _remoteSource;

    private Harness(ThrowawayPostgres localServer, ThrowawayPostgres remoteServer)
    {
        LocalServer = localServer;
        RemoteServer = remoteServer;
        _localSource = NpgsqlDataSource.Create(localServer.ConnectionString(Database));
        _remoteSource = NpgsqlDataSource.Create(remoteServer.ConnectionString(Database));
        Local = Endpoint("local", localServer, _localSource);
        Remote = Endpoint("remote", remoteServer, _remoteSource);
    }

    public ThrowawayPostgres LocalServer { get; }

    public ThrowawayPostgres RemoteServer { get; }

    public EngineEndpoint Local { get; }

    public EngineEndpoint Remote { get; }

    public static async Task<Harness> StartAsync(Options options)
    {
        var watch = Stopwatch.StartNew();
        var servers = await Task.WhenAll(StartServerAsync("local", options.PgBin), StartServerAsync("remote", options.PgBin));
        var harness = new Harness(servers[0], servers[1]);
        foreach (var endpoint in new[] { harness.Local, harness.Remote })
        {
            await using (var engine = new SqlEngine(endpoint))
            {
                await engine.InitializeAsync();
            }

            await ExecAsync(endpoint, "CREATE SCHEMA IF NOT EXISTS bench");
        }

        Log.Info($"servers up and engines initialised in {watch.Elapsed.TotalSeconds:0.0} s (local :{servers[0].Port}, remote :{servers[1].Port})");
        return harness;
    }

    /// <summary>A server with durable defaults (fsync on), so measurements reflect a real deployment; no command timeout for long loads.</summary>
    private static Task<ThrowawayPostgres> StartServerAsync(string name, string? pgBin) => ThrowawayPostgres.StartAsync(new ThrowawayPostgresOptions
    {
        FolderPrefix = "sg-bench-",
        Name = name,
        BinDirectory = pgBin,
        ConfigureConnection = builder =>
        {
            builder.MaxPoolSize = 50;
            builder.CommandTimeout = 0;
            builder.Timeout = 30;
        },
    });

    private static EngineEndpoint Endpoint(string name, ThrowawayPostgres server, NpgsqlDataSource dataSource) =>
        new(name, dataSource, server.ConnectionString(Database), "127.0.0.1", server.Port);

    /// <summary>Runs statements outside any explicit transaction (VACUUM, CHECKPOINT need that).</summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "Bench helper: runs the bench's own fixed statements (bench.* tables, IDs of objects the bench created); no outside input reaches it.")]
    public static async Task ExecAsync(EngineEndpoint endpoint, string sql)
    {
        await using var connection = await endpoint.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "Bench helper: runs the bench's own fixed statements (bench.* tables, IDs of objects the bench created); no outside input reaches it.")]
    public static async Task<T> ScalarAsync<T>(EngineEndpoint endpoint, string sql)
    {
        await using var connection = await endpoint.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "Bench helper: runs the bench's own fixed statements (bench.* tables, IDs of objects the bench created); no outside input reaches it.")]
    public static async Task<List<string>> LinesAsync(EngineEndpoint endpoint, string sql)
    {
        await using var connection = await endpoint.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetValue(0)?.ToString() ?? string.Empty);
        }

        return lines;
    }

    /// <summary>Settles both servers before a timed run: flush dirty buffers so a checkpoint does not land inside it.</summary>
    public async Task QuiesceAsync()
    {
        await ExecAsync(Local, "CHECKPOINT");
        await ExecAsync(Remote, "CHECKPOINT");
    }

    public async Task<string> DescribeAsync()
    {
        var settings = await LinesAsync(Local,
            "SELECT name || '=' || current_setting(name) FROM pg_settings " +
            "WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_wal_size', 'wal_level') ORDER BY name");
        var version = await ScalarAsync<string>(Local, "SHOW server_version");
        return $"PostgreSQL {version.Split(' ')[0]} ×2 ({string.Join(", ", settings)})";
    }

    public async ValueTask DisposeAsync()
    {
        await _localSource.DisposeAsync();
        await _remoteSource.DisposeAsync();
        await LocalServer.DisposeAsync();
        await RemoteServer.DisposeAsync();
    }

    /// <summary>Wall-clock seconds of one operation.</summary>
    public static async Task<double> TimeAsync(Func<Task> operation)
    {
        var watch = Stopwatch.StartNew();
        await operation();
        return watch.Elapsed.TotalSeconds;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The binary COPY pipe between two servers, as ObjectTransfers' upload does it, with nothing around it.</summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = "Bench helper: runs the bench's own fixed statements (bench.* tables, IDs of objects the bench created); no outside input reaches it.")]
    public static async Task RawPipeAsync(EngineEndpoint from, string fromTable, EngineEndpoint to, string createTarget, string toTable)
    {
        await using var source = await from.DataSource.OpenConnectionAsync();
        await using var target = await to.DataSource.OpenConnectionAsync();
        await using var transaction = await target.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand(createTarget, target, transaction))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using (var reader = await source.BeginRawBinaryCopyAsync($"COPY {fromTable} TO STDOUT (FORMAT BINARY)"))
        await using (var writer = await target.BeginRawBinaryCopyAsync($"COPY {toTable} FROM STDIN (FORMAT BINARY)"))
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await reader.ReadAsync(buffer, CancellationToken.None)) > 0)
            {
                await writer.WriteAsync(buffer.AsMemory(0, read));
            }
        }

        await transaction.CommitAsync();
    }
}
