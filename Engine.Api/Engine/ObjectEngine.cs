using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Splitgraph's <c>PostgresEngine</c> object methods (fragments, objects, dump, schema, size, delete);
/// applying fragments is <see cref="FragmentApplier"/>, transfers are <see cref="ObjectTransfers"/>.
/// </summary>
public sealed class ObjectEngine(SqlEngine engine)
{
    public const string MetaSchema = "splitgraph_meta";
    public const string UpsertFlag = "sg_ud_flag";

    /// <summary>
    /// The name of a fragment's flag column for a table with these columns: <c>sg_ud_flag</c>, or with underscores
    /// appended until no user column has it (a user column may be called sg_ud_flag). The flag is an object's last column.
    /// </summary>
    public static string FlagFor(IEnumerable<string> columnNames)
    {
        var names = columnNames.ToHashSet(StringComparer.Ordinal);
        var flag = UpsertFlag;
        while (names.Contains(flag))
        {
            flag += "_";
        }

        return flag;
    }

    /// <summary>True for a name <see cref="FlagFor"/> can give.</summary>
    public static bool IsFlagName(string name) => name.StartsWith(UpsertFlag, StringComparison.Ordinal) && name[UpsertFlag.Length..].All(c => c == '_');

    /// <summary>An object's schema without its flag (the last column), and the flag's name.</summary>
    public static (IReadOnlyList<ObjectColumn> Columns, string Flag) SplitFlag(IReadOnlyList<ObjectColumn> spec) =>
        spec.Count > 0 && IsFlagName(spec[^1].Name) ? (spec.Take(spec.Count - 1).ToList(), spec[^1].Name) : (spec, UpsertFlag);

    public SqlEngine Sql => engine;

    /// <summary>
    /// Builds the fragment table <paramref name="schema"/>.<paramref name="table"/> from key lists: upserted keys get
    /// their current row from the source with <c>sg_ud_flag = true</c>, deleted keys only their key columns and false.
    /// Keys are JSON objects <c>{column: value}</c>; one set-based statement per kind.
    /// </summary>
    public async Task StoreFragmentAsync(IReadOnlyList<JsonElement> inserted, IReadOnlyList<JsonElement> deleted, string schema, string table,
        string sourceSchema, string sourceTable, CancellationToken cancellationToken = default)
    {
        var columns = await TableCatalog.RequireColumnsAsync(engine, sourceSchema, sourceTable, cancellationToken);
        var key = await TableCatalog.GetChangeKeyAsync(engine, sourceSchema, sourceTable, columns, cancellationToken);
        await CreateFragmentTableAsync(schema, table, columns, key, cancellationToken);

        var source = Identifiers.Qualify(sourceSchema, sourceTable);
        var target = Identifiers.Qualify(schema, table);
        var all = string.Join(", ", columns.Select(c => Identifiers.Quote(c.Name)));
        var keys = string.Join(", ", key.Columns.Select(c => Identifiers.Quote(c.Name)));
        var flag = Identifiers.Quote(FlagFor(columns.Select(c => c.Name)));
        await engine.ExecuteAsync(
            $"""
            INSERT INTO {target} ({all}, {flag})
            SELECT {string.Join(", ", columns.Select(c => "s." + Identifiers.Quote(c.Name)))}, true
            FROM {source} s WHERE EXISTS (
                SELECT 1 FROM pg_catalog.jsonb_populate_recordset(NULL::{source}, $1) k WHERE {KeyMatch.Sql(key, "s", "k")})
            """, [Json(inserted)], cancellationToken);
        await engine.ExecuteAsync(
            $"INSERT INTO {target} ({keys}, {flag}) SELECT {keys}, false FROM pg_catalog.jsonb_populate_recordset(NULL::{source}, $1)",
            [Json(deleted)], cancellationToken);
    }

    /// <summary>
    /// Turns the staging table into the object <c>splitgraph_meta."objectId"</c> and registers it; the staging
    /// table is gone afterwards. An object that already exists makes this a no-op (content-addressed).
    /// </summary>
    /// <returns>True when a new object was stored.</returns>
    public async Task<bool> StoreObjectAsync(string objectId, string sourceSchema, string sourceTable, CancellationToken cancellationToken = default) =>
        (await StoreAsync(Identifiers.ValidateObjectId(objectId), sourceSchema, sourceTable, cancellationToken)).Created;

    /// <summary>Stores the staging table under its content-addressed ID (see <see cref="ObjectHasher"/>).</summary>
    public Task<(string ObjectId, bool Created)> StoreContentAddressedAsync(string sourceSchema, string sourceTable, CancellationToken cancellationToken = default) =>
        StoreAsync(null, sourceSchema, sourceTable, cancellationToken);

