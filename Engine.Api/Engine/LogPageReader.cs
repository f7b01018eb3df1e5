using System.Text.Json;
using System.Text.Json.Nodes;
using NpgsqlTypes;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// The raw view of one table's log, a page of entries at a time, in log order. Per-row log rows are expanded here;
/// bulk insert entries (keys only) in SQL, which also recovers each inserted row: the old row of the key's next
/// change, or the live row when there is none.
/// </summary>
internal sealed class LogPageReader(SqlEngine engine, string schema, string table, ChangeKey key)
{
    private sealed record Slot(long Position, ChangeEntry? Entry);

    /// <summary>One log row: a bulk entry's key count, or a per-row entry's action, row and changed fields as text.</summary>
    private sealed record LogRow(long EventId, string Action, int? BulkKeys, string? RowData, string? ChangedFields);

    public async Task<ChangePage> ReadAsync(long after, int limit, CancellationToken cancellationToken)
    {
        var afterEvent = LogPosition.Split(after).EventId;
        // Every log row gives at least one entry and only the cursor's own row can be partly read: limit + 1 rows do.
        // A bulk entry's key arrays (up to ~100 kB) stay on the server: only the keys of the page are read, below.
        var rows = await engine.QueryAsync(ChangeLogSql.RawLogPage,
            [.. ChangeLogSql.TableArgs(schema, table), ChangeLogSql.Named("after_event", afterEvent), ChangeLogSql.Named("limit", limit + 1)],
            r => new LogRow(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetInt32(2),
                r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)),
            cancellationToken);

        var slots = new List<Slot>(Math.Min(limit, 1024));
        var more = rows.Count > limit;
        foreach (var row in rows)
        {
            var eventId = row.EventId;
            var candidates = row.BulkKeys is { } keys
                ? Enumerable.Range(1, keys).Select(sub => new Slot(LogPosition.Of(eventId, sub), null))
                : LogEntryExpander.Expand(eventId, row.Action[0], row.RowData!, row.ChangedFields, key.Names)
                    .Select((entry, sub) => new Slot(LogPosition.Of(eventId, sub), entry));
            foreach (var slot in candidates.Where(s => s.Position > after))
            {
                if (slots.Count == limit)
                {
                    more = true;
                    break;
                }

                slots.Add(slot);
            }

            if (slots.Count == limit && more)
            {
                break;
            }
        }

        var bulk = await ReadBulkEntriesAsync(slots.Where(s => s.Entry is null).Select(s => s.Position).ToList(), cancellationToken);
        var entries = slots.Select(s => s.Entry ?? bulk[s.Position]).ToList();
        return new ChangePage(entries, more && slots.Count > 0 ? slots[^1].Position : null);
    }

    /// <summary>The entries of bulk-insert positions: key from the entry, row from the key's next change or the table.</summary>
    private async Task<Dictionary<long, ChangeEntry>> ReadBulkEntriesAsync(IReadOnlyList<long> positions, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, ChangeEntry>(positions.Count);
        if (positions.Count == 0)
        {
            return found;
        }

        var ranges = positions.Select(LogPosition.Split).GroupBy(p => p.EventId)
            .Select(g => (EventId: g.Key, First: g.Min(p => p.Sub), Last: g.Max(p => p.Sub))).ToList();
        var rows = await engine.QueryAsync(
            ChangeLogSql.Build(ChangeLogSql.RawBulkEntries, new ChangeLogTable(schema, table, key), engine.Endpoint.Log),
            [
                .. ChangeLogSql.KeyedArgs(schema, table, key),
                ChangeLogSql.Named("event_ids", ranges.Select(r => r.EventId).ToArray(), NpgsqlDbType.Bigint),
                ChangeLogSql.Named("first_subs", ranges.Select(r => r.First).ToArray(), NpgsqlDbType.Integer),
                ChangeLogSql.Named("last_subs", ranges.Select(r => r.Last).ToArray(), NpgsqlDbType.Integer),
                ChangeLogSql.Named("first_event", ranges.Min(r => r.EventId)),
            ],
            r => (EventId: r.GetInt64(0), Sub: r.GetInt32(1), Key: r.GetString(2), Row: r.IsDBNull(3) ? null : r.GetString(3)),
            cancellationToken);

        foreach (var row in rows)
        {
            var primaryKey = JsonDocument.Parse(row.Key).RootElement;
            // No later change and no live row would mean the row changed while untracked: show what is known, its key.
            var inserted = row.Row is { } text ? JsonDocument.Parse(text).RootElement : primaryKey;
            found[LogPosition.Of(row.EventId, row.Sub)] = new ChangeEntry(row.EventId, primaryKey, true, null, inserted);
        }

        return found;
    }
}

/// <summary>Turns one per-row log row into change entries (C#: only pages of the log come through here).</summary>
internal static class LogEntryExpander
{
    public static IEnumerable<ChangeEntry> Expand(long eventId, char action, string rowData, string? changedFields, IReadOnlyList<string> keyColumns)
    {
        var row = JsonNode.Parse(rowData)!.AsObject();
        switch (action)
        {
            case 'I':
                yield return new ChangeEntry(eventId, KeyOf(row, keyColumns), true, null, ToElement(row));
                break;
            case 'D':
                yield return new ChangeEntry(eventId, KeyOf(row, keyColumns), false, ToElement(row), null);
                break;
            default:
                var changed = changedFields is null ? new JsonObject() : JsonNode.Parse(changedFields)!.AsObject();
                var newRow = row.DeepClone().AsObject();
                foreach (var (name, value) in changed)
                {
                    newRow[name] = value?.DeepClone();
                }

                // changed_fields holds the new row (older logs: only the changed columns): a key changed if a value differs.
                if (keyColumns.Any(k => changed.ContainsKey(k) && !JsonNode.DeepEquals(changed[k], row[k])))
                {
                    yield return new ChangeEntry(eventId, KeyOf(row, keyColumns), false, ToElement(row), null);
                    yield return new ChangeEntry(eventId, KeyOf(newRow, keyColumns), true, null, ToElement(newRow));
                }
                else
                {
                    yield return new ChangeEntry(eventId, KeyOf(row, keyColumns), true, ToElement(row), ToElement(newRow));
                }

                break;
        }
    }

    private static JsonElement KeyOf(JsonObject row, IReadOnlyList<string> keyColumns)
    {
        var key = new JsonObject();
        foreach (var column in keyColumns)
        {
            key[column] = row[column]?.DeepClone();
        }

        return ToElement(key);
    }

    private static JsonElement ToElement(JsonNode node) => JsonSerializer.SerializeToElement(node);
}
