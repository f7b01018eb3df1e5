using SplitgraphAspire.Contracts;

namespace Dashboard.Services;

/// <summary>
/// The order fragments must be applied in: the order they were committed on the engine that made them (transfers
/// keep that time), oldest first. A list's display order (newest first) or the order of ticking boxes is not it.
/// </summary>
public static class CommitOrder
{
    public static IReadOnlyList<ObjectInfo> Of(IEnumerable<ObjectInfo> objects) =>
        objects.OrderBy(o => o.CreatedAt).ThenBy(o => o.ObjectId, StringComparer.Ordinal).ToList();
}