    private async Task<(string ObjectId, bool Created)> StoreAsync(string? objectId, string sourceSchema, string sourceTable, CancellationToken cancellationToken)
    {
        var source = Identifiers.Qualify(sourceSchema, sourceTable);
        var spec = await ReadSchemaSpecAsync(sourceSchema, sourceTable, cancellationToken);
        var hash = await ObjectHasher.ComputeAsync(engine, sourceSchema, sourceTable, spec, cancellationToken);
        var id = objectId ?? hash.ObjectId;

        // Two stores of the same content race on this lock, not on the catalogue's primary key. The loser then finds
        // the winner's table through the catalogue, which is always current: a repeatable-read commit's snapshot,
        // taken before the lock, would not show it the winner's catalogue row.
        await engine.ExecuteAsync("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))", [id], cancellationToken);
        if (await ExistsAsync(id, cancellationToken) || await TableExistsAsync(id, cancellationToken))
        {
            await engine.ExecuteAsync($"DROP TABLE {source}", null, cancellationToken);
            return (id, false);
        }

        if (sourceSchema != MetaSchema)
        {
            await engine.ExecuteAsync($"ALTER TABLE {source} SET SCHEMA {MetaSchema}", null, cancellationToken);
        }

        await engine.ExecuteAsync($"ALTER TABLE {Identifiers.Qualify(MetaSchema, sourceTable)} RENAME TO {Identifiers.Quote(id)}",
            null, cancellationToken);
        await RenameKeyIndexAsync(id, cancellationToken);
        await RegisterAsync(id, spec, hash, cancellationToken);
        return (id, true);
    }

    /// <summary>
    /// The key index keeps the staging table's name through the move; a later staging table of the same name would
    /// collide with it, so it takes a name derived from the object ID ("k" + the ID's 62 hex digits).
    /// </summary>
    private async Task RenameKeyIndexAsync(string objectId, CancellationToken cancellationToken)
    {
        var index = await engine.ScalarAsync<string?>(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisprimary AND i.indrelid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass",
            [MetaSchema, objectId], cancellationToken);
        var name = "k" + objectId[1..];
        if (index is not null && index != name)
        {
            await engine.ExecuteAsync($"ALTER INDEX {Identifiers.Qualify(MetaSchema, index)} RENAME TO {Identifiers.Quote(name)}", null, cancellationToken);
        }
    }

    /// <summary>
    /// Adds the catalogue row of an object whose table is in place. <paramref name="committedAt"/> is the commit time on
    /// the engine that made the object (kept by transfers, since it orders fragments); null for a commit here and now.
    /// </summary>
    internal Task RegisterAsync(string objectId, IReadOnlyList<ObjectColumn> spec, ObjectHasher.ContentHash hash, CancellationToken cancellationToken,
        DateTimeOffset? committedAt = null) =>
        engine.ExecuteAsync(
            $"""
            INSERT INTO {MetaSchema}.objects (object_id, format, row_count, size_bytes, schema_spec, has_primary_key, content_hash, created_at)
            VALUES ($1, 'FRAG', $2, pg_catalog.pg_total_relation_size(pg_catalog.format('%I.%I', '{MetaSchema}', $1::text)::regclass), $3::jsonb, $4, $5, coalesce($6, now()))
            """,
            [objectId, hash.RowCount, JsonSerializer.Serialize(spec), spec.Any(c => c.IsPrimaryKey), hash.Hash, committedAt?.UtcDateTime],
            cancellationToken);

