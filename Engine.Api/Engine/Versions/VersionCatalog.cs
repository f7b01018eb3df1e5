using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine.Versions;

/// <summary>An image row of <c>splitgraph_meta.images</c>.</summary>
public sealed record ImageRow(string Namespace, string ImageHash, string? ParentId, DateTimeOffset Created, string? Comment, string? Author);

/// <summary>A table of an image: schema (object spec without the flag) and object chain in apply order.</summary>
public sealed record TableRow(string Table, IReadOnlyList<ObjectColumn> Schema, IReadOnlyList<string> ObjectIds, long Upserted, long Deleted);

/// <summary>
/// Reads and writes the versions catalogue (<c>splitgraph_meta.images</c>, <c>tables</c>, <c>tags</c>) in the engine's
/// transaction. Values are always parameters; every name read back is validated before it reaches SQL text elsewhere.
/// </summary>
public sealed partial class VersionCatalog(SqlEngine engine)
{
    public const string Head = "HEAD";
    public const string Latest = "latest";
    private const string Meta = ObjectEngine.MetaSchema;

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex ImageHashPattern();

    [GeneratedRegex("^[0-9a-f]{6,64}$")]
    private static partial Regex PrefixPattern();

    public static bool IsImageHash(string? hash) => hash is not null && ImageHashPattern().IsMatch(hash);

