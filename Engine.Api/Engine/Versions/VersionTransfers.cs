using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine.Versions;

/// <summary>
/// Push, pull and clone of a repository between this engine (<c>local</c>) and <c>remote</c>. First the objects of the
/// images the receiver lacks move with <see cref="ObjectTransfers"/> (each its own transaction, skipped when present),
/// then the images, tables and user tags are written on the receiver in one transaction that checks every object of
/// every written chain is there: a receiver never holds an image whose objects are missing, and a run repeated after
/// a crash moves only what is still missing. No merge: a receiver with images the sender lacks refuses (409).
/// </summary>
public sealed class VersionTransfers(EngineEndpoint local, EngineEndpoint remote, IProgress<TransferProgress>? progress = null, bool verify = false)
{
    /// <summary>What one side holds: images (newest first), their tables, user tags.</summary>
    private sealed record Snapshot(IReadOnlyList<ImageRow> Images, Dictionary<string, List<TableRow>> Tables, Dictionary<string, string> Tags);

    public async Task<VersionTransferResult> PushAsync(string schema, string remoteSchema, CancellationToken cancellationToken)
    {
        var source = await ReadAsync(local, schema, required: true, cancellationToken);
        var target = await ReadAsync(remote, remoteSchema, required: false, cancellationToken);
        RefuseDiverged(target, source, () => new ConflictException("Remote has newer images",
            $"Repository \"{remoteSchema}\" on engine '{remote.Name}' has images that \"{schema}\" on '{local.Name}' lacks ({Missing(target, source)}): pull first (there is no merge)."));
        var objects = await MoveObjectsAsync(source, target, upload: true, cancellationToken);
        var (images, skipped, tags) = await WriteMetadataAsync(remote, remoteSchema, source, cancellationToken,
            receiverAhead: t => new ConflictException("Remote has newer images",
                $"Repository \"{remoteSchema}\" on engine '{remote.Name}' received images meanwhile that \"{schema}\" lacks ({Missing(t, source)}): pull first."));
        return new VersionTransferResult(schema, remote.Name, remoteSchema, images, skipped, objects, tags, null);
    }

    /// <summary>Remote → this engine; <paramref name="create"/> (clone) makes the repository here when it does not exist.</summary>
    public async Task<VersionTransferResult> PullAsync(string schema, string remoteSchema, bool create, CancellationToken cancellationToken)
    {
        var source = await ReadAsync(remote, remoteSchema, required: true, cancellationToken);
        var target = await ReadAsync(local, schema, required: !create, cancellationToken);
        RefuseDiverged(target, source, () => new ConflictException("Newer local commits",
            $"Repository \"{schema}\" on engine '{local.Name}' has newer local commits that \"{remoteSchema}\" on '{remote.Name}' lacks ({Missing(target, source)}): push them first (there is no merge)."));
        var objects = await MoveObjectsAsync(source, target, upload: false, cancellationToken);
        var (images, skipped, tags) = await WriteMetadataAsync(local, schema, source, cancellationToken,
            receiverAhead: t => new ConflictException("Newer local commits",
                $"Repository \"{schema}\" on engine '{local.Name}' got local commits meanwhile that the remote lacks ({Missing(t, source)})."));
        return new VersionTransferResult(schema, remote.Name, remoteSchema, images, skipped, objects, tags, null);
    }

    private static async Task<Snapshot> ReadAsync(EngineEndpoint endpoint, string schema, bool required, CancellationToken cancellationToken)
    {
        await using var engine = new SqlEngine(endpoint);
        var catalog = new VersionCatalog(engine);
        if (!await catalog.ExistsAsync(schema, cancellationToken))
        {
            return required ? throw new RepositoryNotFoundException(endpoint.Name, schema) : new Snapshot([], [], []);
        }

        var images = await catalog.ImagesAsync(schema, cancellationToken);
        var tables = await catalog.AllTablesAsync(schema, cancellationToken);
        var tags = (await catalog.StoredTagsAsync(schema, cancellationToken)).Where(t => t.Key != VersionCatalog.Head).ToDictionary();
        await engine.CommitAsync(cancellationToken);
        return new Snapshot(images, tables, tags);
    }

    private static void RefuseDiverged(Snapshot receiver, Snapshot sender, Func<Exception> refusal)
    {
        if (Missing(receiver, sender).Length > 0)
        {
            throw refusal();
        }
    }

    /// <summary>Images of <paramref name="receiver"/> that <paramref name="sender"/> lacks, for messages (short hashes).</summary>
    private static string Missing(Snapshot receiver, Snapshot sender) => string.Join(", ",
        receiver.Images.Select(i => i.ImageHash).Except(sender.Images.Select(i => i.ImageHash)).Select(h => h[..12]));

    private async Task<TransferResult> MoveObjectsAsync(Snapshot sender, Snapshot receiver, bool upload, CancellationToken cancellationToken)
    {
        var have = receiver.Images.Select(i => i.ImageHash).ToHashSet();
        var ids = ParentsFirst(sender.Images).Where(i => !have.Contains(i.ImageHash))
            .SelectMany(i => sender.Tables.GetValueOrDefault(i.ImageHash) ?? []).SelectMany(t => t.ObjectIds).Distinct().ToList();
        if (ids.Count == 0)
        {
            progress?.Report(new TransferProgress(0, 0, 0, 0, null));
            return new TransferResult([], [], []);
        }

        var transfers = new ObjectTransfers(local, remote, progress, verify);
        var result = upload ? await transfers.UploadObjectsAsync(ids, cancellationToken) : await transfers.DownloadObjectsAsync(ids, cancellationToken);
        if (result.Missing.Count > 0)
        {
            throw new ConflictException("Objects missing", $"The sending engine lacks objects its images use: {string.Join(", ", result.Missing)}; nothing was written.");
        }

        return result;
    }