    /// <summary>Drops objects and their catalogue rows in one transaction; unknown IDs are reported, not fatal.</summary>
    public async Task<DeleteObjectsResult> DeleteObjectsAsync(IReadOnlyList<string> objectIds, CancellationToken cancellationToken = default)
    {
        var ids = objectIds.Select(Identifiers.ValidateObjectId).Distinct().ToList();
        // Under the objects' locks, so that an image being written with them (a transfer's metadata step, a commit
        // storing them) either is committed and seen as a user below, or waits until they are gone and is refused.
        await LockObjectsAsync(ids, cancellationToken);
        // An object an image uses stays: deleting it would leave the image unable to check out.
        var used = await engine.QueryAsync(
            $"SELECT t.repository, t.image_hash, u FROM {MetaSchema}.tables t, pg_catalog.unnest(t.object_ids) u WHERE t.object_ids OPERATOR(pg_catalog.&&) $1 AND u = ANY($1) LIMIT 5",
            [ids.ToArray()], r => (Repository: r.GetString(0), Image: r.GetString(1), ObjectId: r.GetString(2)), cancellationToken);
        if (used.Count > 0)
        {
            throw new ConflictException("Object in use",
                $"Objects are used by images: {string.Join(", ", used.Select(r => $"{r.ObjectId} by image {r.Image[..12]} of repository \"{r.Repository}\""))}. " +
                "Delete the repository (DELETE …/repositories/{schema}) and run POST …/cleanup instead.");
        }

        var deleted = await engine.QueryAsync(
            $"DELETE FROM {MetaSchema}.objects WHERE object_id = ANY($1) RETURNING object_id",
            [ids.ToArray()], r => r.GetString(0), cancellationToken);
        foreach (var id in deleted)
        {
            await engine.ExecuteAsync($"DROP TABLE IF EXISTS {Identifiers.Qualify(MetaSchema, id)}", null, cancellationToken);
        }

        return new DeleteObjectsResult(deleted.Order().ToList(), ids.Except(deleted).Order().ToList());
    }

    /// <summary>
    /// Takes the per-object transaction locks (the ones a commit storing an object and a cleanup take), in ordinal ID
    /// order so that two lockers of overlapping sets cannot deadlock.
    /// </summary>
    public async Task LockObjectsAsync(IEnumerable<string> objectIds, CancellationToken cancellationToken = default)
    {
        foreach (var id in objectIds.Distinct().Order(StringComparer.Ordinal))
        {
            await engine.ExecuteAsync("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))", [id], cancellationToken);
        }
    }

    /// <summary>Columns of the object, <c>sg_ud_flag</c> last.</summary>
    public async Task<IReadOnlyList<ObjectColumn>> GetObjectSchemaAsync(string objectId, CancellationToken cancellationToken = default)
    {
        Identifiers.ValidateObjectId(objectId);
        var spec = await engine.ScalarAsync<string?>($"SELECT schema_spec::text FROM {MetaSchema}.objects WHERE object_id = $1",
            [objectId], cancellationToken) ?? throw new ObjectNotFoundException([objectId]);
        return JsonSerializer.Deserialize<List<ObjectColumn>>(spec, JsonSerializerOptions.Web)!;
    }

    /// <summary>Bytes on disk, indexes included.</summary>
    public async Task<long> GetObjectSizeAsync(string objectId, CancellationToken cancellationToken = default)
    {
        await RequireAsync([objectId], cancellationToken);
        return await engine.ScalarAsync<long>(
            "SELECT pg_catalog.pg_total_relation_size(pg_catalog.format('%I.%I', $1::text, $2::text)::regclass)",
            [MetaSchema, objectId], cancellationToken);
    }

    /// <summary>The catalogue, newest first.</summary>
    public async Task<IReadOnlyList<ObjectInfo>> ListObjectsAsync(CancellationToken cancellationToken = default)
    {
        return await engine.QueryAsync(
            $"SELECT object_id, format, row_count, size_bytes, created_at FROM {MetaSchema}.objects ORDER BY created_at DESC, object_id",
            null, r => new ObjectInfo(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), new DateTimeOffset(r.GetDateTime(4))), cancellationToken);
    }

    public async Task<ObjectDetail> GetObjectAsync(string objectId, CancellationToken cancellationToken = default)
    {
        Identifiers.ValidateObjectId(objectId);
        var info = (await ListObjectsAsync(cancellationToken)).FirstOrDefault(o => o.ObjectId == objectId)
            ?? throw new ObjectNotFoundException([objectId]);
        var schema = await GetObjectSchemaAsync(objectId, cancellationToken);
        return new ObjectDetail(info.ObjectId, info.Format, info.RowCount, info.SizeBytes, info.CreatedAt, schema);
    }

    /// <summary>
    /// Writes an SQL script that recreates the object on another initialised engine: table with key, rows,
    /// catalogue row, in one transaction. Run on an engine that already has the object, it fails and changes nothing.
    /// </summary>
    public async Task DumpObjectAsync(string objectId, TextWriter output, CancellationToken cancellationToken = default)
    {
        var catalogued = await GetObjectSchemaAsync(objectId, cancellationToken);
        // The script's types come from the object table itself (format_type), never from the catalogue's text.
        var spec = await ReadSchemaSpecAsync(MetaSchema, objectId, cancellationToken);
        if (!spec.SequenceEqual(catalogued))
        {
            throw new InvalidObjectSpecException(objectId, "its catalogue entry does not describe its table's columns.");
        }

        var literals = (await engine.QueryFirstOrDefaultAsync(
            $"SELECT quote_literal(schema_spec::text), quote_literal(content_hash), quote_literal(created_at::text), row_count, has_primary_key FROM {MetaSchema}.objects WHERE object_id = $1",
            [objectId], r => new CatalogueLiterals(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetBoolean(4)), cancellationToken))
            ?? throw new ObjectNotFoundException([objectId]);
        var table = Identifiers.Qualify(MetaSchema, objectId);

        await output.WriteAsync($"-- Splitgraph object {objectId}\nBEGIN;\n");
        await output.WriteAsync($"CREATE TABLE {table} ({ColumnDefinitions(spec)});\n");
        await engine.DumpAnyTableSqlAsync(MetaSchema, objectId, output, cancellationToken: cancellationToken);
        await output.WriteAsync(
            $"INSERT INTO {MetaSchema}.objects (object_id, format, row_count, size_bytes, schema_spec, has_primary_key, content_hash, created_at)\n" +
            $"VALUES ('{objectId}', 'FRAG', {literals.RowCount}, pg_catalog.pg_total_relation_size('{table.Replace("'", "''")}'), {literals.SchemaSpec}::jsonb, {(literals.HasPrimaryKey ? "true" : "false")}, {literals.ContentHash}, {literals.CreatedAt}::timestamptz);\n");
        await output.WriteAsync("COMMIT;\n");
    }

    public async Task<bool> ExistsAsync(string objectId, CancellationToken cancellationToken = default) =>
        await engine.ScalarAsync<int?>($"SELECT 1 FROM {MetaSchema}.objects WHERE object_id = $1", [objectId], cancellationToken) is not null;

    /// <summary>Whether the object's table exists, read from the catalogue as of now whatever the transaction's snapshot.</summary>
    private async Task<bool> TableExistsAsync(string objectId, CancellationToken cancellationToken) =>
        await engine.ScalarAsync<bool>("SELECT to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text)) IS NOT NULL",
            [MetaSchema, objectId], cancellationToken);

    /// <summary>
    /// 404 naming every ID that is not in the catalogue; 409 naming any whose table is missing (a crash leftover that
    /// the next initialisation repairs), so reads fail before they start rather than mid-stream.
    /// </summary>
    public async Task RequireAsync(IReadOnlyList<string> objectIds, CancellationToken cancellationToken = default)
    {
        var ids = objectIds.Select(Identifiers.ValidateObjectId).Distinct().ToArray();
        var found = (await engine.QueryAsync(
            $"SELECT object_id, to_regclass(pg_catalog.format('%I.%I', '{MetaSchema}', object_id)) IS NOT NULL FROM {MetaSchema}.objects WHERE object_id = ANY($1)",
            [ids], r => (Id: r.GetString(0), HasTable: r.GetBoolean(1)), cancellationToken)).ToDictionary(r => r.Id, r => r.HasTable);
        var missing = ids.Where(id => !found.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            throw new ObjectNotFoundException(missing);
        }

        if (ids.Where(id => !found[id]).ToList() is { Count: > 0 } damaged)
        {
            throw new ConflictException("Object damaged",
                $"Object {string.Join(", ", damaged)} is in the catalogue but its table is missing (left by a crash); POST …/initialize or restart the API to repair.");
        }
    }

    /// <summary>Creates an empty fragment table: the source's columns without constraints, plus the flag and the key.</summary>
    internal async Task CreateFragmentTableAsync(string schema, string table, IReadOnlyList<TableColumn> columns, ChangeKey key, CancellationToken cancellationToken)
    {
        var spec = columns.Select(c => new ObjectColumn(c.Ordinal, c.Name, c.Type, key.IsPrimaryKey && key.Columns.Contains(c)))
            .Append(new ObjectColumn(columns.Count + 1, FlagFor(columns.Select(c => c.Name)), "boolean", false)).ToList();
        await engine.ExecuteAsync($"CREATE TABLE {Identifiers.Qualify(schema, table)} ({ColumnDefinitions(spec)})", null, cancellationToken);
    }

    /// <summary>
    /// Column list for CREATE TABLE; names are quoted. The types must be text the engine's server produced
    /// (<see cref="TableCatalog"/>'s format_type, or <see cref="ObjectSpecResolver"/> for arriving objects), never a
    /// catalogue entry's text.
    /// </summary>
    /// <param name="withKey">False to leave the primary key out, for bulk loads that add it afterwards (<see cref="AddKeySql"/>).</param>
    internal static string ColumnDefinitions(IReadOnlyList<ObjectColumn> spec, bool withKey = true)
    {
        var definitions = spec.Select(c => $"{Identifiers.Quote(c.Name)} {c.Type}").ToList();
        var key = spec.Where(c => c.IsPrimaryKey).Select(c => Identifiers.Quote(c.Name)).ToList();
        if (withKey && key.Count > 0)
        {
            definitions.Add($"PRIMARY KEY ({string.Join(", ", key)})");
        }

        return string.Join(", ", definitions);
    }

    /// <summary>
    /// Adds the object's primary key after a bulk load: one sorted index build is several times cheaper than keeping
    /// the index up to date row by row. Empty when the object has no key.
    /// </summary>
    internal static string AddKeySql(string table, IReadOnlyList<ObjectColumn> spec)
    {
        var key = spec.Where(c => c.IsPrimaryKey).Select(c => Identifiers.Quote(c.Name)).ToList();
        return key.Count == 0 ? string.Empty : $"ALTER TABLE {table} ADD PRIMARY KEY ({string.Join(", ", key)})";
    }

    /// <summary>Schema spec of a (staging or object) table: its columns, key flags from its primary key, flag last.</summary>
    internal async Task<IReadOnlyList<ObjectColumn>> ReadSchemaSpecAsync(string schema, string table, CancellationToken cancellationToken)
    {
        var columns = await TableCatalog.RequireColumnsAsync(engine, schema, table, cancellationToken);
        if (columns.Count == 0 || !IsFlagName(columns[^1].Name) || columns[^1].Type != "boolean")
        {
            throw new InvalidInputException("Not a fragment", $"\"{schema}\".\"{table}\" has no trailing {UpsertFlag} column.");
        }

        var primaryKey = (await engine.GetPrimaryKeysAsync(schema, table, cancellationToken)).Select(k => k.Column).ToHashSet();
        return columns.Select((c, i) => new ObjectColumn(i + 1, c.Name, c.Type, primaryKey.Contains(c.Name))).ToList();
    }

    private static Npgsql.NpgsqlParameter Json(IReadOnlyList<JsonElement> keys) => Jsonb.Parameter(JsonSerializer.Serialize(keys));

    /// <summary>A catalogue row as SQL literals (quoted by the server) for a dump script.</summary>
    private sealed record CatalogueLiterals(string SchemaSpec, string ContentHash, string CreatedAt, long RowCount, bool HasPrimaryKey);
}

