using System.Text.Json;
using NpgsqlTypes;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// One entry of a table's net view. Tables with a primary key keep references into the log (<see cref="OldEvent"/>,
/// <see cref="LastEvent"/>) and read the rows per page; without one the rows themselves are kept.
/// </summary>
internal sealed record NetViewEntry(long Position, long LastEvent, string RowKey, bool Upserted, long? OldEvent, bool Live,
    string? OldRow = null, string? NewRow = null)
{
    /// <summary>Budget units (~150 bytes each) the entry holds: one, plus its texts' length for kept rows and long keys.</summary>
    public int Units => 1 + (RowKey.Length + (OldRow?.Length ?? 0) + (NewRow?.Length ?? 0)) / NetViewCache.UnitBytes;
}

/// <summary>Something computed from a table's whole log at one fingerprint; <see cref="Size"/> counts against the cache's budget.</summary>
internal abstract record LogView(string Fingerprint)
{
    public abstract int Size { get; }
}

/// <summary>
/// Which view of which table a cached view is: its kind (<c>net</c>, <c>raw</c>), the engine (scope), the table, the
/// shape it was computed for (table OID, whether the key is the primary key, key and columns with their types) and
/// the log fingerprint. Any difference is another view: after <c>ALTER TABLE … ADD PRIMARY KEY</c>, a type change or
/// a table dropped and made again, the log may be the same but the view is not.
/// </summary>
internal sealed record LogViewKey(string Kind, string Scope, string Schema, string Table, string Shape, string Fingerprint)
{
    /// <summary>The shape part of a key; JSON, so no name can be mistaken for a separator.</summary>
    public static string ShapeOf(ChangeKey key, IEnumerable<TableColumn>? columns) => JsonSerializer.Serialize(new
    {
        key.IsPrimaryKey,
        Key = key.Columns.Select(c => new[] { c.Name, c.Type }),
        Columns = columns?.Select(c => new[] { c.Name, c.Type }),
    });

    public bool SameTable(LogViewKey other) => (Kind, Scope, Schema, Table) == (other.Kind, other.Scope, other.Schema, other.Table);
}

/// <summary>A table's whole net view at one log fingerprint, in position order.</summary>
internal sealed record NetView(string Fingerprint, IReadOnlyList<NetViewEntry> Entries, bool Materialised) : LogView(Fingerprint)
{
    public override int Size { get; } = Entries.Sum(e => e.Units);

