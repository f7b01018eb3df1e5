namespace Engine.Api.Engine.Versions;

/// <summary>
/// When a commit stores a table whole instead of appending a fragment to its chain (Splitgraph: snapshot every N).
/// Checkout replays a chain fragment by fragment: each costs a delete join and an insert over its rows on top of the
/// base's copy. Bench P10 (bench/README.md, run 8): a 1M-row base + 10 fragments of 50k rows checked out in 17.5 s, the
/// same content as one snapshot in 7.6 s — each fragment row cost about twice a base row. Past half the base's rows in
/// fragments, a chain's checkout would take more than about twice the snapshot's, so a new snapshot starts there.
/// </summary>
public static class SnapshotPolicy
{
    /// <summary>Fragments a chain may hold after its base (each is two statements at checkout, whatever its size).</summary>
    public const int MaxFragments = 20;

    /// <summary>Tables this small are copied in no time either way: their chains are bounded by length alone.</summary>
    public const long SmallTableRows = 1000;

    /// <summary>
    /// True when the next fragment would make the chain longer than <see cref="MaxFragments"/>, or the fragments would
    /// together hold more than half the base's rows.
    /// </summary>
    /// <param name="chain">The current chain: base rows, fragment rows, objects.</param>
    /// <param name="pendingRows">Raw pending changes (an upper bound of the next fragment's rows).</param>
    public static bool ShouldSnapshot((long BaseRows, long FragmentRows, int Length) chain, long pendingRows) =>
        chain.Length > MaxFragments || chain.FragmentRows + pendingRows > Math.Max(chain.BaseRows / 2, SmallTableRows);
}
