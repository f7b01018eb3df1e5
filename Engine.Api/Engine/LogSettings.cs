namespace Engine.Api.Engine;

/// <summary>
/// The settings the trigger functions fix (see initialize.sql), set for the rest of the engine's transaction until
/// disposed (then restored): row texts from the log cast back to the same values, whatever the session's settings.
/// </summary>
internal sealed class LogSettings(SqlEngine engine, string[] saved) : IAsyncDisposable
{
    private static readonly string[] Names = ["DateStyle", "IntervalStyle", "TimeZone", "extra_float_digits", "bytea_output"];
    private static readonly string[] Fixed = ["ISO, YMD", "postgres", "UTC", "3", "hex"];

    public static async Task<LogSettings> FixAsync(SqlEngine engine, CancellationToken cancellationToken)
    {
        var saved = await engine.ScalarAsync<string[]>(
            "SELECT pg_catalog.array_agg(pg_catalog.current_setting(n) ORDER BY o) FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(n, o)",
            [ChangeEngine.ArrayParameter(Names, NpgsqlTypes.NpgsqlDbType.Text)], cancellationToken);
        await SetAsync(engine, Fixed, cancellationToken);
        return new LogSettings(engine, saved);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SetAsync(engine, saved, CancellationToken.None);
        }
        catch (EngineException)
        {
            // The statement in between failed and aborted the transaction, which undoes these settings anyway; the
            // caller sees that statement's error, not this one.
        }
    }

    private static Task SetAsync(SqlEngine engine, string[] values, CancellationToken cancellationToken) =>
        engine.ExecuteAsync("SELECT pg_catalog.count(pg_catalog.set_config(n, v, true)) FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS x(n, v)",
            [ChangeEngine.ArrayParameter(Names, NpgsqlTypes.NpgsqlDbType.Text), ChangeEngine.ArrayParameter(values, NpgsqlTypes.NpgsqlDbType.Text)],
            cancellationToken);
}
