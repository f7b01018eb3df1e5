using System.Diagnostics.CodeAnalysis;
using Npgsql;

namespace Engine.Tests.Infrastructure;

/// <summary>A fresh database on the shared server, reachable as an engine (and directly, for arranging and checking).</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private TestDatabase(ThrowawayPostgres server, string name, bool initialized, BulkLogging? bulkLogging)
    {
        Server = server;
        Name = name;
        Initialized = initialized;
        // Million-row statements share two cores with the other test classes in CI: allow them more than Npgsql's 30 s.
        var connectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString(name)) { CommandTimeout = 180 }.ConnectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
        Endpoint = new EngineEndpoint(name.Replace('_', '-'), DataSource, connectionString, "127.0.0.1", server.Port)
        {
            BulkLogging = bulkLogging ?? BulkLogging.Default,
        };
    }

    public ThrowawayPostgres Server { get; }

    public string Name { get; }

    public bool Initialized { get; }

    public NpgsqlDataSource DataSource { get; }

    public EngineEndpoint Endpoint { get; }

    /// <summary>
    /// Creates the database (engine name = database name) and, unless told not to, initialises it (with
    /// <paramref name="bulkLogging"/>'s thresholds, the API's defaults unless given).
    /// </summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public static async Task<TestDatabase> CreateAsync(string prefix, bool initialize = true, BulkLogging? bulkLogging = null)
    {
        var server = await SharedServer.InstanceAsync();
        var name = $"{prefix}_{Guid.NewGuid().ToString("N")[..10]}";
        await using (var admin = new NpgsqlConnection(server.ConnectionString("postgres") + ";Pooling=false"))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        var database = new TestDatabase(server, name, initialize, bulkLogging);
        if (initialize)
        {
            await using var engine = database.Engine();
            await engine.InitializeAsync();
        }

        return database;
    }

    /// <summary>A new engine session (one connection, one transaction, opened on first use).</summary>
    public SqlEngine Engine() => new(Endpoint);

    /// <summary>Runs <paramref name="read"/> on a <see cref="ChangeEngine"/> in a transaction of its own, then commits it.</summary>
    public async Task<T> WithChangesAsync<T>(Func<ChangeEngine, Task<T>> read)
    {
        await using var engine = Engine();
        var result = await read(new ChangeEngine(engine));
        await engine.CommitAsync();
        return result;
    }

    /// <summary>Runs SQL outside any engine session (autocommit), optionally with positional parameters.</summary>
    public async Task ExecAsync(string sql, params object?[] arguments)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument ?? DBNull.Value });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object?[] arguments)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument ?? DBNull.Value });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Every row of a relation as its row text, sorted (duplicates kept): a comparable picture of its content.</summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.Helper)]
    public async Task<List<string>> RowsAsync(string qualifiedTable, string columns = "ROW(t.*)")
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await using (var settings = new NpgsqlCommand("SET TimeZone = 'UTC'; SET extra_float_digits = 1; SET DateStyle = 'ISO, YMD'", connection))
        {
            await settings.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand($"SELECT ({columns})::text FROM {qualifiedTable} t ORDER BY 1", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    /// <summary>A new empty schema for one test (tests of a class share the database).</summary>
    public async Task<string> NewSchemaAsync(string prefix = "s")
    {
        var schema = $"{prefix}_{Guid.NewGuid().ToString("N")[..8]}";
        await ExecAsync($"CREATE SCHEMA \"{schema}\"");
        return schema;
    }

    /// <summary>Spec §5 fixture: <c>fruits(fruit_id int, name varchar)</c> with apple and orange, with or without a key.</summary>
    public async Task<string> FruitsAsync(bool primaryKey, bool track = true)
    {
        var schema = await NewSchemaAsync("test");
        await ExecAsync(
            $"CREATE TABLE \"{schema}\".fruits (fruit_id int{(primaryKey ? " PRIMARY KEY" : string.Empty)}, name varchar);" +
            $"INSERT INTO \"{schema}\".fruits VALUES (1, 'apple'), (2, 'orange')");
        if (track)
        {
            await using var engine = Engine();
            await new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, "fruits")]);
            await engine.CommitAsync();
        }

        return schema;
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        try
        {
            await using var engine = new SqlEngine(Endpoint);
            await engine.DeleteDatabaseAsync(Name);
        }
        catch (Exception ex) when (ex is NpgsqlException or EngineException)
        {
            // The server goes away with the test run anyway.
        }
    }
}

/// <summary>One initialised database per test class.</summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    private TestDatabase? _database;

    public TestDatabase Db => _database ?? throw new InvalidOperationException("Fixture not initialised.");

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync("engine");

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>Two initialised databases on the server ("local" and "remote"), for transfers and cross-engine checks.</summary>
public sealed class TwoDatabasesFixture : IAsyncLifetime
{
    private TestDatabase? _local;
    private TestDatabase? _remote;

    public TestDatabase Local => _local ?? throw new InvalidOperationException("Fixture not initialised.");

    public TestDatabase Remote => _remote ?? throw new InvalidOperationException("Fixture not initialised.");

    public async Task InitializeAsync()
    {
        _local = await TestDatabase.CreateAsync("local");
        _remote = await TestDatabase.CreateAsync("remote");
    }

    public async Task DisposeAsync()
    {
        if (_local is not null)
        {
            await _local.DisposeAsync();
        }

        if (_remote is not null)
        {
            await _remote.DisposeAsync();
        }
    }
}
