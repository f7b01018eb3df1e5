using System.Text.Json;

namespace Engine.Tests.Infrastructure;

/// <summary>Arranging objects and commits for tests.</summary>
public static class Objects
{
    /// <summary>
    /// Stores an object from literal rows: a staging table <c>(columns…, sg_ud_flag)</c> filled with
    /// <paramref name="values"/> (SQL VALUES list), stored under its content-addressed ID.
    /// </summary>
    public static async Task<string> FromRowsAsync(TestDatabase db, string schema, string columns, string values)
    {
        var staging = "stg_" + Guid.NewGuid().ToString("N")[..8];
        await db.ExecAsync($"CREATE TABLE \"{schema}\".{staging} ({columns}, sg_ud_flag boolean); INSERT INTO \"{schema}\".{staging} VALUES {values}");
        await using var engine = db.Engine();
        var (id, _) = await new ObjectEngine(engine).StoreContentAddressedAsync(schema, staging);
        await engine.CommitAsync();
        return id;
    }

    /// <summary>Commits a tracked table's pending changes (repeatable read, as the API does).</summary>
    public static async Task<CommitResult> CommitAsync(TestDatabase db, string schema, string table, bool snapshot = false)
    {
        await using var engine = db.Engine();
        engine.IsolationLevel = TableCommitter.Isolation;
        var result = await new TableCommitter(engine).CommitAsync(schema, table, snapshot);
        await engine.CommitAsync();
        return result;
    }

    public static async Task<ApplyResult> ApplyAsync(TestDatabase db, IReadOnlyList<string> ids, string schema, string table, IReadOnlyList<RowFilter>? filter = null)
    {
        await using var engine = db.Engine();
        var result = await new FragmentApplier(engine).ApplyFragmentsAsync(ids, schema, table, filter);
        await engine.CommitAsync();
        return result;
    }

    public static async Task TrackAsync(TestDatabase db, string schema, string table)
    {
        await using var engine = db.Engine();
        await new ChangeEngine(engine).TrackTablesAsync([new TableRef(schema, table)]);
        await engine.CommitAsync();
    }

    /// <summary>An empty table with the same columns as <paramref name="table"/>, filled with its current rows.</summary>
    public static async Task CopyTableAsync(TestDatabase db, string schema, string table, string copy)
    {
        var source = $"\"{schema}\".\"{table.Replace("\"", "\"\"")}\"";
        var target = $"\"{schema}\".\"{copy.Replace("\"", "\"\"")}\"";
        await db.ExecAsync($"CREATE TABLE {target} (LIKE {source}); INSERT INTO {target} SELECT * FROM {source}");
    }

    /// <summary>Commits <c>t</c>, applies the object to <c>before</c> (the copy taken before any change) and asserts it equals the live table.</summary>
    public static async Task<CommitResult> CommitAndCompareAsync(TestDatabase db, string schema)
    {
        var result = await CommitAsync(db, schema, "t");
        if (result.ObjectId is not null)
        {
            await ApplyAsync(db, [result.ObjectId], schema, "before");
        }

        Assert.Equal(await db.RowsAsync($"{schema}.t"), await db.RowsAsync($"{schema}.before"));
        return result;
    }

    public static JsonElement Key(object value) => JsonSerializer.SerializeToElement(value);
}
