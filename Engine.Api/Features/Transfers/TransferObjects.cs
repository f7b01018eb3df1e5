using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using Microsoft.Extensions.Options;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Transfers;

/// <summary>
/// <c>POST …/objects/upload</c> and <c>…/download</c>: move objects between this engine and <c>remote</c>. Each object
/// is its own transaction on the receiving side (row count checked; content re-hashed against the ID with
/// <c>"verify": true</c>), so this command manages its own transactions.
/// </summary>
public sealed record TransferObjectsCommand(string Engine, TransferDirection Direction, TransferRequest Body, Guid? TransferId)
    : IRequest<TransferResult>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.ObjectIds(Body.ObjectIds);
        if (string.IsNullOrEmpty(Body.Remote))
        {
            throw new InvalidInputException("No remote", "The body names no remote engine.");
        }
    }
}

/// <remarks>
/// No fixed time limit (the route is exempt from the request timeout): a transfer is stopped only when it reports no
/// progress for <c>Limits:TransferStallTimeout</c>, so a large one runs as long as it keeps moving.
/// </remarks>
public sealed class TransferObjectsHandler(EngineRegistry registry, TransferMonitor monitor, IOptions<LimitsOptions> limits)
    : IRequestHandler<TransferObjectsCommand, TransferResult>
{
    public async Task<TransferResult> Handle(TransferObjectsCommand request, CancellationToken cancellationToken)
    {
        var local = registry.Get(request.Engine);
        var remote = registry.Get(request.Body.Remote);
        var id = request.TransferId ?? Guid.NewGuid();
        var stallTimeout = limits.Value.TransferStallTimeout;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(stallTimeout);
        var progress = new StallWatch(monitor.Start(id, request.Direction.ToString().ToLowerInvariant(), local.Name, remote.Name, request.Body.ObjectIds.Count),
            stall, stallTimeout);
        try
        {
            var transfers = new ObjectTransfers(local, remote, progress, request.Body.Verify) { SplitBytes = limits.Value.TransferSplitBytes };
            var result = request.Direction == TransferDirection.Upload
                ? await transfers.UploadObjectsAsync(request.Body.ObjectIds, stall.Token)
                : await transfers.DownloadObjectsAsync(request.Body.ObjectIds, stall.Token);
            monitor.Finish(id, null);
            return result;
        }
        catch (Exception ex) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var stalled = new TransferStalledException(stallTimeout, ex);
            monitor.Finish(id, stalled.Message);
            throw stalled;
        }
        catch (Exception ex)
        {
            monitor.Finish(id, ex is EngineException ? ex.Message : "Transfer failed.");
            throw;
        }
    }
}

/// <summary>Passes progress on and, with each report, restarts the stall countdown.</summary>
internal sealed class StallWatch(IProgress<TransferProgress> inner, CancellationTokenSource stall, TimeSpan stallTimeout) : IProgress<TransferProgress>
{
    public void Report(TransferProgress value)
    {
        inner.Report(value);
        try
        {
            stall.CancelAfter(stallTimeout);
        }
        catch (ObjectDisposedException)
        {
            // A report after the transfer ended: nothing left to watch.
        }
    }
}

public static class UploadObjects
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/objects/upload", (string engine, TransferRequest body, Guid? transferId, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new TransferObjectsCommand(engine, TransferDirection.Upload, body, transferId), ct))
              .DisableRequestTimeout()
              .WithSummary("Upload objects to another engine (binary COPY pipe); returns {transferred, skipped, missing}.");
}

public static class DownloadObjects
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/objects/download", (string engine, TransferRequest body, Guid? transferId, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new TransferObjectsCommand(engine, TransferDirection.Download, body, transferId), ct))
              .DisableRequestTimeout()
              .WithSummary("Download objects from another engine (postgres_fdw); returns {transferred, skipped, missing}.");
}