    /// <summary>The index of the first entry after <paramref name="position"/> (exclusive).</summary>
    public int IndexAfter(long position)
    {
        var (low, high) = (0, Entries.Count);
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (Entries[middle].Position <= position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}

/// <summary>
/// Net views by (engine, table, key, columns, log fingerprint): a page is a slice of the view computed once for the
/// log as it is, not a recomputation of the whole table's net changes. A view holds while the fingerprint does; any
/// new, committed or discarded change makes a new one. The least recently used views go past a budget of units of
/// ~150 bytes (an entry of a keyed view — a key's text and a few numbers — is one; an entry that keeps its rows, as
/// views without a primary key do, counts their text too: 2M units ≈ 300 MB at most). Computing a view stops once it
/// passes the whole budget: such a view is not kept, its offset and key pages are refused (422, page with
/// <c>after</c>), and <c>after</c> pages are read by SQL as without a cache.
/// </summary>
public sealed class NetViewCache(int maxEntries = 2_000_000)
{
    /// <summary>The bytes one budget unit stands for.</summary>
    internal const int UnitBytes = 150;

    /// <summary>The budget, in units (see <see cref="NetViewEntry.Units"/>).</summary>
    internal int Budget => maxEntries;

    private readonly LinkedList<(LogViewKey Key, LogView View)> _views = new();
    private readonly Lock _gate = new();
    private long _entries;
    private long _computed;

    /// <summary>How many views were computed through this cache (each one a pass over the table's whole log).</summary>
    public long Computed => Interlocked.Read(ref _computed);

    internal void CountComputation() => Interlocked.Increment(ref _computed);

    internal LogView? Get(LogViewKey key)
    {
        lock (_gate)
        {
            for (var node = _views.First; node is not null; node = node.Next)
            {
                if (node.Value.Key.Equals(key))
                {
                    _views.Remove(node);
                    _views.AddFirst(node);
                    return node.Value.View;
                }
            }

            return null;
        }
    }

    internal void Put(LogViewKey key, LogView view)
    {
        if (view.Size > maxEntries)
        {
            return;
        }

        lock (_gate)
        {
            _views.AddFirst((key, view));
            _entries += view.Size;
            while (_entries > maxEntries && _views.Last is { } last)
            {
                _entries -= last.Value.View.Size;
                _views.RemoveLast();
            }
        }
    }

    /// <summary>Drops every view of <paramref name="key"/>'s kind and table (any shape or fingerprint): a superseded view is never read again.</summary>
    internal void Forget(LogViewKey key)
    {
        lock (_gate)
        {
            for (var node = _views.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Key.SameTable(key))
                {
                    _entries -= node.Value.View.Size;
                    _views.Remove(node);
                }

                node = next;
            }
        }
    }
}

/// <summary>Which page of the net view: after a position, at an offset, or the page that holds a key.</summary>
/// <param name="Key">A key to find: a JSON object of the key columns, or a bare value for a one-column key.</param>
public sealed record NetPageRequest(long After = 0, int Limit = 1000, long? Offset = null, string? Key = null);

/// <summary>Reads pages of a table's net view through a <see cref="NetViewCache"/>.</summary>
internal sealed class NetViewReader(SqlEngine engine, string schema, string table, ChangeKey key, IReadOnlyList<TableColumn> columns,
    NetViewCache cache, string scope)
{
    private string Sql(string template, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(template))] string name = "") =>
        ChangeLogSql.Build(template, new ChangeLogTable(schema, table, key), engine.Endpoint.Log, name);

    /// <summary>
    /// The page, or null for an <c>after</c> page (no offset, no key) whose view is not cached: the caller reads that
    /// one by SQL (<see cref="ChangeEngine.GetNetChangesAsync(string, string, long, int, IReadOnlyList{TableColumn}?, CancellationToken)"/>),
    /// which costs one page, not the whole view in memory. 422 for an offset or key page of a view over the budget.
    /// </summary>
    public async Task<ChangePage?> ReadAsync(NetPageRequest request, CancellationToken cancellationToken)
    {
        // Two tries: a view whose log rows went (committed or discarded meanwhile) is computed again once.
        for (var attempt = 0; ; attempt++)
        {
            var byCursor = request.Key is null && request.Offset is null;
            var view = byCursor ? await CachedViewAsync(cancellationToken) : await ViewAsync(cancellationToken)
                ?? throw new NetViewTooLargeException(schema, table, cache.Budget);
            if (view is null)
            {
                return null;
            }

            var start = request.Key is { } wanted
                ? await IndexOfKeyAsync(view, wanted, cancellationToken) / request.Limit * request.Limit
                : request.Offset is { } offset ? (int)Math.Min(offset, view.Entries.Count) : view.IndexAfter(request.After);
            var slice = view.Entries.Skip(start).Take(request.Limit).ToList();
            var entries = await RowsAsync(view, slice, cancellationToken);
            if (entries is null && attempt == 0)
            {
                cache.Forget(CacheKey(""));
                continue;
            }

            var more = start + slice.Count < view.Entries.Count;
            return new ChangePage(entries ?? [], more && slice.Count > 0 ? slice[^1].Position : null, view.Entries.Count, start);
        }
    }

    /// <summary>The table's OID and log fingerprint (see <see cref="ChangeLogSql.Fingerprint"/>).</summary>
    internal static async Task<string> FingerprintAsync(SqlEngine engine, string schema, string table, CancellationToken cancellationToken) =>
        (await engine.QueryFirstOrDefaultAsync(ChangeLogSql.Fingerprint, ChangeLogSql.TableArgs(schema, table), r => r.GetString(0), cancellationToken))!;

    private LogViewKey CacheKey(string fingerprint) => new("net", scope, schema, table, LogViewKey.ShapeOf(key, columns), fingerprint);

    /// <summary>The view of the log as it is if the cache holds it; never computes one.</summary>
    private async Task<NetView?> CachedViewAsync(CancellationToken cancellationToken) =>
        cache.Get(CacheKey(await FingerprintAsync(cancellationToken))) as NetView;

    /// <summary>The view of the log as it is, computed on a miss; null when it passes the cache's whole budget.</summary>
    private async Task<NetView?> ViewAsync(CancellationToken cancellationToken)
    {
        var fingerprint = await FingerprintAsync(cancellationToken);
        var cacheKey = CacheKey(fingerprint);
        if (cache.Get(cacheKey) is NetView cached)
        {
            return cached;
        }

        cache.CountComputation();
        var view = await ComputeAsync(fingerprint, cancellationToken);
        if (view is null)
        {
            return null;
        }

        // Kept only if the log did not move while it was computed (read committed: each statement sees the latest).
        if (await FingerprintAsync(cancellationToken) == fingerprint)
        {
            cache.Forget(cacheKey);
            cache.Put(cacheKey, view);
        }

        return view;
    }

    private Task<string> FingerprintAsync(CancellationToken cancellationToken) => FingerprintAsync(engine, schema, table, cancellationToken);

    /// <summary>The whole view, or null as soon as it passes the budget (reading stops there, at most budget + 1 rows).</summary>
    private async Task<NetView?> ComputeAsync(string fingerprint, CancellationToken cancellationToken)
    {
        var budget = new UnitCount(cache.Budget);
        try
        {
            if (key.IsPrimaryKey)
            {
                var entries = await engine.QueryAsync(Sql(ChangeLogSql.NetIndex),
                    [.. ChangeLogSql.KeyedArgs(schema, table, key), ChangeLogSql.Named("limit", (long)cache.Budget + 1)],
                    r => budget.Add(new NetViewEntry(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetBoolean(3),
                        r.IsDBNull(4) ? null : r.GetInt64(4), r.GetBoolean(5))), cancellationToken);
                return new NetView(fingerprint, entries, false);
            }

            // No primary key: one entry per copy of a row added or removed (a multiset), the row as its key, kept whole.
            await using (await LogSettings.FixAsync(engine, cancellationToken))
            {
                var entries = await engine.QueryAsync(Sql(ChangeLogSql.MultisetPage),
                    [.. ChangeLogSql.TableArgs(schema, table), ChangeLogSql.Named("after", 0L), ChangeLogSql.Named("limit", (long)cache.Budget + 1)],
                    r => budget.Add(new NetViewEntry(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetBoolean(3), null, false,
                        r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5))), cancellationToken);
                return new NetView(fingerprint, entries, true);
            }
        }
        catch (OverBudgetException)
        {
            return null;
        }
    }

    /// <summary>Counts units as rows arrive and stops the read (by throwing) once they pass the budget.</summary>
    private sealed class UnitCount(int budget)
    {
        private long _units;

        public NetViewEntry Add(NetViewEntry entry)
        {
            _units += entry.Units;
            return _units > budget ? throw new OverBudgetException() : entry;
        }
    }

    private sealed class OverBudgetException : Exception;

    /// <summary>The page's entries with their rows, or null when a referenced log row is gone (the log moved on).</summary>
    private async Task<List<ChangeEntry>?> RowsAsync(NetView view, List<NetViewEntry> slice, CancellationToken cancellationToken)
    {
        if (view.Materialised || slice.Count == 0)
        {
            return slice.Select(e => Entry(e, e.OldRow, e.NewRow)).ToList();
        }

        var rows = await engine.QueryAsync(Sql(ChangeLogSql.NetRowsOf),
            [
                .. ChangeLogSql.TableArgs(schema, table),
                ChangeLogSql.Named("old_events", slice.Select(e => e.OldEvent).ToArray(), NpgsqlDbType.Bigint),
                ChangeLogSql.Named("last_events", slice.Select(e => e.LastEvent).ToArray(), NpgsqlDbType.Bigint),
                ChangeLogSql.Named("upserted", slice.Select(e => e.Upserted).ToArray(), NpgsqlDbType.Boolean),
                ChangeLogSql.Named("live", slice.Select(e => e.Live).ToArray(), NpgsqlDbType.Boolean),
                ChangeLogSql.Named("row_keys", slice.Select(e => e.RowKey).ToArray(), NpgsqlDbType.Jsonb),
            ],
            r => (Old: r.IsDBNull(1) ? null : r.GetString(1), New: r.IsDBNull(2) ? null : r.GetString(2), Missing: !r.IsDBNull(3) && !r.GetBoolean(3)),
            cancellationToken);
        if (rows.Any(r => r.Missing))
        {
            return null;
        }

        return slice.Select((e, i) => Entry(e, rows[i].Old, rows[i].New)).ToList();
    }

    private static ChangeEntry Entry(NetViewEntry entry, string? oldRow, string? newRow) => new(
        entry.LastEvent,
        JsonDocument.Parse(entry.RowKey).RootElement,
        entry.Upserted,
        oldRow is null ? null : JsonDocument.Parse(oldRow).RootElement,
        newRow is null ? null : JsonDocument.Parse(newRow).RootElement);

    /// <summary>
    /// The index of a key's entry: <paramref name="wanted"/> as a JSON object of the key columns, or for a one-column key
    /// a bare value (read as JSON, else as text). 404 when no net change has that key.
    /// </summary>
    private async Task<int> IndexOfKeyAsync(NetView view, string wanted, CancellationToken cancellationToken)
    {
        var candidates = new List<string>();
        JsonElement? parsed = null;
        try
        {
            parsed = JsonDocument.Parse(wanted).RootElement;
        }
        catch (JsonException)
        {
        }

        if (parsed is { ValueKind: JsonValueKind.Object } obj)
        {
            candidates.Add(obj.GetRawText());
        }
        else if (key.Columns.Count == 1)
        {
            var column = key.Columns[0].Name;
            if (parsed is { } value)
            {
                candidates.Add(JsonSerializer.Serialize(new Dictionary<string, JsonElement> { [column] = value }));
            }

            candidates.Add(JsonSerializer.Serialize(new Dictionary<string, string> { [column] = wanted }));
        }
        else
        {
            throw new InvalidInputException("Invalid key", $"The table's key has {key.Columns.Count} columns ({string.Join(", ", key.Names)}): give the key as a JSON object of them.");
        }

        // jsonb's own text form, as the view's keys are written.
        var canonical = (await engine.QueryAsync("SELECT x::jsonb::text FROM pg_catalog.unnest($1::text[]) AS x",
            [ChangeEngine.ArrayParameter(candidates.ToArray(), NpgsqlDbType.Text)], r => r.GetString(0), cancellationToken)).ToHashSet();
        for (var i = 0; i < view.Entries.Count; i++)
        {
            if (canonical.Contains(view.Entries[i].RowKey))
            {
                return i;
            }
        }

        throw new KeyNotPendingException(schema, table, wanted);
    }
}

public sealed class NetViewTooLargeException(string schema, string table, int budget)
    : EngineException("Net view too large",
        $"The net changes of \"{schema}\".\"{table}\" pass the API's net-view budget ({budget:N0} units of ~{NetViewCache.UnitBytes} bytes), too many to page by offset or key: page with after= (the previous page's nextAfter).", 422);

public sealed class KeyNotPendingException(string schema, string table, string key)
    : EngineException("Key not among the changes", $"No net change of \"{schema}\".\"{table}\" has the key {key}.", 404);
