namespace SplitgraphAspire.Contracts;

// The versions API (issue 18): repositories, images, tags, checkout, diff, push/pull/clone. Routes and status codes
// are in docs/versions-api.md. A repository is a schema of an engine; its tracked tables are versioned together.

/// <summary>Body of <c>POST …/repositories</c>: the schema becomes a repository, its tables tracked, a first image committed.</summary>
/// <param name="Namespace">Optional label (Splitgraph's <c>namespace</c>), kept with the repository's images.</param>
public sealed record InitRepositoryRequest(string Schema, string? Namespace = null, string? Message = null, string? Author = null);

/// <summary>A repository as listed.</summary>
/// <param name="Head">The image the schema was checked out from (tag <c>HEAD</c>); null when never checked out here (a pushed-to remote).</param>
/// <param name="Latest">The newest image (tag <c>latest</c>).</param>
/// <param name="Tables">Tables of the HEAD image (of <c>latest</c> when there is no HEAD).</param>
public sealed record RepositoryInfo(string Schema, string Namespace, string? Head, string? Latest, int ImageCount,
    IReadOnlyList<string> Tables, bool HasPendingChanges);

/// <summary>An image (a commit of a repository).</summary>
/// <param name="ImageHash">64 hex digits from the parent and every table's schema and object list.</param>
/// <param name="Upserted">Rows upserted by this image's new fragments, over all tables (0 for a table unchanged from the parent).</param>
/// <param name="Deleted">Rows deleted by this image's new fragments.</param>
public sealed record ImageInfo(string ImageHash, string? ParentId, DateTimeOffset Created, string? Comment, string? Author,
    IReadOnlyList<string> Tags, int TableCount, long Upserted, long Deleted);

/// <summary>One table of an image: its schema and its ordered object chain (a base snapshot, then fragments).</summary>
/// <param name="Objects">The chain in apply order (same order as <paramref name="ObjectIds"/>), with sizes and row counts.</param>
/// <param name="Upserted">Rows upserted by the object this image added to the chain (0 when the table is unchanged from the parent).</param>
public sealed record ImageTable(string Table, IReadOnlyList<ObjectColumn> Schema, IReadOnlyList<string> ObjectIds,
    IReadOnlyList<ObjectInfo> Objects, long Upserted, long Deleted);

/// <summary><c>GET …/images/{image}</c>: the image and its tables.</summary>
public sealed record ImageDetail(ImageInfo Image, IReadOnlyList<ImageTable> Tables);

/// <summary>A tag. <c>HEAD</c> and <c>latest</c> are maintained by the engine; user tags by <c>PUT …/tags/{tag}</c>.</summary>
public sealed record TagInfo(string Tag, string ImageHash);

/// <summary>Body of <c>PUT …/tags/{tag}</c>: the image (hash, unique prefix of at least 6 digits, or another tag).</summary>
public sealed record SetTagRequest(string Image);

/// <summary>Body of <c>POST …/commit</c>.</summary>
/// <param name="Snapshot">Store every table whole (a new base snapshot) instead of fragments.</param>
public sealed record CommitImageRequest(string? Message = null, string? Author = null, bool Snapshot = false);

/// <summary>Result of a commit: the image, or the unchanged HEAD with <paramref name="Created"/> false when nothing was pending.</summary>
public sealed record CommitImageResult(ImageInfo Image, bool Created);

/// <summary>
/// One table's state against HEAD: <c>unchanged</c>, <c>modified</c> (pending changes), <c>added</c> (in the schema,
/// not in HEAD), <c>removed</c> (in HEAD, gone from the schema). Counts are the raw pending counts as in
/// <see cref="TablePendingCounts"/>.
/// </summary>
public sealed record TableStatus(string Table, string State, long Added, long Removed, long Updated);

/// <summary><c>GET …/status</c>: HEAD and pending changes per table.</summary>
public sealed record RepositoryStatus(string Schema, ImageInfo? Head, IReadOnlyList<TableStatus> Tables, bool HasPendingChanges);

/// <summary>Body of <c>POST …/checkout</c>.</summary>
/// <param name="Image">Hash, unique prefix (at least 6 digits) or tag.</param>
/// <param name="Force">Discard pending changes (and tables not in HEAD) instead of refusing with 409.</param>
public sealed record CheckoutRequest(string Image, bool Force = false);

/// <summary>Result of a checkout.</summary>
/// <param name="CreatedTables">Tables that did not exist and were created from the image's schema.</param>
/// <param name="DroppedTables">Tables of the repository that the image does not have.</param>
/// <param name="DiscardedChanges">Pending changes discarded (only with force).</param>
public sealed record CheckoutResult(ImageInfo Image, IReadOnlyList<string> Tables, IReadOnlyList<string> CreatedTables,
    IReadOnlyList<string> DroppedTables, long DiscardedChanges);

/// <summary>
/// One table of a diff: <c>State</c> is <c>added</c>, <c>removed</c>, <c>modified</c> or <c>unchanged</c>; counts are
/// net row changes from <c>from</c> to <c>to</c> by change key (a key in both with a different row is updated).
/// </summary>
/// <param name="SchemaChanged">The table's columns differ between the two sides (rows are then compared on the key, all columns shown).</param>
public sealed record TableDiff(string Table, string State, long Added, long Removed, long Updated, bool SchemaChanged);

/// <summary><c>GET …/diff?from=&amp;to=</c>; <paramref name="To"/> null means the working state (the live tables).</summary>
public sealed record VersionDiff(string Schema, string From, string? To, IReadOnlyList<TableDiff> Tables);

/// <summary>
/// Body of push, pull and clone. <paramref name="Remote"/> is the other engine; <paramref name="RemoteSchema"/> the
/// repository there (default: the same schema name).
/// </summary>
/// <param name="Verify">Re-hash every object on arrival (as <see cref="TransferRequest.Verify"/>).</param>
/// <param name="Checkout">After pull/clone, check out <c>latest</c> here (refused with 409 on pending changes).</param>
public sealed record VersionTransferRequest(string Remote, string? RemoteSchema = null, bool Verify = false, bool Checkout = false);

/// <summary>Result of push, pull or clone.</summary>
/// <param name="Images">Images copied (parents first).</param>
/// <param name="ImagesSkipped">Images the receiver already had.</param>
/// <param name="Objects">The object transfer: transferred, skipped (already there), missing.</param>
/// <param name="Checkout">The checkout made after a pull/clone with <c>checkout: true</c>.</param>
public sealed record VersionTransferResult(string Schema, string Remote, string RemoteSchema, IReadOnlyList<string> Images,
    IReadOnlyList<string> ImagesSkipped, TransferResult Objects, IReadOnlyList<TagInfo> Tags, CheckoutResult? Checkout);

/// <summary>Result of <c>POST …/cleanup</c>: objects dropped.</summary>
public sealed record CleanupResult(IReadOnlyList<string> Deleted);

/// <summary>Where an object is used: repository (schema), table, image, and its place in that table's chain (0 = base).</summary>
public sealed record ObjectProvenance(string ObjectId, string Schema, string Table, string ImageHash, int Position);
