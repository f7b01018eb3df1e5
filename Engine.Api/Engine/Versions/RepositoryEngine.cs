using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine.Versions;

/// <summary>
/// Splitgraph's repository operations on one engine, each in the engine's one transaction: init, commit, status, log,
/// tags, delete, cleanup. Checkout is <see cref="Checkout"/>, diff <see cref="VersionDiffer"/>, push/pull
/// <see cref="VersionTransfers"/>. Commit and init need <see cref="TableCommitter.Isolation"/> (repeatable read).
/// </summary>
public sealed class RepositoryEngine(SqlEngine engine)
{
    private readonly VersionCatalog _catalog = new(engine);
    private readonly WorkingState _working = new(engine);

    public VersionCatalog Catalog => _catalog;

    /// <summary>The schema (created when missing) becomes a repository: its tables tracked and snapshotted into a first image.</summary>
    public async Task<RepositoryInfo> InitAsync(InitRepositoryRequest request, CancellationToken cancellationToken)
    {
        var schema = request.Schema;
        await _catalog.LockRepositoryAsync(schema, cancellationToken);
        if (await _catalog.ExistsAsync(schema, cancellationToken))
        {
            throw new ConflictException("Repository exists", $"Schema \"{schema}\" is already a repository on engine '{engine.Name}'.");
        }

        await engine.ExecuteAsync($"CREATE SCHEMA IF NOT EXISTS {Identifiers.Quote(schema)}", null, cancellationToken);
        var tables = await _working.TablesAsync(schema, cancellationToken);
        await new ChangeEngine(engine).TrackTablesAsync(tables.Select(t => new TableRef(schema, t)).ToList(), cancellationToken);
        var rows = new List<TableRow>();
        foreach (var table in tables)
        {
            rows.Add(await SnapshotAsync(schema, table, cancellationToken));
        }

        var image = await WriteImageAsync(schema, request.Namespace ?? string.Empty, null, rows, request.Message ?? "Initial image", request.Author, cancellationToken);
        await _catalog.SetTagAsync(schema, VersionCatalog.Head, image.ImageHash, cancellationToken);
        return await InfoAsync(schema, cancellationToken);
    }

    /// <summary>
    /// All pending changes of the repository → one image on top of HEAD. A table gets a fragment appended to its chain,
    /// or a new base snapshot when asked, when its columns changed, when it is new, or by <see cref="SnapshotPolicy"/>.
    /// Nothing pending (and no snapshot asked): HEAD, unchanged.
    /// </summary>
    public async Task<CommitImageResult> CommitAsync(string schema, CommitImageRequest request, CancellationToken cancellationToken)
    {
        await _catalog.LockRepositoryAsync(schema, cancellationToken);
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var head = await _catalog.HeadAsync(schema, cancellationToken)
            ?? throw new ConflictException("Nothing checked out", $"Repository \"{schema}\" on engine '{engine.Name}' has no HEAD: check an image out before committing.");
        var headTables = (await _catalog.TablesAsync(schema, head, cancellationToken)).ToDictionary(t => t.Table);
        var changes = new ChangeEngine(engine);
        var rows = new List<TableRow>();
        var changed = false;
        foreach (var table in await _working.TablesAsync(schema, cancellationToken))
        {
            if (!headTables.TryGetValue(table, out var previous) || !await changes.IsTrackedAsync(schema, table, cancellationToken))
            {
                // New to the repository (or untracked meanwhile, so its changes are unknown): a snapshot, tracked from now on.
                await changes.TrackTablesAsync([new TableRef(schema, table)], cancellationToken);
                rows.Add(await SnapshotAsync(schema, table, cancellationToken));
                changed = true;
                continue;
            }

            var spec = await _working.SpecAsync(schema, table, cancellationToken);
            var pending = await changes.GetAggregateChangesAsync(schema, table, cancellationToken);
            var pendingRows = pending.Added + pending.Removed + pending.Updated;
            if (request.Snapshot || !WorkingState.SameSpec(previous.Schema, spec)
                || (pendingRows > 0 && SnapshotPolicy.ShouldSnapshot(await ChainRowsAsync(previous.ObjectIds, cancellationToken), pendingRows)))
            {
                var snapshot = await SnapshotAsync(schema, table, cancellationToken);
                changed |= !snapshot.ObjectIds.SequenceEqual(previous.ObjectIds);
                rows.Add(snapshot);
                continue;
            }

            var fragment = await new TableCommitter(engine).CommitAsync(schema, table, snapshot: false, cancellationToken);
            if (fragment.ObjectId is null)
            {
                rows.Add(previous with { Upserted = 0, Deleted = 0 });
                continue;
            }

            rows.Add(new TableRow(table, previous.Schema, [.. previous.ObjectIds, fragment.ObjectId], fragment.Upserts, fragment.Deletes));
            changed = true;
        }

        changed |= headTables.Keys.Except(rows.Select(r => r.Table)).Any();
        if (!changed)
        {
            return new CommitImageResult(await _catalog.DescribeAsync(schema, head, cancellationToken), Created: false);
        }

        var ns = (await _catalog.ImagesAsync(schema, cancellationToken)).First(i => i.ImageHash == head).Namespace;
        var image = await WriteImageAsync(schema, ns, head, rows, request.Message, request.Author, cancellationToken);
        await _catalog.SetTagAsync(schema, VersionCatalog.Head, image.ImageHash, cancellationToken);
        return new CommitImageResult(await _catalog.DescribeAsync(schema, image.ImageHash, cancellationToken), Created: true);
    }

