using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
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

public sealed class TransferObjectsHandler(EngineRegistry registry, TransferMonitor monitor) : IRequestHandler<TransferObjectsCommand, TransferResult>
{
    public async Task<TransferResult> Handle(TransferObjectsCommand request, CancellationToken cancellationToken)
    {
        var local = registry.Get(request.Engine);
        var remote = registry.Get(request.Body.Remote);
        var id = request.TransferId ?? Guid.NewGuid();
        var progress = monitor.Start(id, request.Direction.ToString().ToLowerInvariant(), local.Name, remote.Name, request.Body.ObjectIds.Count);
        try
        {
            var transfers = new ObjectTransfers(local, remote, progress, request.Body.Verify);
            var result = request.Direction == TransferDirection.Upload
                ? await transfers.UploadObjectsAsync(request.Body.ObjectIds, cancellationToken)
                : await transfers.DownloadObjectsAsync(request.Body.ObjectIds, cancellationToken);
            monitor.Finish(id, null);
            return result;
        }
        catch (Exception ex)
        {
            monitor.Finish(id, ex is EngineException ? ex.Message : "Transfer failed.");
            throw;
        }
    }
}

public static class UploadObjects
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/objects/upload", (string engine, TransferRequest body, Guid? transferId, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new TransferObjectsCommand(engine, TransferDirection.Upload, body, transferId), ct))
              .WithSummary("Upload objects to another engine (binary COPY pipe); returns {transferred, skipped, missing}.");
}

public static class DownloadObjects
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/objects/download", (string engine, TransferRequest body, Guid? transferId, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new TransferObjectsCommand(engine, TransferDirection.Download, body, transferId), ct))
              .WithSummary("Download objects from another engine (postgres_fdw); returns {transferred, skipped, missing}.");
}
