using System.Data;
using Engine.Api.Engine;

namespace Engine.Api.Infrastructure;

/// <summary>
/// The engine connections of one request (a unit of work): each engine opened at most once, all committed by
/// <see cref="Behaviors.TransactionBehavior{TRequest,TResponse}"/> when the handler succeeds, rolled back otherwise.
/// </summary>
public sealed class EngineSessions(EngineRegistry registry) : IAsyncDisposable
{
    private readonly Dictionary<string, SqlEngine> _open = [];

    public SqlEngine Open(string engine, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        if (!_open.TryGetValue(engine, out var session))
        {
            session = new SqlEngine(registry.Get(engine)) { IsolationLevel = isolation };
            _open[engine] = session;
        }

        return session;
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        foreach (var session in _open.Values)
        {
            await session.CommitAsync(cancellationToken);
        }
    }

    public async Task RollbackAsync()
    {
        foreach (var session in _open.Values)
        {
            await session.RollbackAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _open.Values)
        {
            await session.DisposeAsync();
        }

        _open.Clear();
    }
}