    /// <summary>Images (parents first), their tables and the user tags, in one transaction on the receiver.</summary>
    private static async Task<(List<string> Written, List<string> Skipped, List<TagInfo> Tags)> WriteMetadataAsync(EngineEndpoint receiver, string schema,
        Snapshot sender, CancellationToken cancellationToken, Func<Snapshot, Exception> receiverAhead)
    {
        await using var engine = new SqlEngine(receiver);
        var catalog = new VersionCatalog(engine);
        await catalog.LockRepositoryAsync(schema, cancellationToken);
        // Read again under the lock: a commit or another transfer may have written meanwhile.
        var present = await catalog.ExistsAsync(schema, cancellationToken) ? await catalog.ImagesAsync(schema, cancellationToken) : [];
        var receiverNow = new Snapshot(present, [], []);
        if (Missing(receiverNow, sender).Length > 0)
        {
            throw receiverAhead(receiverNow);
        }

        var have = present.Select(i => i.ImageHash).ToHashSet();
        var written = new List<string>();
        var skipped = new List<string>();
        var objects = new ObjectEngine(engine);
        // The objects stay until commit: a cleanup or object delete waits for these locks and then sees them in use.
        await objects.LockObjectsAsync(sender.Images.Where(i => !have.Contains(i.ImageHash))
            .SelectMany(i => sender.Tables.GetValueOrDefault(i.ImageHash) ?? []).SelectMany(t => t.ObjectIds), cancellationToken);
        foreach (var image in ParentsFirst(sender.Images))
        {
            if (have.Contains(image.ImageHash))
            {
                skipped.Add(image.ImageHash);
                continue;
            }

            var tables = sender.Tables.GetValueOrDefault(image.ImageHash) ?? [];
            // The hash is recomputed from what arrived: a catalogue that does not add up is refused, not stored.
            if (!VersionCatalog.IsImageHash(image.ImageHash) || VersionCatalog.ComputeHash(image.ParentId, tables) != image.ImageHash
                || (image.ParentId is not null && !VersionCatalog.IsImageHash(image.ParentId)))
            {
                throw new ConflictException("Image does not verify", $"Image {Identifiers.Printable(image.ImageHash)} does not match its own tables; nothing was written.");
            }

            await objects.RequireAsync(tables.SelectMany(t => t.ObjectIds).Distinct().ToList() is { Count: > 0 } ids ? ids : [], cancellationToken);
            await RequireBaseSpecsAsync(objects, image, tables, cancellationToken);
            await catalog.InsertImageAsync(schema, image, tables, cancellationToken);
            written.Add(image.ImageHash);
        }

        var tags = new List<TagInfo>();
        // A sender's tag that cannot be a tag here (latest is computed, names must be identifiers) is left behind, as is
        // one whose image the receiver lacks; neither stops the transfer, and only tags written are reported.
        foreach (var (tag, hash) in sender.Tags.Where(t => t.Key != VersionCatalog.Latest && IsTagName(t.Key)).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (await catalog.SetTagAsync(schema, tag, hash, cancellationToken))
            {
                tags.Add(new TagInfo(tag, hash));
            }
        }

        await engine.CommitAsync(cancellationToken);
        return (written, skipped, tags);
    }

    private static bool IsTagName(string tag)
    {
        try
        {
            Identifiers.Validate(tag, "tag name");
            return true;
        }
        catch (InvalidInputException)
        {
            return false;
        }
    }

    /// <summary>
    /// 409 unless every table's recorded columns are its base object's (names, types, key, in order): an image whose
    /// schema disagrees with its data would check out tables that do not hold their rows.
    /// </summary>
    private static async Task RequireBaseSpecsAsync(ObjectEngine objects, ImageRow image, IReadOnlyList<TableRow> tables, CancellationToken cancellationToken)
    {
        foreach (var table in tables)
        {
            var spec = (await objects.GetObjectSchemaAsync(table.ObjectIds[0], cancellationToken)).Where(c => c.Name != ObjectEngine.UpsertFlag).ToList();
            if (!WorkingState.SameSpec(table.Schema, spec))
            {
                throw new ConflictException("Image does not match its objects",
                    $"Table \"{Identifiers.Printable(table.Table)}\" of image {image.ImageHash[..12]} records columns that are not those of its base object {table.ObjectIds[0]}; nothing was written.");
            }
        }
    }

    /// <summary>
    /// Images ordered so that every parent comes before its children (the order foreign keys need); iterative, so a
    /// history of any length (or a cycle in a foreign catalogue) cannot exhaust the stack.
    /// </summary>
    private static List<ImageRow> ParentsFirst(IReadOnlyList<ImageRow> images)
    {
        var byHash = images.GroupBy(i => i.ImageHash).ToDictionary(g => g.Key, g => g.First());
        var ordered = new List<ImageRow>();
        var seen = new HashSet<string>();
        foreach (var start in images.OrderBy(i => i.Created))
        {
            // The chain of ancestors not yet placed, walked up, then placed oldest first.
            var chain = new List<ImageRow>();
            for (var image = start; image is not null && seen.Add(image.ImageHash);
                 image = image.ParentId is not null ? byHash.GetValueOrDefault(image.ParentId) : null)
            {
                chain.Add(image);
            }

            chain.Reverse();
            ordered.AddRange(chain);
        }

        return ordered;
    }
}
