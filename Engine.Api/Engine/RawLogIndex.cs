using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// How many raw entries each log row of a table gives (a bulk entry its keys, a key-changing update two, others one),
/// as running totals: the raw log's exact total, and the cursor of any offset, without walking the pages before it.
/// </summary>
internal sealed record RawLogIndex(string Fingerprint, long[] Events, long[] Before, bool[] Bulk, long Total) : LogView(Fingerprint)
{
    public override int Size => Events.Length;

    /// <summary>The cursor (exclusive position) just before the entry at <paramref name="offset"/> (&lt; <see cref="Total"/>).</summary>
    public long CursorBefore(long offset)
    {
        // The last log row whose entries start at or before the offset.
        var (low, high) = (0, Events.Length - 1);
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (Before[middle] <= offset)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        var k = offset - Before[low];
        // Per-row entries are subs 0, 1; a bulk entry's keys subs 1…n (see LogPosition).
        return k == 0 ? LogPosition.Of(Events[low], 0) - 1 : LogPosition.Of(Events[low], (int)(Bulk[low] ? k : k - 1));
    }
}

/// <summary>Pages of the raw log by offset, through the <see cref="NetViewCache"/> (one index per log fingerprint).</summary>
internal sealed class RawLogPager(SqlEngine engine, string schema, string table, ChangeKey key, NetViewCache cache, string scope)
{
    public async Task<ChangePage> ReadAsync(long offset, int limit, CancellationToken cancellationToken)
    {
        var index = await IndexAsync(cancellationToken);
        if (offset >= index.Total)
        {
            return new ChangePage([], null, index.Total, offset);
        }

        var page = await new LogPageReader(engine, schema, table, key).ReadAsync(index.CursorBefore(offset), limit, cancellationToken);
        return page with { Total = index.Total, Offset = offset };
    }

    private async Task<RawLogIndex> IndexAsync(CancellationToken cancellationToken)
    {
        var fingerprint = await NetViewReader.FingerprintAsync(engine, schema, table, cancellationToken);
        var cacheKey = new LogViewKey("raw", scope, schema, table, LogViewKey.ShapeOf(key, null), fingerprint);
        if (cache.Get(cacheKey) is RawLogIndex cached)
        {
            return cached;
        }

        cache.CountComputation();
        var rows = await engine.QueryAsync(ChangeLogSql.RawLogCounts, ChangeLogSql.KeyedArgs(schema, table, key),
            r => (EventId: r.GetInt64(0), Bulk: r.GetBoolean(1), Entries: r.GetInt64(2)), cancellationToken);
        var (events, before, bulk) = (new long[rows.Count], new long[rows.Count], new bool[rows.Count]);
        long total = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            (events[i], bulk[i], before[i]) = (rows[i].EventId, rows[i].Bulk, total);
            total += rows[i].Entries;
        }

        var index = new RawLogIndex(fingerprint, events, before, bulk, total);
        if (await NetViewReader.FingerprintAsync(engine, schema, table, cancellationToken) == fingerprint)
        {
            cache.Forget(cacheKey);
            cache.Put(cacheKey, index);
        }

        return index;
    }
}
