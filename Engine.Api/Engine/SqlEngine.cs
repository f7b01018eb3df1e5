using System.Data;
using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using Npgsql;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Splitgraph's <c>PsycopgEngine</c>: one connection with one open transaction, opened on first use and ended by
/// <see cref="CommitAsync"/>, <see cref="RollbackAsync"/> or <see cref="CloseAsync"/>. An error rolls the
/// transaction back, as psycopg's engine does. Not thread-safe: one per request.
/// </summary>
public sealed class SqlEngine(EngineEndpoint endpoint) : IAsyncDisposable
{
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;

    public string Name => endpoint.Name;

    public EngineEndpoint Endpoint => endpoint;

    /// <summary>The open transaction, for batches built outside this class.</summary>
    internal NpgsqlTransaction? CurrentTransaction => _transaction;

    /// <summary>Isolation of the next transaction (commit uses repeatable read: log and table from one snapshot).</summary>
    public IsolationLevel IsolationLevel { get; set; } = IsolationLevel.ReadCommitted;

    /// <summary>The engine's connection inside its open transaction.</summary>
    public async Task<NpgsqlConnection> ConnectionAsync(CancellationToken cancellationToken = default)
    {
        if (_transaction is not null && _connection is not null)
        {
            return _connection;
        }

        try
        {
            _connection ??= await endpoint.DataSource.OpenConnectionAsync(cancellationToken);
            _transaction = await _connection.BeginTransactionAsync(IsolationLevel, cancellationToken);
            return _connection;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            await DropConnectionAsync();
            throw new EngineUnavailableException(Name, ex);
        }
        catch (PostgresException ex) when (_connection is null && EngineAccess.Describe(endpoint, ex, EngineAccess.Stage.EngineDatabase) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>
    /// Longest one statement may run: null keeps the data source's (<c>Limits:CommandTimeout</c>); zero means no limit
    /// (transfers, which the caller's cancellation bounds by their progress instead).
    /// </summary>
    public TimeSpan? CommandTimeout { get; init; }

    /// <summary>A command on the engine's connection and transaction, with positional parameters ($1, $2, …).</summary>
    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "The engine's own statement text: values travel as parameters, identifiers are validated and quoted (Identifiers.Quote); nothing from a request is spliced in (README, SQL safety).")]
    public async Task<NpgsqlCommand> CommandAsync(string sql, IEnumerable<object?>? arguments = null, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectionAsync(cancellationToken);
        var command = new NpgsqlCommand(sql, connection, _transaction);
        if (CommandTimeout is { } timeout)
        {
            command.CommandTimeout = (int)Math.Ceiling(timeout.TotalSeconds);
        }

        foreach (var argument in arguments ?? [])
        {
            command.Parameters.Add(argument as NpgsqlParameter ?? new NpgsqlParameter { Value = argument ?? DBNull.Value });
        }

        return command;
    }

    /// <summary>
    /// Runs one statement with parameters and returns its result in <paramref name="shape"/>: the seed-compatible,
    /// shape-returning method (Splitgraph's run_sql). The engine's own code uses the typed <see cref="QueryAsync{T}"/>,
    /// <see cref="ScalarAsync{T}"/> and <see cref="ExecuteAsync"/>.
    /// </summary>
    public Task<object?> RunSqlAsync(string statement, IReadOnlyList<object?>? arguments = null, ResultShape shape = ResultShape.ManyMany, CancellationToken cancellationToken = default) =>
        GuardAsync(async () =>
        {
            await using var command = await CommandAsync(statement, arguments, cancellationToken);
            if (shape == ResultShape.None)
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
                return null;
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<object?[]>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
#pragma warning disable CA1849 // The reader is not in sequential mode: its current row is buffered, so these calls do no I/O.
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
#pragma warning restore CA1849
                }

                rows.Add(row);
                if (shape is ResultShape.OneOne or ResultShape.OneMany)
                {
                    break;
                }
            }