    /// <summary>Row counts of a chain: the base's and the fragments' total.</summary>
    private async Task<(long BaseRows, long FragmentRows, int Length)> ChainRowsAsync(IReadOnlyList<string> objectIds, CancellationToken cancellationToken)
    {
        var counts = (await engine.QueryAsync(
            $"SELECT object_id, row_count FROM {ObjectEngine.MetaSchema}.objects WHERE object_id = ANY($1)",
            [objectIds.ToArray()], r => (ObjectId: r.GetString(0), Rows: r.GetInt64(1)), cancellationToken)).ToDictionary(r => r.ObjectId, r => r.Rows);
        return (counts.GetValueOrDefault(objectIds[0]), objectIds.Skip(1).Sum(counts.GetValueOrDefault), objectIds.Count);
    }

    /// <summary>The whole table as one object (a new chain), its pending changes consumed.</summary>
    private async Task<TableRow> SnapshotAsync(string schema, string table, CancellationToken cancellationToken)
    {
        var spec = await _working.SpecAsync(schema, table, cancellationToken);
        var result = await new TableCommitter(engine).CommitAsync(schema, table, snapshot: true, cancellationToken);
        await new ChangeEngine(engine).DiscardPendingChangesAsync(schema, table, cancellationToken);
        return new TableRow(table, spec, [result.ObjectId!], result.Upserts, 0);
    }

    private async Task<ImageRow> WriteImageAsync(string schema, string ns, string? parent, IReadOnlyList<TableRow> tables, string? comment, string? author,
        CancellationToken cancellationToken)
    {
        var image = new ImageRow(ns, VersionCatalog.ComputeHash(parent, tables), parent, DateTimeOffset.UtcNow, comment, author);
        await _catalog.InsertImageAsync(schema, image, tables, cancellationToken);
        return image;
    }

    public async Task<RepositoryInfo> InfoAsync(string schema, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var images = await _catalog.ImagesAsync(schema, cancellationToken);
        var head = await _catalog.HeadAsync(schema, cancellationToken);
        var latest = images[0].ImageHash;
        var tables = await _catalog.TablesAsync(schema, head ?? latest, cancellationToken);
        var status = await _working.StatusAsync(schema, head is null ? [] : tables, cancellationToken);
        return new RepositoryInfo(schema, images[0].Namespace, head, latest, images.Count, tables.Select(t => t.Table).ToList(),
            status.Any(s => s.State != "unchanged"));
    }

