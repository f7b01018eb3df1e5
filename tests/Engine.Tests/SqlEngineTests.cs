using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>Splitgraph's <c>PsycopgEngine</c>: RunSql, RunSqlBatch, transaction control, keys, locks, initialise, databases.</summary>
public sealed class SqlEngineTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    [Fact]
    public async Task Typed_access_maps_rows_reads_scalars_and_names_a_missing_value()
    {
        await using var engine = Db.Engine();
        const string sql = "SELECT v, v * 10, CASE WHEN v > 1 THEN 'x' || v END FROM generate_series(1, $1) v";

        var rows = await engine.QueryAsync(sql, [3], r => (r.GetInt32(0), r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2)));
        Assert.Equal([(1, 10, null), (2, 20, "x2"), (3, 30, "x3")], rows);
        Assert.Equal((2, 20, "x2"), await engine.QueryFirstOrDefaultAsync("SELECT 2, 20, 'x2'", null, r => Tuple.Create(r.GetInt32(0), r.GetInt32(1), r.GetString(2))) is { } t ? (t.Item1, t.Item2, t.Item3) : default);
        Assert.Null(await engine.QueryFirstOrDefaultAsync(sql, [0], r => r.GetString(2)));

        Assert.Equal(6L, await engine.ScalarAsync<long>("SELECT sum(v) FROM generate_series(1, $1) v", [3]));
        Assert.Null(await engine.ScalarAsync<long?>("SELECT NULL::bigint"));
        Assert.Null(await engine.ScalarAsync<string?>("SELECT 'x' WHERE false"));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => engine.ScalarAsync<long>("SELECT NULL::bigint"));
        Assert.Contains("Int64", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidCastException>(() => engine.ScalarAsync<int>("SELECT 'text'"));

        var schema = await Db.NewSchemaAsync();
        Assert.Equal(3, await engine.ExecuteAsync($"CREATE TABLE {schema}.t AS SELECT generate_series(1, 3) v; UPDATE {schema}.t SET v = v + 1"));
    }

    [Fact]
    public async Task RunSql_returns_each_result_shape()
    {
        await using var engine = Db.Engine();
        const string sql = "SELECT v, v * 10 FROM generate_series(1, $1) v";

        Assert.Null(await engine.RunSqlAsync(sql, [3], ResultShape.None));
        Assert.Equal(1, await engine.RunSqlAsync(sql, [3], ResultShape.OneOne));
        Assert.Equal(new object?[] { 1, 10 }, (object?[])(await engine.RunSqlAsync(sql, [3], ResultShape.OneMany))!);
        Assert.Equal(new object?[] { 1, 2, 3 }, (List<object?>)(await engine.RunSqlAsync(sql, [3], ResultShape.ManyOne))!);
        var all = (List<object?[]>)(await engine.RunSqlAsync(sql, [3], ResultShape.ManyMany))!;
        Assert.Equal([[1, 10], [2, 20], [3, 30]], all);

        // No rows: null for the single shapes, empty lists for the many shapes.
        Assert.Null(await engine.RunSqlAsync(sql, [0], ResultShape.OneOne));
        Assert.Null(await engine.RunSqlAsync(sql, [0], ResultShape.OneMany));
        Assert.Empty((List<object?>)(await engine.RunSqlAsync(sql, [0], ResultShape.ManyOne))!);
        Assert.Empty((List<object?[]>)(await engine.RunSqlAsync(sql, [0], ResultShape.ManyMany))!);

        // NULL arguments and values.
        Assert.Null(await engine.RunSqlAsync("SELECT $1::text", [null], ResultShape.OneOne));
    }

    [Fact]
    public async Task RunSql_error_rolls_back_the_transaction_and_throws_a_typed_exception()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY)");
        await using var engine = Db.Engine();
        await engine.RunSqlAsync($"INSERT INTO {schema}.t VALUES (1)", null, ResultShape.None);

        var error = await Assert.ThrowsAsync<SqlRejectedException>(() => engine.RunSqlAsync($"INSERT INTO {schema}.t VALUES (1)", null, ResultShape.None));
        Assert.Equal(400, error.StatusCode);
        Assert.IsType<PostgresException>(error.InnerException);

        // The first insert went with the rollback; the engine works again in a new transaction.
        await engine.CommitAsync();
        Assert.Equal(0L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t"));
        await engine.RunSqlAsync($"INSERT INTO {schema}.t VALUES (2)", null, ResultShape.None);
        await engine.CommitAsync();
        Assert.Equal(["(2)"], await Db.RowsAsync($"{schema}.t"));
    }

    [Fact]
    public async Task RunSql_on_an_uninitialised_engine_says_so()
    {
        await using var bare = await TestDatabase.CreateAsync("bare", initialize: false);
        await using var engine = bare.Engine();
        var error = await Assert.ThrowsAsync<EngineNotInitializedException>(() =>
            engine.RunSqlAsync("SELECT count(*) FROM splitgraph_audit.logged_actions", null, ResultShape.OneOne));
        Assert.Equal(409, error.StatusCode);
        await Assert.ThrowsAsync<EngineNotInitializedException>(() => new ChangeEngine(engine).HasPendingChangesAsync("public"));
        await Assert.ThrowsAsync<EngineNotInitializedException>(() => new ObjectEngine(engine).ListObjectsAsync());

        // A database that does not exist at all is not initialised either.
        var missing = new NpgsqlConnectionStringBuilder(bare.Server.ConnectionString("no_such_db_" + Guid.NewGuid().ToString("N")[..6])).ConnectionString;
        await using var source = NpgsqlDataSource.Create(missing);
        await using var absent = new SqlEngine(new EngineEndpoint("absent", source, missing, "127.0.0.1", bare.Server.Port));
        await Assert.ThrowsAsync<EngineNotInitializedException>(() => absent.RunSqlAsync("SELECT 1", null, ResultShape.OneOne));
    }

    [Fact]
    public async Task RunSqlBatch_runs_every_argument_set_and_an_empty_list_is_a_no_op()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, label text)");
        await using var engine = Db.Engine();

        await engine.RunSqlBatchAsync($"INSERT INTO {schema}.t VALUES ($1, $2)", []);
        var arguments = Enumerable.Range(1, 2_500).Select(i => (IReadOnlyList<object?>)[i, i % 7 == 0 ? null : $"row {i}"]).ToList();
        await engine.RunSqlBatchAsync($"INSERT INTO {schema}.t VALUES ($1, $2)", arguments);
        // With a schema: the unqualified name resolves there.
        await engine.RunSqlBatchAsync("UPDATE t SET label = $2 WHERE id = $1", [[1, "first"], [2, "second"]], schema);
        await engine.CommitAsync();

        Assert.Equal(2_500L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t"));
        Assert.Equal(357L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t WHERE label IS NULL"));
        Assert.Equal("second", await Db.ScalarAsync<string>($"SELECT label FROM {schema}.t WHERE id = 2"));

        // A failing set rolls the whole batch back.
        await Assert.ThrowsAsync<SqlRejectedException>(() => engine.RunSqlBatchAsync($"INSERT INTO {schema}.t VALUES ($1, $2)", [[5000, "a"], [1, "duplicate"]]));
        Assert.Equal(2_500L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t"));
    }

    [Fact]
    public async Task Commit_rollback_and_close_control_the_transaction()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int)");
        await using var engine = Db.Engine();

        await engine.RunSqlAsync($"INSERT INTO {schema}.t VALUES (1)", null, ResultShape.None);
        Assert.Equal(0L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t")); // not visible before commit
        await engine.RollbackAsync();
        Assert.Equal(0L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t"));

        await engine.RunSqlAsync($"INSERT INTO {schema}.t VALUES (2)", null, ResultShape.None);
        await engine.CommitAsync();
        Assert.Equal(["(2)"], await Db.RowsAsync($"{schema}.t"));

        var pid = await engine.RunSqlAsync("SELECT pg_backend_pid()", null, ResultShape.OneOne);
        await engine.RunSqlAsync($"INSERT INTO {schema}.t VALUES (3)", null, ResultShape.None);
        await engine.CloseAsync(); // commits and gives the connection back
        Assert.Equal(["(2)", "(3)"], await Db.RowsAsync($"{schema}.t"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state LIKE 'idle in transaction%'", pid));

        // Commit/rollback with nothing open are harmless; the engine reopens on next use.
        await engine.CommitAsync();
        await engine.RollbackAsync();
        Assert.Equal(2L, await engine.RunSqlAsync($"SELECT count(*) FROM {schema}.t", null, ResultShape.OneOne));
    }

    [Fact]
    public async Task GetPrimaryKeys_returns_key_definition_order_with_typmods()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync(
            $""""
            CREATE TABLE {schema}.composite (a int, b varchar(20), c numeric(10,2), d timestamp(3), e text, PRIMARY KEY (c, a, b, d));
            CREATE TABLE {schema}.plain (a int);
            CREATE TABLE "{schema}"."Mixed ""Case""" ("Key Col" char(4) PRIMARY KEY);
            """");
        await using var engine = Db.Engine();

        var keys = await engine.GetPrimaryKeysAsync(schema, "composite");
        Assert.Equal(
            [new("c", "numeric(10,2)"), new("a", "integer"), new("b", "character varying(20)"), new("d", "timestamp(3) without time zone")],
            keys);
        Assert.Empty(await engine.GetPrimaryKeysAsync(schema, "plain"));
        Assert.Empty(await engine.GetPrimaryKeysAsync(schema, "no_such_table"));
        Assert.Equal([new PrimaryKeyColumn("Key Col", "character(4)")], await engine.GetPrimaryKeysAsync(schema, "Mixed \"Case\""));
    }

    [Fact]
    public async Task LockTable_holds_an_exclusive_lock_until_the_transaction_ends()
    {
        var schema = await Db.NewSchemaAsync();
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int); INSERT INTO {schema}.t VALUES (1)");
        await using var holder = Db.Engine();
        await holder.LockTableAsync(schema, "t");

        await using var other = Db.Engine();
        await other.RunSqlAsync("SET LOCAL lock_timeout = '200ms'", null, ResultShape.None);
        Assert.Equal(1L, await other.RunSqlAsync($"SELECT count(*) FROM {schema}.t", null, ResultShape.OneOne)); // reads still pass
        var blocked = await Assert.ThrowsAsync<ConflictException>(() => other.RunSqlAsync($"INSERT INTO {schema}.t VALUES (2)", null, ResultShape.None));
        Assert.Equal(409, blocked.StatusCode);

        await holder.CommitAsync();
        await other.RunSqlAsync($"INSERT INTO {schema}.t VALUES (2)", null, ResultShape.None);
        await other.CommitAsync();
        Assert.Equal(["(1)", "(2)"], await Db.RowsAsync($"{schema}.t"));

        await Assert.ThrowsAsync<SqlRejectedException>(() => holder.LockTableAsync(schema, "no_such_table"));
        await Assert.ThrowsAsync<InvalidInputException>(() => holder.LockTableAsync(schema, ""));
    }

    [Fact]
    public async Task Initialize_is_idempotent_and_keeps_existing_state()
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'pear')");
        await using var engine = Db.Engine();
        await engine.InitializeAsync();
        await engine.InitializeAsync();

        var changes = new ChangeEngine(engine);
        Assert.Contains(new TableRef(schema, "fruits"), await changes.GetTrackedTablesAsync());
        Assert.Equal(new AggregateChanges(1, 0, 0), await changes.GetAggregateChangesAsync(schema, "fruits"));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_extension WHERE extname = 'postgres_fdw'"));
    }

    [Fact]
    public async Task Initialize_creates_a_missing_database_and_DeleteDatabase_drops_it()
    {
        var name = "created_" + Guid.NewGuid().ToString("N")[..8];
        var connectionString = Db.Server.ConnectionString(name);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using (var engine = new SqlEngine(new EngineEndpoint("created", source, connectionString, "127.0.0.1", Db.Server.Port)))
        {
            await engine.InitializeAsync();
            await engine.InitializeAsync();
            Assert.Equal(0L, await engine.RunSqlAsync("SELECT count(*) FROM splitgraph_meta.objects", null, ResultShape.OneOne));
            Assert.Equal(0L, await engine.RunSqlAsync("SELECT count(*) FROM splitgraph_audit.logged_actions", null, ResultShape.OneOne));
            await engine.CloseAsync();
        }

        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_database WHERE datname = $1", name));
        await using var admin = Db.Engine();
        await admin.DeleteDatabaseAsync(name);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_database WHERE datname = $1", name));
        await admin.DeleteDatabaseAsync(name); // absent: no error
        await Assert.ThrowsAsync<InvalidInputException>(() => admin.DeleteDatabaseAsync(""));
    }

    [Fact]
    public async Task Initialize_of_an_engine_from_before_the_counters_starts_them_from_its_log()
    {
        var name = "upgraded_" + Guid.NewGuid().ToString("N")[..8];
        var connectionString = Db.Server.ConnectionString(name);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using (var engine = new SqlEngine(new EngineEndpoint("upgraded", source, connectionString, "127.0.0.1", Db.Server.Port)))
        {
            await engine.InitializeAsync();
            await engine.RunSqlAsync("CREATE TABLE public.t (id int PRIMARY KEY, v text)", null, ResultShape.None);
            var changes = new ChangeEngine(engine);
            await changes.TrackTablesAsync([new TableRef("public", "t")]);
            await engine.RunSqlAsync(
                "INSERT INTO public.t VALUES (1, 'a'), (2, 'b'), (3, 'c'); DELETE FROM public.t WHERE id = 3; UPDATE public.t SET v = 'B' WHERE id = 2",
                null, ResultShape.None);
            // An engine initialised by an older version: a log, but no counters.
            await engine.RunSqlAsync("DROP TABLE splitgraph_audit.pending_counts", null, ResultShape.None);
            await engine.CommitAsync();

            await engine.InitializeAsync();
            Assert.Equal(new AggregateChanges(3, 1, 1), await changes.GetAggregateChangesAsync("public", "t"));
            await engine.RunSqlAsync("INSERT INTO public.t VALUES (4, 'd')", null, ResultShape.None);
            Assert.Equal(new AggregateChanges(4, 1, 1), await changes.GetAggregateChangesAsync("public", "t"));
            Assert.Equal(["t"], await changes.GetChangedTablesAsync("public"));
            await engine.CloseAsync();
        }

        await using var admin = Db.Engine();
        await admin.DeleteDatabaseAsync(name);
    }

    [Fact]
    public async Task MakeConn_opens_a_connection_from_parts()
    {
        await using var connection = await SqlEngine.MakeConnAsync("127.0.0.1", Db.Server.Port, "postgres", Db.Server.Password, Db.Name);
        await using var command = new NpgsqlCommand("SELECT current_database(), current_user", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(Db.Name, reader.GetString(0));
        Assert.Equal("postgres", reader.GetString(1));

        await Assert.ThrowsAsync<PostgresException>(() => SqlEngine.MakeConnAsync("127.0.0.1", Db.Server.Port, "postgres", "wrong password", Db.Name));
    }
}