            return shape switch
            {
                ResultShape.OneOne => rows.Count == 0 || rows[0].Length == 0 ? null : rows[0][0],
                ResultShape.OneMany => rows.Count == 0 ? null : rows[0],
                ResultShape.ManyOne => rows.Select(r => r.Length == 0 ? null : r[0]).ToList(),
                _ => (object)rows,
            };
        });

    /// <summary>
    /// Every row of a query, each made by <paramref name="map"/> (a small hand-written mapper reading typed columns, e.g.
    /// <c>r =&gt; new Row(r.GetString(0), r.GetInt64(1))</c>): a type mismatch names the column, not a cast far away.
    /// </summary>
    public Task<List<T>> QueryAsync<T>(string sql, IReadOnlyList<object?>? arguments, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken = default) =>
        GuardAsync(async () =>
        {
            await using var command = await CommandAsync(sql, arguments, cancellationToken);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(map(reader));
            }

            return rows;
        });

    /// <summary>The first row made by <paramref name="map"/>, or null when there is none.</summary>
    public Task<T?> QueryFirstOrDefaultAsync<T>(string sql, IReadOnlyList<object?>? arguments, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken = default)
        where T : class =>
        GuardAsync(async () =>
        {
            await using var command = await CommandAsync(sql, arguments, cancellationToken);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? map(reader) : null;
        });

    /// <summary>
    /// The first column of the first row as <typeparamref name="T"/>; null (default) when there is no row or it is
    /// NULL, which a non-nullable value type refuses (ask for <c>long?</c> where NULL may come).
    /// </summary>
    public Task<T> ScalarAsync<T>(string sql, IReadOnlyList<object?>? arguments = null, CancellationToken cancellationToken = default) =>
        GuardAsync(async () =>
        {
            await using var command = await CommandAsync(sql, arguments, cancellationToken);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken) && !await reader.IsDBNullAsync(0, cancellationToken))
            {
                return await reader.GetFieldValueAsync<T>(0, cancellationToken);
            }

            return default(T) is null
                ? default!
                : throw new InvalidOperationException($"Expected a {typeof(T).Name} but the query returned no value: {sql}");
        });

    /// <summary>Runs a statement for its effect; returns the rows it affected.</summary>
    public Task<int> ExecuteAsync(string sql, IReadOnlyList<object?>? arguments = null, CancellationToken cancellationToken = default) =>
        GuardAsync(async () =>
        {
            await using var command = await CommandAsync(sql, arguments, cancellationToken);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        });

    /// <summary>Runs <paramref name="statement"/> once per argument set, batched into few round trips (seed API; the engine does not call it).</summary>
    /// <param name="schema">Optional schema to put first on the search path for the batch.</param>
    public Task RunSqlBatchAsync(string statement, IReadOnlyList<IReadOnlyList<object?>> arguments, string? schema = null, CancellationToken cancellationToken = default) =>
        GuardAsync<object?>(async () =>
        {
            if (arguments.Count == 0)
            {
                return null;
            }

            var connection = await ConnectionAsync(cancellationToken);
            if (schema is not null)
            {
                await using var setPath = new NpgsqlCommand("SELECT set_config('search_path', $1, true)", connection, _transaction);
                setPath.Parameters.Add(new NpgsqlParameter { Value = Identifiers.Quote(schema) + ", public" });
                await setPath.ExecuteNonQueryAsync(cancellationToken);
            }

            const int batchSize = 1000;
            foreach (var chunk in arguments.Chunk(batchSize))
            {
                await using var batch = new NpgsqlBatch(connection, _transaction);
                foreach (var argumentSet in chunk)
                {
                    var batchCommand = new NpgsqlBatchCommand(statement);
                    foreach (var argument in argumentSet)
                    {
                        batchCommand.Parameters.Add(new NpgsqlParameter { Value = argument ?? DBNull.Value });
                    }

                    batch.BatchCommands.Add(batchCommand);
                }

                await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            return null;
        });

    /// <summary>Commits the open transaction, if any; the next call opens a new one.</summary>
    /// <returns>Whether a transaction was committed (false: none was open, nothing happened).</returns>
    public async Task<bool> CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_transaction is null)
        {
            return false;
        }

        try
        {
            await _transaction.CommitAsync(cancellationToken);
            return true;
        }
        finally
        {
            await _transaction.DisposeAsync();
            _transaction = null;
        }
    }

    /// <summary>Rolls the open transaction back, if any.</summary>
    public async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        if (_transaction is null)
        {
            return;
        }

        try
        {
            if (_connection is { State: ConnectionState.Open })
            {
                await _transaction.RollbackAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            // The connection is gone, and the server rolled the transaction back with it.
        }
        finally
        {
            await _transaction.DisposeAsync();
            _transaction = null;
        }
    }

    /// <summary>Commits and returns the connection to the pool.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        await CommitAsync(cancellationToken);
        await DropConnectionAsync();
    }

    /// <summary>Primary-key columns in key definition order, with their types including typmods.</summary>
    public async Task<IReadOnlyList<PrimaryKeyColumn>> GetPrimaryKeysAsync(string schema, string table, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_index i
            CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indisprimary AND i.indrelid = (
                SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relname = $2)
            ORDER BY k.position
            """, [schema, table], r => new PrimaryKeyColumn(r.GetString(0), r.GetString(1)), cancellationToken);

    /// <summary>Takes an exclusive lock on the table until the transaction ends (seed API; the engine does not call it).</summary>
    public Task LockTableAsync(string schema, string table, CancellationToken cancellationToken = default) =>
        ExecuteAsync($"LOCK TABLE {Identifiers.Qualify(schema, table)} IN EXCLUSIVE MODE", null, cancellationToken);

    /// <summary>
    /// Writes a user table's rows as SQL that recreates them (see <see cref="TableDumper"/>); system and engine
    /// schemas are refused (<see cref="UserTables"/>).
    /// </summary>
    public Task DumpTableSqlAsync(string schema, string table, TextWriter output, IReadOnlyList<string>? columns = null,
        IReadOnlyList<RowFilter>? filter = null, string? targetSchema = null, string? targetTable = null, CancellationToken cancellationToken = default) =>
        DumpAnyTableSqlAsync(UserTables.RequireUserSchema(Identifiers.Validate(schema, "schema name")), table, output, columns, filter, targetSchema, targetTable, cancellationToken);

    /// <summary>As <see cref="DumpTableSqlAsync"/> for any table, the engine's own included (object dumps).</summary>
    internal async Task DumpAnyTableSqlAsync(string schema, string table, TextWriter output, IReadOnlyList<string>? columns = null,
        IReadOnlyList<RowFilter>? filter = null, string? targetSchema = null, string? targetTable = null, CancellationToken cancellationToken = default)
    {
        var tableColumns = await TableCatalog.GetColumnsAsync(this, schema, table, cancellationToken)
            ?? throw new TableNotFoundException(schema, table);
        await GuardAsync<object?>(async () =>
        {
            await TableDumper.DumpAsync(this, schema, table, tableColumns, output, columns, filter, targetSchema ?? schema, targetTable ?? table, cancellationToken);
            return null;
        });
    }

    /// <summary>
    /// Creates the engine's database if missing, then installs — idempotently — the audit schema, log and trigger
    /// functions (with the endpoint's <see cref="EngineEndpoint.BulkLogging"/> thresholds), the object schema and
    /// catalogue, and postgres_fdw. Commits.
    /// </summary>
    /// <remarks>
    /// Concurrent initialisations (several APIs, concurrent requests) take turns on the script's advisory lock; in the
    /// same transaction, what a crash can leave behind is repaired (<see cref="CrashRepair"/>).
    /// </remarks>
    /// <returns>What was repaired, one line each (empty when nothing was left behind).</returns>
    public async Task<IReadOnlyList<string>> InitializeAsync(CancellationToken cancellationToken = default)
    {
        await EnsureDatabaseAsync(cancellationToken);
        await ExecuteAsync(EmbeddedSql.Initialize, null, cancellationToken);
        // After the script, which has just rewritten log_inserts: sessions replan it with these thresholds.
        var bulk = endpoint.BulkLogging;
        await ExecuteAsync("SELECT splitgraph_audit.configure_bulk_logging($1, $2, $3)", [bulk.PerRowRows, bulk.EntryKeys, bulk.AggregateRows], cancellationToken);
        var repaired = await CrashRepair.RepairAsync(this, cancellationToken);
        await CommitAsync(cancellationToken);
        return repaired;
    }

    /// <summary>Drops a database through the maintenance connection (the engine's own connection must not be in it). Seed API; the engine does not call it.</summary>
    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "The engine's own statement text: values travel as parameters, identifiers are validated and quoted (Identifiers.Quote); nothing from a request is spliced in (README, SQL safety).")]
    public async Task DeleteDatabaseAsync(string database, CancellationToken cancellationToken = default)
    {
        Identifiers.Validate(database, "database name");
        await using var admin = new NpgsqlConnection(endpoint.AdminConnectionString);
        await admin.OpenAsync(cancellationToken);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Identifiers.Quote(database)} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Opens a connection from parts (the Aspire-provided connection string is the normal path). Seed API; the engine does not call it.</summary>
    public static async Task<NpgsqlConnection> MakeConnAsync(string server, int port, string username, string password, string database, CancellationToken cancellationToken = default)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = server,
            Port = port,
            Username = username,
            Password = password,
            Database = database,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await RollbackAsync();
        await DropConnectionAsync();
    }

    /// <summary>Runs <paramref name="action"/>, rolling back and translating errors into <see cref="EngineException"/>s.</summary>
    internal async Task<T> GuardAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is not EngineException and not OperationCanceledException)
        {
            await RollbackAsync();
            throw Translate(ex);
        }
        catch (OperationCanceledException)
        {
            await RollbackAsync();
            throw;
        }
    }

    /// <summary>Raised by <c>splitgraph_audit.bulk_keys</c> (initialize.sql) for bulk entries logged under another key.</summary>
    private const string BulkKeyChangedState = "SGK01";

    private Exception Translate(Exception ex)
    {
        if (IsUnavailable(ex))
        {
            return new EngineUnavailableException(Name, ex);
        }

        if (ex is PostgresException pg)
        {
            // Missing audit/object schema or functions: the engine was never initialised.
            if (pg.SqlState is PostgresErrorCodes.InvalidSchemaName or PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedFunction
                && pg.MessageText.Contains("splitgraph_", StringComparison.Ordinal))
            {
                return new EngineNotInitializedException(Name, pg);
            }

            if (pg.SqlState is PostgresErrorCodes.InvalidCatalogName)
            {
                return new EngineNotInitializedException(Name, pg);
            }

            if (pg.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected)
            {
                return new ConcurrentChangeException(Name, pg);
            }

            if (pg.SqlState is PostgresErrorCodes.LockNotAvailable)
            {
                return new ConflictException("Concurrent change", $"Engine '{Name}': {pg.MessageText}. Retry the request.");
            }

            if (pg.SqlState == BulkKeyChangedState)
            {
                return new ConflictException("Primary key changed", $"Engine '{Name}': {pg.MessageText}.");
            }

            return new SqlRejectedException($"Engine '{Name}' rejected the statement: {pg.MessageText}", pg);
        }

        return ex;
    }

    internal static bool IsUnavailable(Exception ex) =>
        ex is NpgsqlException { InnerException: SocketException or IOException or TimeoutException } or SocketException
        || (ex is NpgsqlException npg and not PostgresException && npg.IsTransient)
        || ex is PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.CrashShutdown };

    /// <summary>
    /// Creates the engine's database when it is missing. An existing database needs no maintenance-database access;
    /// creators serialise on an advisory lock in the maintenance database, and a database another one created
    /// meanwhile (42P04, or the catalogue's unique index) counts as created.
    /// </summary>
    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "The engine's own statement text: values travel as parameters, identifiers are validated and quoted (Identifiers.Quote); nothing from a request is spliced in (README, SQL safety).")]
    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        if (await DatabaseReachableAsync(cancellationToken))
        {
            return;
        }

        var stage = EngineAccess.Stage.MaintenanceDatabase;
        try
        {
            await using var admin = new NpgsqlConnection(endpoint.AdminConnectionString);
            await admin.OpenAsync(cancellationToken);
            // Session lock: released when the (unpooled) maintenance connection closes.
            await using var locked = new NpgsqlCommand("SELECT pg_catalog.pg_advisory_lock(pg_catalog.hashtext('splitgraph-create-database:' || $1))", admin);
            locked.Parameters.Add(new NpgsqlParameter { Value = endpoint.Database });
            await locked.ExecuteNonQueryAsync(cancellationToken);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", admin);
            exists.Parameters.Add(new NpgsqlParameter { Value = endpoint.Database });
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return;
            }

            stage = EngineAccess.Stage.CreateDatabase;
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Identifiers.Quote(endpoint.Database)}", admin);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another initialisation created it first.
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new EngineUnavailableException(Name, ex);
        }
        catch (PostgresException ex) when (EngineAccess.Describe(endpoint, ex, stage) is { } refused)
        {
            throw refused;
        }
        catch (PostgresException ex)
        {
            throw new EngineAccessException(Name, $"creating database '{endpoint.Database}' failed: {ex.MessageText}", ex);
        }
    }

    /// <summary>
    /// True when the engine's database accepts a new connection (not a pooled one, which may predate a drop); false
    /// only when it does not exist — then the pool's connections to the old database are dropped too.
    /// </summary>
    private async Task<bool> DatabaseReachableAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(endpoint.ConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            endpoint.DataSource.Clear();
            return false;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new EngineUnavailableException(Name, ex);
        }
        catch (PostgresException ex) when (EngineAccess.Describe(endpoint, ex, EngineAccess.Stage.EngineDatabase) is { } refused)
        {
            throw refused;
        }
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }
}