    public async Task<IReadOnlyList<RepositoryInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var result = new List<RepositoryInfo>();
        foreach (var schema in await _catalog.RepositoriesAsync(cancellationToken))
        {
            result.Add(await InfoAsync(schema, cancellationToken));
        }

        return result;
    }

    public async Task<RepositoryStatus> StatusAsync(string schema, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var head = await _catalog.HeadAsync(schema, cancellationToken);
        var tables = head is null ? [] : await _catalog.TablesAsync(schema, head, cancellationToken);
        var status = await _working.StatusAsync(schema, tables, cancellationToken);
        return new RepositoryStatus(schema, head is null ? null : await _catalog.DescribeAsync(schema, head, cancellationToken), status,
            status.Any(s => s.State != "unchanged"));
    }

    /// <summary>From <paramref name="from"/> (default HEAD, else latest) back through parents, newest first.</summary>
    public async Task<IReadOnlyList<ImageInfo>> LogAsync(string schema, string? from, int limit, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var start = await _catalog.ResolveAsync(schema, from ?? (await _catalog.HeadAsync(schema, cancellationToken) is null ? VersionCatalog.Latest : VersionCatalog.Head), cancellationToken);
        var images = (await _catalog.ImagesAsync(schema, cancellationToken)).ToDictionary(i => i.ImageHash);
        var chain = new List<ImageRow>();
        for (var hash = start; hash is not null && chain.Count < limit && images.TryGetValue(hash, out var image); hash = image.ParentId)
        {
            chain.Add(image);
        }

        return await _catalog.DescribeAsync(schema, chain, cancellationToken);
    }

    public async Task<IReadOnlyList<ImageInfo>> ImagesAsync(string schema, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        return await _catalog.DescribeAsync(schema, await _catalog.ImagesAsync(schema, cancellationToken), cancellationToken);
    }

    public async Task<ImageDetail> ShowAsync(string schema, string reference, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var hash = await _catalog.ResolveAsync(schema, reference, cancellationToken);
        var objects = (await new ObjectEngine(engine).ListObjectsAsync(cancellationToken)).ToDictionary(o => o.ObjectId);
        var tables = (await _catalog.TablesAsync(schema, hash, cancellationToken)).Select(t => new ImageTable(t.Table, t.Schema, t.ObjectIds,
            t.ObjectIds.Where(objects.ContainsKey).Select(id => objects[id]).ToList(), t.Upserted, t.Deleted)).ToList();
        return new ImageDetail(await _catalog.DescribeAsync(schema, hash, cancellationToken), tables);
    }

    public async Task<IReadOnlyList<TagInfo>> TagsAsync(string schema, CancellationToken cancellationToken)
    {
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var tags = (await _catalog.StoredTagsAsync(schema, cancellationToken)).Select(t => new TagInfo(t.Key, t.Value)).ToList();
        tags.Add(new TagInfo(VersionCatalog.Latest, (await _catalog.ImagesAsync(schema, cancellationToken))[0].ImageHash));
        return tags.OrderBy(t => t.Tag, StringComparer.Ordinal).ToList();
    }

    public async Task<TagInfo> SetTagAsync(string schema, string tag, string reference, CancellationToken cancellationToken)
    {
        await _catalog.LockRepositoryAsync(schema, cancellationToken);
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        var hash = await _catalog.ResolveAsync(schema, reference, cancellationToken);
        await _catalog.SetTagAsync(schema, tag, hash, cancellationToken);
        return new TagInfo(tag, hash);
    }

    public async Task DeleteTagAsync(string schema, string tag, CancellationToken cancellationToken)
    {
        await _catalog.LockRepositoryAsync(schema, cancellationToken);
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        if (!await _catalog.DeleteTagAsync(schema, tag, cancellationToken))
        {
            throw new TagNotFoundException(schema, tag);
        }
    }

    /// <summary>
    /// Removes the repository's images, tables and tags from the catalogue; the schema's tables stay (still tracked).
    /// The images' objects are released: cleanup drops those no other image uses.
    /// </summary>
    public async Task DeleteAsync(string schema, CancellationToken cancellationToken)
    {
        await _catalog.LockRepositoryAsync(schema, cancellationToken);
        await _catalog.RequireRepositoryAsync(schema, cancellationToken);
        const string meta = ObjectEngine.MetaSchema;
        await engine.ExecuteAsync(
            $"""
            INSERT INTO {meta}.released_objects (object_id)
            SELECT DISTINCT pg_catalog.unnest(object_ids) FROM {meta}.tables WHERE repository = $1 ON CONFLICT DO NOTHING
            """, [schema], cancellationToken);
        foreach (var table in new[] { "tags", "tables", "images" })
        {
            await engine.ExecuteAsync($"DELETE FROM {meta}.{table} WHERE repository = $1", [schema], cancellationToken);
        }
    }

    /// <summary>
    /// Drops objects no image references that were released by a deleted repository (with <paramref name="loose"/>,
    /// every unreferenced object, loose ones included). Each object is locked as a commit storing it would lock it, and
    /// checked again under the lock, so an object a running commit is adopting is never dropped.
    /// </summary>
    public async Task<CleanupResult> CleanupAsync(bool loose, CancellationToken cancellationToken)
    {
        const string meta = ObjectEngine.MetaSchema;
        var candidates = await engine.QueryAsync(
            $"""
            SELECT o.object_id FROM {meta}.objects o
            WHERE ($1 OR EXISTS (SELECT 1 FROM {meta}.released_objects r WHERE r.object_id = o.object_id))
              AND NOT EXISTS (SELECT 1 FROM {meta}.tables t WHERE t.object_ids OPERATOR(pg_catalog.@>) ARRAY[o.object_id])
            ORDER BY 1
            """, [loose], r => r.GetString(0), cancellationToken);
        var unused = new List<string>();
        foreach (var id in candidates)
        {
            await engine.ExecuteAsync("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))", [id], cancellationToken);
            if (await engine.ScalarAsync<int?>($"SELECT 1 FROM {meta}.tables WHERE object_ids OPERATOR(pg_catalog.@>) ARRAY[$1::text] LIMIT 1", [id], cancellationToken) is null)
            {
                unused.Add(id);
            }
        }

        var deleted = unused.Count == 0 ? [] : (await new ObjectEngine(engine).DeleteObjectsAsync(unused, cancellationToken)).Deleted;
        await engine.ExecuteAsync(
            $"DELETE FROM {meta}.released_objects r WHERE NOT EXISTS (SELECT 1 FROM {meta}.objects o WHERE o.object_id = r.object_id)",
            null, cancellationToken);
        return new CleanupResult(deleted);
    }

    public async Task<IReadOnlyList<ObjectProvenance>> ProvenanceAsync(CancellationToken cancellationToken) =>
        await engine.QueryAsync(
            $"""
            SELECT u.object_id, t.repository, t.table_name, t.image_hash, (u.ord - 1)::int
            FROM {ObjectEngine.MetaSchema}.tables t, pg_catalog.unnest(t.object_ids) WITH ORDINALITY AS u(object_id, ord)
            ORDER BY 1, 2, 3, 4, 5
            """, null, r => new ObjectProvenance(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4)), cancellationToken);
}

public sealed class TagNotFoundException(string schema, string tag)
    : EngineException("Tag not found", $"Repository \"{Identifiers.Printable(schema)}\" has no tag '{Identifiers.Printable(tag)}'.", 404);
