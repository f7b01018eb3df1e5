using System.Diagnostics.CodeAnalysis;
using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>
/// Issue 16 item 2: the functions Initialize installs pin their search path and are not executable by PUBLIC; a writer
/// who may only insert and create objects in public cannot run code as the trigger's owner by shadowing built-ins;
/// the engine works — tracking, commit, apply, upload and download — when the API is a non-superuser owner and tracked
/// tables are written by other roles.
/// </summary>
public sealed class TriggerTrustTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    /// <summary>A new login role (no superuser, no createdb, no createrole) with a random password; returns (name, password).</summary>
    private static async Task<(string Name, string Password)> CreateRoleAsync(TestDatabase db, string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid().ToString("N")[..8]}";
        var password = Guid.NewGuid().ToString("N");
        await db.ExecAsync($"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'");
        return (name, password);
    }

    private static string ConnectionStringAs(TestDatabase db, string database, string role, string password) =>
        new NpgsqlConnectionStringBuilder(db.Server.ConnectionString(database)) { Username = role, Password = password, Pooling = false, CommandTimeout = 180 }.ConnectionString;

    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.Helper)]
    private static async Task ExecAsAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Every_installed_function_pins_its_search_path_and_is_not_executable_by_public()
    {
        var functions = await Db.ScalarAsync<string[]>(
            """
            SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('splitgraph_audit', 'splitgraph_meta')
            """);
        Assert.Contains("splitgraph_audit.log_inserts()", functions);
        Assert.Contains("splitgraph_meta.ensure_foreign_server(text,text,integer,text,text,text)", functions);

        var unpinned = await Db.ScalarAsync<string[]>(
            """
            SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('splitgraph_audit', 'splitgraph_meta')
              AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
              -- A SQL-standard body (RETURN …) is parsed at creation and reads no search_path when it runs, provided all
              -- it names resolved to built-ins: those are pinned, so pg_depend records a dependency on anything else.
              AND NOT (p.prosqlbody IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid <> 'pg_namespace'::regclass))
            """);
        Assert.Empty(unpinned);
        Assert.Contains("splitgraph_audit.output_settings_differ()", functions);

        var publicExecutable = await Db.ScalarAsync<string[]>(
            """
            SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('splitgraph_audit', 'splitgraph_meta')
              AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
            """);
        Assert.Empty(publicExecutable);
    }

    [Fact]
    public async Task Writer_shadowing_built_ins_in_public_does_not_become_superuser_through_a_bulk_insert()
    {
        var (writer, password) = await CreateRoleAsync(Db, "shadow");
        var schema = await Db.NewSchemaAsync("trust");
        await Db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int PRIMARY KEY, name text, at timestamptz);
            GRANT USAGE ON SCHEMA {schema} TO {writer};
            GRANT INSERT ON {schema}.t TO {writer};
            GRANT USAGE, CREATE ON SCHEMA public TO {writer};
            """);
        await Objects.TrackAsync(Db, schema, "t");
        await Objects.CopyTableAsync(Db, schema, "t", "before");

        // Every function the bulk path calls, with the argument types it passes, as functions that grant superuser
        // to the writer when run by a superuser; operators on jsonb and text the same way.
        var escalate = $"EXECUTE 'ALTER ROLE {writer} SUPERUSER'";
        var asWriter = ConnectionStringAs(Db, Db.Name, writer, password);
        await ExecAsAsync(asWriter,
            $$"""
            CREATE FUNCTION public.format(text, text, bigint) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.format($1, $2, $3); END $f$;
            CREATE FUNCTION public.format(text, text, integer) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.format($1, $2, $3); END $f$;
            CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.format($1, $2); END $f$;
            CREATE FUNCTION public.to_jsonb(anyelement) RETURNS jsonb LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.to_jsonb($1); END $f$;
            CREATE FUNCTION public.pg_backend_pid() RETURNS integer LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.pg_backend_pid(); END $f$;
            CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN QUERY SELECT pg_catalog.unnest($1); END $f$;
            CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.current_setting($1, $2); END $f$;
            CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.set_config($1, $2, $3); END $f$;
            CREATE FUNCTION public.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.nextval($1); END $f$;
            CREATE FUNCTION public.evil_eq(jsonb, jsonb) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN $1::text = $2::text; END $f$;
            CREATE OPERATOR public.= (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = public.evil_eq);
            CREATE FUNCTION public.evil_concat(text, integer) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN $1 || $2::text; END $f$;
            CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = public.evil_concat);
            """);
        Assert.Equal(13L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1", writer) +
                          await Db.ScalarAsync<long>("SELECT count(*) FROM pg_operator o JOIN pg_roles r ON r.oid = o.oprowner WHERE r.rolname = $1", writer));

        // Temporary functions too, and the writer's own search path puts public first.
        await ExecAsAsync(asWriter,
            $$"""
            SET search_path = public, pg_catalog;
            CREATE FUNCTION pg_temp.format(text, text, bigint) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.format($1, $2, $3); END $f$;
            INSERT INTO {{schema}}.t SELECT g, 'row ' || g::text, timestamptz '2024-01-01 00:00+00' + g * interval '1 minute' FROM generate_series(1, 1500) g;
            INSERT INTO {{schema}}.t VALUES (2000, 'single', NULL);
            """);

        Assert.False(await Db.ScalarAsync<bool>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", writer));
        await using (var engine = Db.Engine())
        {
            Assert.Equal(new AggregateChanges(1501, 0, 0), await new ChangeEngine(engine).GetAggregateChangesAsync(schema, "t"));
        }

        var result = await Objects.CommitAsync(Db, schema, "t");
        Assert.Equal((1501L, 0L), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
        Assert.False(await Db.ScalarAsync<bool>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", writer));
    }

    [Fact]
    public async Task Writer_cannot_call_the_engines_functions()
    {
        var (writer, password) = await CreateRoleAsync(Db, "caller");
        var asWriter = ConnectionStringAs(Db, Db.Name, writer, password);
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecAsAsync(asWriter, "SELECT splitgraph_audit.discard_changes('public', NULL)"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        error = await Assert.ThrowsAsync<PostgresException>(() =>
            ExecAsAsync(asWriter, "SELECT splitgraph_meta.ensure_foreign_server('x', 'localhost', 5432, 'db', 'u', 'p')"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public async Task Tracking_and_commit_work_for_a_non_superuser_owner_with_tables_written_by_other_roles()
    {
        var (owner, ownerPassword) = await CreateRoleAsync(Db, "owner");
        var (writer, writerPassword) = await CreateRoleAsync(Db, "writer");
        await using var database = await TestDatabase.CreateAsync("nonsuper", initialize: false);
        await using (var admin = new NpgsqlConnection(Db.Server.ConnectionString(database.Name) + ";Pooling=false"))
        {
            await admin.OpenAsync();
            // What a superuser provides once: the database owned by the API's role, the extension Initialize expects.
            await using var setup = new NpgsqlCommand($"ALTER DATABASE \"{database.Name}\" OWNER TO {owner}; CREATE EXTENSION IF NOT EXISTS postgres_fdw", admin);
            await setup.ExecuteNonQueryAsync();
        }

        var ownerConnection = ConnectionStringAs(Db, database.Name, owner, ownerPassword);
        await using var ownerSource = NpgsqlDataSource.Create(ownerConnection);
        var endpoint = new EngineEndpoint(database.Name.Replace('_', '-'), ownerSource, ownerConnection, "127.0.0.1", Db.Server.Port);
        await using (var engine = new SqlEngine(endpoint))
        {
            await engine.InitializeAsync();
        }

        await ExecAsAsync(ownerConnection,
            $"""
            CREATE SCHEMA app;
            CREATE TABLE app.t (id int PRIMARY KEY, at timestamptz, name text);
            INSERT INTO app.t VALUES (1, '2024-01-01 00:00+00', 'one'), (2, '2024-01-02 00:00+00', 'two');
            CREATE TABLE app.before (LIKE app.t);
            INSERT INTO app.before SELECT * FROM app.t;
            GRANT USAGE ON SCHEMA app TO {writer};
            GRANT SELECT, INSERT, UPDATE, DELETE ON app.t TO {writer};
            """);
        await using (var engine = new SqlEngine(endpoint))
        {
            await new ChangeEngine(engine).TrackTablesAsync([new TableRef("app", "t")]);
            await engine.CommitAsync();
        }

        await ExecAsAsync(ConnectionStringAs(Db, database.Name, writer, writerPassword),
            """
            SET TimeZone = 'Asia/Tokyo';
            INSERT INTO app.t SELECT g, timestamptz '2024-02-01 00:00+00' + g * interval '1 hour', 'bulk' FROM generate_series(10, 1600) g;
            UPDATE app.t SET name = 'changed', at = at + interval '1 day' WHERE id IN (1, 500, 1500);
            DELETE FROM app.t WHERE id IN (2, 11);
            MERGE INTO app.t x USING (VALUES (12, true), (13, false)) s(id, del) ON x.id = s.id
            WHEN MATCHED AND s.del THEN DELETE WHEN MATCHED THEN UPDATE SET id = 12;
            """);

        CommitResult result;
        await using (var engine = new SqlEngine(endpoint))
        {
            Assert.Equal(new AggregateChanges(1591, 3, 4), await new ChangeEngine(engine).GetAggregateChangesAsync("app", "t"));
            engine.IsolationLevel = TableCommitter.Isolation;
            result = await new TableCommitter(engine).CommitAsync("app", "t");
            await engine.CommitAsync();
        }

        Assert.Equal((1590L, 1L), (result.Upserts, result.Deletes));
        await using (var engine = new SqlEngine(endpoint))
        {
            await new FragmentApplier(engine).ApplyFragmentsAsync([result.ObjectId!], "app", "before");
            await engine.CommitAsync();
        }

        Assert.Equal(await database.RowsAsync("app.t"), await database.RowsAsync("app.before"));
        Assert.False(await Db.ScalarAsync<bool>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", owner));
    }

    /// <summary>
    /// A database owned by a new non-superuser role (what a superuser provides once: the ownership and the
    /// postgres_fdw extension), initialised by that role: the engine an API connecting as a non-superuser sees.
    /// </summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    private async Task<(TestDatabase Database, EngineEndpoint Endpoint, NpgsqlDataSource Source)> NonSuperuserEngineAsync(string prefix)
    {
        var (owner, password) = await CreateRoleAsync(Db, prefix);
        var database = await TestDatabase.CreateAsync(prefix, initialize: false);
        await using (var admin = new NpgsqlConnection(Db.Server.ConnectionString(database.Name) + ";Pooling=false"))
        {
            await admin.OpenAsync();
            // Downloads create foreign servers: the role needs USAGE on the wrapper (README, "Running as a non-superuser").
            await using var setup = new NpgsqlCommand(
                $"ALTER DATABASE \"{database.Name}\" OWNER TO {owner}; CREATE EXTENSION IF NOT EXISTS postgres_fdw; GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {owner}",
                admin);
            await setup.ExecuteNonQueryAsync();
        }

        var connection = ConnectionStringAs(Db, database.Name, owner, password);
        var source = NpgsqlDataSource.Create(connection);
        var endpoint = new EngineEndpoint(database.Name.Replace('_', '-'), source, connection, "127.0.0.1", Db.Server.Port);
        await using (var engine = new SqlEngine(endpoint))
        {
            await engine.InitializeAsync();
        }

        return (database, endpoint, source);
    }

    [Fact]
    public async Task Transfers_work_between_engines_whose_api_roles_are_not_superusers()
    {
        var (localDb, local, localSource) = await NonSuperuserEngineAsync("nslocal");
        var (remoteDb, remote, remoteSource) = await NonSuperuserEngineAsync("nsremote");
        await using (localDb)
        await using (remoteDb)
        await using (localSource)
        await using (remoteSource)
        {
            await ExecAsAsync(local.ConnectionString,
                "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v text); INSERT INTO app.t SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
            CommitResult commit;
            await using (var engine = new SqlEngine(local))
            {
                engine.IsolationLevel = TableCommitter.Isolation;
                commit = await new TableCommitter(engine).CommitAsync("app", "t", snapshot: true);
                await engine.CommitAsync();
            }

            var id = commit.ObjectId!;
            var uploaded = await new ObjectTransfers(local, remote, verifyContent: true).UploadObjectsAsync([id]);
            Assert.Equal([id], uploaded.Transferred);

            await using (var engine = new SqlEngine(local))
            {
                await new ObjectEngine(engine).DeleteObjectsAsync([id]);
                await engine.CommitAsync();
            }

            // Down through postgres_fdw, as the local engine's non-superuser role (password authentication).
            var downloaded = await new ObjectTransfers(local, remote, verifyContent: true).DownloadObjectsAsync([id]);
            Assert.Equal([id], downloaded.Transferred);
            Assert.Equal(await remoteDb.RowsAsync($"splitgraph_meta.\"{id}\""), await localDb.RowsAsync($"splitgraph_meta.\"{id}\""));
            Assert.Equal(0L, await localDb.ScalarAsync<long>("SELECT count(*) FROM pg_foreign_server"));
        }
    }

    [Fact]
    public async Task Writer_shadowing_array_built_ins_in_public_does_not_become_superuser_through_versions_operations()
    {
        var (writer, password) = await CreateRoleAsync(Db, "vshadow");
        // A database of its own: the other shadowing test creates some of the same functions in public.
        await using var db = await TestDatabase.CreateAsync("vtrust");
        var schema = await db.NewSchemaAsync("vtrust");
        await db.ExecAsync(
            $"""
            CREATE TABLE {schema}.t (id int PRIMARY KEY, name text); INSERT INTO {schema}.t VALUES (1, 'one'), (2, 'two');
            CREATE TABLE {schema}.bag (v text); INSERT INTO {schema}.bag VALUES ('x'), ('x');
            GRANT USAGE ON SCHEMA {schema} TO {writer};
            GRANT INSERT, UPDATE, DELETE, SELECT ON {schema}.t, {schema}.bag TO {writer};
            GRANT USAGE, CREATE ON SCHEMA public TO {writer};
            """);
        // The versions code's array and jsonb built-ins with exact argument types (which beat pg_catalog's polymorphic
        // ones when unqualified), each granting superuser to the writer when a superuser runs it.
        var escalate = $"EXECUTE 'ALTER ROLE {writer} SUPERUSER'";
        var asWriter = ConnectionStringAs(db, db.Name, writer, password);
        await ExecAsAsync(asWriter,
            $$"""
            CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN QUERY SELECT pg_catalog.unnest($1); END $f$;
            CREATE FUNCTION public.evil_contains(text[], text[]) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN $1 OPERATOR(pg_catalog.@>) $2; END $f$;
            CREATE OPERATOR public.@> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.evil_contains);
            CREATE FUNCTION public.evil_overlaps(text[], text[]) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN $1 OPERATOR(pg_catalog.&&) $2; END $f$;
            CREATE OPERATOR public.&& (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.evil_overlaps);
            CREATE FUNCTION public.generate_series(integer, bigint) RETURNS SETOF bigint LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN QUERY SELECT pg_catalog.generate_series($1::bigint, $2); END $f$;
            CREATE FUNCTION public.abs(bigint) RETURNS bigint LANGUAGE plpgsql AS $f$ BEGIN {{escalate}}; RETURN pg_catalog.abs($1); END $f$;
            """);

        // Another repository keeps images in the catalogue, so cleanup compares chains with the objects it releases.
        var other = await db.NewSchemaAsync("vother");
        await db.ExecAsync($"CREATE TABLE {other}.o (id int PRIMARY KEY); INSERT INTO {other}.o VALUES ({Random.Shared.Next()})");
        await Versions.InitAsync(db, other);

        var first = (await Versions.InitAsync(db, schema)).Head!;
        await ExecAsAsync(asWriter, $"INSERT INTO {schema}.t VALUES (3, 'three'); UPDATE {schema}.t SET name = 'TWO' WHERE id = 2; INSERT INTO {schema}.bag VALUES ('y')");
        var second = (await Versions.CommitAsync(db, schema, "writer's changes")).Image.ImageHash;
        Assert.Equal(2, (await Versions.DiffRowsAsync(db, schema, "t", first, second)).Count);
        Assert.Single(await Versions.DiffRowsAsync(db, schema, "bag", first, null));
        await Versions.CheckoutAsync(db, schema, first);
        await Versions.InTransactionAsync(db, e => new Engine.Api.Engine.Versions.RepositoryEngine(e).ProvenanceAsync(default));
        var objects = (await Versions.TablesAsync(db, schema, second)).SelectMany(t => t.ObjectIds).ToList();
        await Assert.ThrowsAsync<ConflictException>(() => Versions.InTransactionAsync(db, e => new ObjectEngine(e).DeleteObjectsAsync(objects, default)));
        await Versions.InTransactionAsync(db, async e => { await new Engine.Api.Engine.Versions.RepositoryEngine(e).DeleteAsync(schema, default); return 0; });
        var cleaned = await Versions.InTransactionAsync(db, e => new Engine.Api.Engine.Versions.RepositoryEngine(e).CleanupAsync(false, default));
        Assert.NotEmpty(cleaned.Deleted);

        Assert.False(await db.ScalarAsync<bool>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", writer));
    }
}
