using System.Collections.Concurrent;
using System.Text;
using Engine.Api.Engine;
using Npgsql;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Streams (table and object dumps) hold a pooled connection for as long as their client reads. So that slow
/// readers cannot take the whole pool, each engine admits at most <c>Engine:Dumps:MaxConcurrentPerEngine</c>
/// (default 16, never more than half the pool: the rest is the reserve for every other request) and answers 429 with
/// Retry-After beyond that; a stream whose client reads nothing for <c>Engine:Dumps:IdleTimeoutSeconds</c> (default 30)
/// is aborted.
/// </summary>
public sealed class DumpGate(IConfiguration configuration, EngineRegistry registry)
{
    public const int RetryAfterSeconds = 5;

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _slots = new(StringComparer.Ordinal);
    private readonly int _configured = configuration.GetValue("Engine:Dumps:MaxConcurrentPerEngine", 16);

    public TimeSpan IdleTimeout { get; } = TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue("Engine:Dumps:IdleTimeoutSeconds", 30.0)));

    /// <summary>How many dumps <paramref name="engine"/> streams at once.</summary>
    public int Capacity(string engine)
    {
        var poolSize = new NpgsqlConnectionStringBuilder(registry.Get(engine).DataSource.ConnectionString).MaxPoolSize;
        return Math.Clamp(_configured, 1, Math.Max(1, poolSize / 2));
    }

    /// <summary>A slot for one dump of <paramref name="engine"/>, or null when all are taken.</summary>
    public IDisposable? TryEnter(string engine)
    {
        var slots = _slots.GetOrAdd(engine, name => new SemaphoreSlim(Capacity(name)));
        return slots.Wait(0) ? new Slot(slots) : null;
    }

    /// <summary>
    /// Streams <paramref name="write"/> on <paramref name="engine"/> (already checked, its connection open) inside a
    /// slot, or a 429 problem if none is free. The engine and the slot are released when the response ends.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000:Dispose objects before losing scope",
        Justification = "The slot and the engine are disposed here on failure; on success GatedStreamResult owns them and releases both when the response ends.")]
    public async Task<IResult> StreamAsync(string engineName, Func<SqlEngine, CancellationToken, Task> check,
        Func<SqlEngine, TextWriter, Task> write, string contentType, string? fileDownloadName, CancellationToken cancellationToken)
    {
        var slot = TryEnter(engineName);
        if (slot is null)
        {
            return new TooManyDumpsResult(engineName, Capacity(engineName));
        }

        // One connection per dump: the check and the stream share it, so a 404 still comes before the response starts.
        var engine = new SqlEngine(registry.Get(engineName));
        try
        {
            await check(engine, cancellationToken);
        }
        catch
        {
            await engine.DisposeAsync();
            slot.Dispose();
            throw;
        }

        return new GatedStreamResult(slot, engine, write, contentType, fileDownloadName, IdleTimeout);
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }

    private sealed class GatedStreamResult(IDisposable slot, SqlEngine engine, Func<SqlEngine, TextWriter, Task> write,
        string contentType, string? fileDownloadName, TimeSpan idleTimeout) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            try
            {
                await Results.Stream(async body =>
                {
                    await using var guarded = new IdleTimeoutStream(body, idleTimeout, httpContext.Abort);
                    await using var writer = new StreamWriter(guarded, new UTF8Encoding(false), bufferSize: 1 << 16);
                    await write(engine, writer);
                }, contentType, fileDownloadName).ExecuteAsync(httpContext);
            }
            finally
            {
                await engine.DisposeAsync();
                slot.Dispose();
            }
        }
    }

    private sealed class TooManyDumpsResult(string engine, int capacity) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many dumps",
                detail: $"Engine '{Identifiers.Printable(engine)}' is already streaming {capacity} dumps (Engine:Dumps:MaxConcurrentPerEngine); " +
                        $"retry after {RetryAfterSeconds} s.").ExecuteAsync(httpContext);
        }
    }
}

/// <summary>
/// A response body whose every write must complete within the idle timeout: a client that stops reading makes
/// writes wait forever, holding the dump's connection, so the request is aborted instead.
/// </summary>
public sealed class IdleTimeoutStream(Stream inner, TimeSpan idleTimeout, Action abort) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        await GuardAsync(token => inner.WriteAsync(buffer, token).AsTask(), cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        GuardAsync(token => inner.WriteAsync(buffer.AsMemory(offset, count), token).AsTask(), cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(inner.FlushAsync, cancellationToken);

    public override void Flush() => throw new NotSupportedException("Synchronous writes block a thread on a slow client.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous writes block a thread on a slow client.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task GuardAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
        try
        {
            await operation(idle.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            abort();
            throw new IOException($"The client read nothing for {idleTimeout.TotalSeconds:0} s; the stream was aborted.");
        }
    }
}