/// <summary>How rows of two relations are matched on a change key.</summary>
internal static class KeyMatch
{
    /// <summary>
    /// Primary keys: each column's own equality operator, schema-qualified (<see cref="KeyEquality"/>; hashable,
    /// index-friendly). A bare <c>=</c> would be resolved through the session's search_path, where an
    /// <c>=(varchar, varchar)</c> planted in public wins over pg_catalog's text equality, and citext's <c>=</c> is not
    /// found at all when its schema is off the path. Other keys may hold NULLs: compare the key columns' row text, which
    /// tells NULL from empty and stays hashable (IS NOT DISTINCT FROM would force nested loops, and resolves <c>=</c>
    /// through the path too).
    /// </summary>
    public static string Sql(ChangeKey key, string left, string right)
    {
        if (key.IsPrimaryKey)
        {
            return string.Join(" AND ", key.Columns.Select((c, i) =>
                $"{left}.{Identifiers.Quote(c.Name)} {key.Equalities[i].Sql} {right}.{Identifiers.Quote(c.Name)}"));
        }

        string Row(string alias) => $"ROW({string.Join(", ", key.Columns.Select(c => $"{alias}.{Identifiers.Quote(c.Name)}"))})::text";
        return $"{Row(left)} {KeyEquality.Builtin.Sql} {Row(right)}";
    }

    /// <summary>
    /// <c>jsonb_to_record(json) AS alias(…)</c> of the key columns, plus <paramref name="asText"/> columns as text: a
    /// record of the whole table type would check a NOT NULL domain column missing from the key object and fail.
    /// </summary>
    public static string KeyRecord(string json, ChangeKey key, string alias, IEnumerable<TableColumn>? asText = null) =>
        $"pg_catalog.jsonb_to_record({json}) AS {alias}(" + string.Join(", ",
            key.Columns.Select(c => $"{Identifiers.Quote(c.Name)} {c.Type}")
                .Concat((asText ?? []).Where(c => !key.Columns.Contains(c)).Select(c => $"{Identifiers.Quote(c.Name)} text"))) + ")";
}
