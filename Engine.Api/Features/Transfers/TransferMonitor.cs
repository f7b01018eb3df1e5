using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.HttpResults;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Transfers;

/// <summary>
/// Progress of running transfers, so a dashboard can poll <c>GET /api/transfers/{id}</c> (the caller picks the ID
/// with <c>?transferId=</c>). Finished transfers are kept for a few minutes.
/// </summary>
public sealed class TransferMonitor(TimeProvider clock)
{
    private static readonly TimeSpan KeepFinished = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<Guid, (TransferStatus Status, DateTimeOffset At)> _transfers = new();

    public IProgress<TransferProgress> Start(Guid id, string direction, string engine, string remote, int objects)
    {
        Prune();
        Set(new TransferStatus(id, direction, engine, remote, new TransferProgress(0, objects, 0, 0, null), false, null));
        return new Progress(this, id);
    }

    public void Finish(Guid id, string? error)
    {
        if (_transfers.TryGetValue(id, out var entry))
        {
            Set(entry.Status with { Finished = true, Error = error });
        }
    }

    public TransferStatus? Get(Guid id) => _transfers.TryGetValue(id, out var entry) ? entry.Status : null;

    public IReadOnlyList<TransferStatus> All() => _transfers.Values.Select(e => e.Status).ToList();

    private void Set(TransferStatus status) => _transfers[status.Id] = (status, clock.GetUtcNow());

    private void Prune()
    {
        foreach (var (id, entry) in _transfers)
        {
            if (entry.Status.Finished && clock.GetUtcNow() - entry.At > KeepFinished)
            {
                _transfers.TryRemove(id, out _);
            }
        }
    }

    /// <summary>Synchronous on purpose: <see cref="Progress{T}"/> would post reports out of order.</summary>
    private sealed class Progress(TransferMonitor monitor, Guid id) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (monitor._transfers.TryGetValue(id, out var entry))
            {
                monitor.Set(entry.Status with { Progress = value });
            }
        }
    }
}

public static class TransferStatusRoutes
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/transfers", (TransferMonitor monitor) => monitor.All()).WithSummary("Running and recently finished transfers.");
        api.MapGet("/transfers/{id:guid}", Results<Ok<TransferStatus>, ProblemHttpResult> (Guid id, TransferMonitor monitor) =>
                monitor.Get(id) is { } status
                    ? TypedResults.Ok(status)
                    : TypedResults.Problem(statusCode: 404, title: "Unknown transfer", detail: $"No transfer {id}."))
           .WithSummary("Progress of one transfer.");
    }
}
