namespace Engine.Api.Engine.Versions;

/// <summary>
/// When a commit stores a table whole instead of appending a fragment to its chain (Splitgraph: snapshot every N).
/// Checkout applies a chain fragment by fragment: each fragment costs a delete join and an insert over its rows on
/// top of the base's copy. Bench P12 (bench/README.md) measured a 1M-row table with 10 fragments; see there for numbers.
/// </summary>
public static class SnapshotPolicy
{
    /// <summary>Fragments a chain may hold after its base.</summary>
    public const int MaxFragments = 20;

    /// <summary>
    /// True when the next fragment would make the chain longer than <see cref="MaxFragments"/>, or the fragments would
    /// together hold more rows than the base: replaying them would then write more rows than copying the table once.
    /// </summary>
    /// <param name="chain">The current chain: base rows, fragment rows, objects.</param>
    /// <param name="pendingRows">Raw pending changes (an upper bound of the next fragment's rows).</param>
    public static bool ShouldSnapshot((long BaseRows, long FragmentRows, int Length) chain, long pendingRows) =>
        chain.Length > MaxFragments || chain.FragmentRows + pendingRows > Math.Max(chain.BaseRows, 1000);
}