    /// <summary>
    /// The image hash: SHA-256 over the parent and every table's name, columns (name, type, key) and object list, tables
    /// by name. Creation time, message and author are not content: the same commit made on two engines has one hash.
    /// </summary>
    public static string ComputeHash(string? parentId, IEnumerable<TableRow> tables)
    {
        var content = new
        {
            parent = parentId,
            tables = tables.OrderBy(t => t.Table, StringComparer.Ordinal).Select(t => new
            {
                name = t.Table,
                columns = t.Schema.Select(c => new[] { c.Name, c.Type, c.IsPrimaryKey ? "key" : "" }),
                objects = t.ObjectIds,
            }),
        };
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(content))));
    }

    /// <summary>Serialises catalogue changes of one repository (commit, checkout, tags, push/pull metadata) until the transaction ends.</summary>
    public Task LockRepositoryAsync(string schema, CancellationToken cancellationToken) =>
        engine.ExecuteAsync("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))", [LockKey(schema)], cancellationToken);

    /// <summary>The advisory-lock key of a repository (tests hold it to stop an operation at its metadata step).</summary>
    public static string LockKey(string schema) => "splitgraph.repository." + schema;

    public async Task<bool> ExistsAsync(string schema, CancellationToken cancellationToken) =>
        await engine.ScalarAsync<int?>($"SELECT 1 FROM {Meta}.images WHERE repository = $1 LIMIT 1", [schema], cancellationToken) is not null;

    public async Task RequireRepositoryAsync(string schema, CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(schema, cancellationToken))
        {
            throw new RepositoryNotFoundException(engine.Name, schema);
        }
    }

    /// <summary>Schemas that are repositories, by name.</summary>
    public async Task<IReadOnlyList<string>> RepositoriesAsync(CancellationToken cancellationToken) =>
        await engine.QueryAsync($"SELECT DISTINCT repository FROM {Meta}.images ORDER BY 1", null, r => r.GetString(0), cancellationToken);

    /// <summary>Every image of the repository, newest first.</summary>
    public async Task<IReadOnlyList<ImageRow>> ImagesAsync(string schema, CancellationToken cancellationToken) =>
        await engine.QueryAsync(
            $"SELECT namespace, image_hash, parent_id, created, comment, author FROM {Meta}.images WHERE repository = $1 ORDER BY created DESC, image_hash",
            [schema], r => new ImageRow(r.GetString(0), r.GetString(1), NullableString(r, 2),
                new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(3), DateTimeKind.Utc)), NullableString(r, 4), NullableString(r, 5)), cancellationToken);

    private static string? NullableString(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    /// <summary>Tables of every image of the repository, by image hash.</summary>
    public async Task<Dictionary<string, List<TableRow>>> AllTablesAsync(string schema, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            $"SELECT image_hash, table_name, table_schema::text, object_ids, upserted, deleted FROM {Meta}.tables WHERE repository = $1 ORDER BY image_hash, table_name",
            [schema], r => (ImageHash: r.GetString(0), Table: ReadTable(r)), cancellationToken);
        return rows.GroupBy(r => r.ImageHash).ToDictionary(g => g.Key, g => g.Select(r => r.Table).ToList());
    }

    public Task<List<TableRow>> TablesAsync(string schema, string imageHash, CancellationToken cancellationToken) =>
        engine.QueryAsync(
            $"SELECT image_hash, table_name, table_schema::text, object_ids, upserted, deleted FROM {Meta}.tables WHERE repository = $1 AND image_hash = $2 ORDER BY table_name",
            [schema, imageHash], ReadTable, cancellationToken);

    /// <summary>A row of the tables catalogue (image_hash, table_name, table_schema as text, object_ids, upserted, deleted).</summary>
    private static TableRow ReadTable(NpgsqlDataReader r)
    {
        var table = Identifiers.Validate(r.GetString(1), "table name");
        return new(table, ReadSpec(table, r.IsDBNull(2) ? null : r.GetString(2)),
            r.GetFieldValue<string[]>(3).Select(Identifiers.ValidateObjectId).ToList(), r.GetInt64(4), r.GetInt64(5));
    }

    /// <summary>A table's recorded columns; 422 for anything but an array of columns with names and types (a catalogue may come from another engine).</summary>
    private static List<ObjectColumn> ReadSpec(string table, string? json)
    {
        List<ObjectColumn?>? spec;
        try
        {
            spec = json is null ? null : JsonSerializer.Deserialize<List<ObjectColumn?>>(json, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            spec = null;
        }

        if (spec is not { Count: > 0 } || spec.Any(c => c is null || string.IsNullOrEmpty(c.Name) || string.IsNullOrEmpty(c.Type)))
        {
            throw new InvalidCatalogueException($"Table \"{Identifiers.Printable(table)}\" of an image records its columns as {Identifiers.Printable(json)}, not as a list of columns with names and types.");
        }

        return spec!;
    }

    /// <summary>Stored tags (HEAD and user tags), by tag name.</summary>
    public async Task<Dictionary<string, string>> StoredTagsAsync(string schema, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            $"SELECT tag, image_hash FROM {Meta}.tags WHERE repository = $1 ORDER BY tag", [schema], r => (Tag: r.GetString(0), ImageHash: r.GetString(1)), cancellationToken);
        return rows.ToDictionary(r => r.Tag, r => r.ImageHash, StringComparer.Ordinal);
    }

    public async Task<string?> HeadAsync(string schema, CancellationToken cancellationToken) =>
        await engine.ScalarAsync<string?>($"SELECT image_hash FROM {Meta}.tags WHERE repository = $1 AND tag = $2", [schema, Head], cancellationToken);

    /// <summary>Points the tag at the image; false (nothing written) when the repository has no such image.</summary>
    public async Task<bool> SetTagAsync(string schema, string tag, string imageHash, CancellationToken cancellationToken) =>
        await engine.ExecuteAsync(
            $"""
            INSERT INTO {Meta}.tags (namespace, repository, image_hash, tag)
            SELECT namespace, repository, image_hash, $3 FROM {Meta}.images WHERE repository = $1 AND image_hash = $2
            ON CONFLICT (repository, tag) DO UPDATE SET image_hash = excluded.image_hash
            """, [schema, imageHash, tag], cancellationToken) > 0;

    public async Task<bool> DeleteTagAsync(string schema, string tag, CancellationToken cancellationToken) =>
        await engine.ScalarAsync<int?>($"DELETE FROM {Meta}.tags WHERE repository = $1 AND tag = $2 RETURNING 1", [schema, tag], cancellationToken) is not null;

    /// <summary>Writes an image and its tables unless the repository has it already (content-addressed); true when written.</summary>
    public async Task<bool> InsertImageAsync(string schema, ImageRow image, IReadOnlyList<TableRow> tables, CancellationToken cancellationToken)
    {
        var inserted = await engine.ScalarAsync<int?>(
            $"""
            INSERT INTO {Meta}.images (namespace, repository, image_hash, parent_id, created, comment, author)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repository, image_hash) DO NOTHING RETURNING 1
            """,
            [image.Namespace, schema, image.ImageHash, image.ParentId, image.Created.UtcDateTime, image.Comment, image.Author],
            cancellationToken);
        if (inserted is null)
        {
            return false;
        }

        foreach (var table in tables)
        {
            await engine.ExecuteAsync(
                $"""
                INSERT INTO {Meta}.tables (namespace, repository, image_hash, table_name, table_schema, object_ids, upserted, deleted)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [image.Namespace, schema, image.ImageHash, table.Table, Jsonb.Parameter(JsonSerializer.Serialize(table.Schema, JsonSerializerOptions.Web)),
                 table.ObjectIds.ToArray(), table.Upserted, table.Deleted],
                cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// An image reference: a tag (HEAD, latest, user tag), a full hash, or a unique prefix of at least 6 hex digits.
    /// 404 when nothing matches, 409 when a prefix is ambiguous.
    /// </summary>
    public async Task<string> ResolveAsync(string schema, string? reference, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(reference))
        {
            throw new InvalidInputException("No image", "Name an image: a hash, a unique prefix of at least 6 hex digits, or a tag.");
        }

        if (reference == Latest)
        {
            return (await ImagesAsync(schema, cancellationToken)).FirstOrDefault()?.ImageHash
                ?? throw new ImageNotFoundException(schema, reference);
        }

        var tags = await StoredTagsAsync(schema, cancellationToken);
        if (tags.TryGetValue(reference, out var tagged))
        {
            return tagged;
        }

        if (PrefixPattern().IsMatch(reference))
        {
            var matches = await engine.QueryAsync(
                $"SELECT image_hash FROM {Meta}.images WHERE repository = $1 AND pg_catalog.starts_with(image_hash, $2) LIMIT 2",
                [schema, reference], r => r.GetString(0), cancellationToken);
            if (matches.Count == 2)
            {
                throw new ConflictException("Ambiguous image", $"More than one image of repository \"{schema}\" starts with '{reference}'; give more digits.");
            }

            if (matches.Count == 1)
            {
                return matches[0];
            }
        }

        throw new ImageNotFoundException(schema, Identifiers.Printable(reference));
    }

    /// <summary>Images as the API shows them, with their tags (<c>latest</c> is the newest image).</summary>
    public async Task<IReadOnlyList<ImageInfo>> DescribeAsync(string schema, IReadOnlyList<ImageRow> images, CancellationToken cancellationToken)
    {
        var tags = await StoredTagsAsync(schema, cancellationToken);
        var latest = (await ImagesAsync(schema, cancellationToken)).FirstOrDefault()?.ImageHash;
        var totals = (await engine.QueryAsync(
            $"SELECT image_hash, pg_catalog.count(*)::int, pg_catalog.sum(upserted)::bigint, pg_catalog.sum(deleted)::bigint FROM {Meta}.tables WHERE repository = $1 AND image_hash = ANY($2) GROUP BY image_hash",
            [schema, images.Select(i => i.ImageHash).ToArray()],
            r => (ImageHash: r.GetString(0), Totals: (r.GetInt32(1), r.GetInt64(2), r.GetInt64(3))), cancellationToken))
            .ToDictionary(r => r.ImageHash, r => r.Totals);
        return images.Select(i =>
        {
            var names = tags.Where(t => t.Value == i.ImageHash).Select(t => t.Key).ToList();
            if (i.ImageHash == latest)
            {
                names.Add(Latest);
            }

            var (count, upserted, deleted) = totals.GetValueOrDefault(i.ImageHash);
            return new ImageInfo(i.ImageHash, i.ParentId, i.Created, i.Comment, i.Author, names.Order(StringComparer.Ordinal).ToList(), count, upserted, deleted);
        }).ToList();
    }

    public async Task<ImageInfo> DescribeAsync(string schema, string imageHash, CancellationToken cancellationToken)
    {
        var image = (await ImagesAsync(schema, cancellationToken)).FirstOrDefault(i => i.ImageHash == imageHash)
            ?? throw new ImageNotFoundException(schema, imageHash);
        return (await DescribeAsync(schema, [image], cancellationToken))[0];
    }
}

public sealed class RepositoryNotFoundException(string engine, string schema)
    : EngineException("Repository not found", $"Schema \"{Identifiers.Printable(schema)}\" is not a repository on engine '{engine}': POST …/repositories to init it.", 404);

public sealed class ImageNotFoundException(string schema, string reference)
    : EngineException("Image not found", $"Repository \"{Identifiers.Printable(schema)}\" has no image or tag '{reference}'.", 404);

public sealed class InvalidCatalogueException(string message)
    : EngineException("Invalid catalogue", message, 422);
