using System.Data;
using Engine.Api.Engine;

namespace Engine.Api.Infrastructure;

/// <summary>
/// The engine connections of one request (a unit of work): each engine opened at most once, all committed by
/// <see cref="Behaviors.TransactionBehavior{TRequest,TResponse}"/> when the handler succeeds, rolled back otherwise.
/// </summary>
public sealed class EngineSessions(EngineRegistry registry) : IAsyncDisposable
{
    // In the order the request opened them: the order they are committed in.
    private readonly List<SqlEngine> _open = [];

    /// <summary>
    /// The request's session on <paramref name="engine"/>, opened at <paramref name="isolation"/> on first use. Asking
    /// again at another isolation is a programming error (the session's transaction may already run at the first one),
    /// so it throws instead of quietly handing back a session at the wrong level.
    /// </summary>
    public SqlEngine Open(string engine, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        if (_open.Find(s => s.Name == engine) is { } open)
        {
            return open.IsolationLevel == isolation
                ? open
                : throw new InvalidOperationException(
                    $"Engine '{engine}' is already open in this request at {open.IsolationLevel}; it cannot be opened again at {isolation}.");
        }

        var session = new SqlEngine(registry.Get(engine)) { IsolationLevel = isolation };
        _open.Add(session);
        return session;
    }

    /// <summary>
    /// Commits the engines one after another, in the order they were opened. Nothing makes this atomic across engines
    /// (no two-phase commit), and committing them concurrently would not either: it would only make a failure leave an
    /// unknown subset committed. One after another, a failure leaves exactly the engines before it committed and the
    /// rest uncommitted (the caller rolls them back); once one has committed a transaction, the rest are committed even
    /// if the request is cancelled, and a later failure is a <see cref="PartialCommitException"/> naming both sides,
    /// never retried. An engine opened but not used has no transaction and commits nothing: it does not count as
    /// committed (a failure after it alone is the engine's own error, which may be retried).
    /// </summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        var committed = new List<string>();
        for (var i = 0; i < _open.Count; i++)
        {
            try
            {
                if (await _open[i].CommitAsync(committed.Count == 0 ? cancellationToken : CancellationToken.None))
                {
                    committed.Add(_open[i].Name);
                }
            }
            catch (Exception ex) when (committed.Count > 0)
            {
                throw new PartialCommitException(committed, _open[i].Name, _open.Skip(i + 1).Select(s => s.Name).ToList(), ex);
            }
        }
    }

    public async Task RollbackAsync()
    {
        foreach (var session in _open)
        {
            await session.RollbackAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _open)
        {
            await session.DisposeAsync();
        }

        _open.Clear();
    }
}
