using Engine.Api.Engine;
using Engine.Api.Engine.Versions;
using Engine.Api.Features.Transfers;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Versions;

public enum VersionTransferKind
{
    Push,
    Pull,
    Clone,
}

/// <summary>
/// <c>POST …/repositories/{schema}/push|pull|clone</c>: objects first (each its own transaction), then the images in
/// one transaction on the receiver, so this command manages its own transactions. Progress at <c>GET /api/transfers/{id}</c>.
/// </summary>
public sealed record VersionTransferCommand(string Engine, string Schema, VersionTransferKind Kind, VersionTransferRequest Body, Guid? TransferId)
    : IRequest<VersionTransferResult>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Schema(Schema);
        if (string.IsNullOrEmpty(Body.Remote))
        {
            throw new InvalidInputException("No remote", "The body names no remote engine.");
        }

        if (Body.RemoteSchema is not null)
        {
            Check.Schema(Body.RemoteSchema);
        }
    }
}

public sealed class VersionTransferHandler(EngineRegistry registry, TransferMonitor monitor) : IRequestHandler<VersionTransferCommand, VersionTransferResult>
{
    public async Task<VersionTransferResult> Handle(VersionTransferCommand request, CancellationToken cancellationToken)
    {
        var local = registry.Get(request.Engine);
        var remote = registry.Get(request.Body.Remote);
        if (local.Name == remote.Name)
        {
            throw new InvalidInputException("Invalid remote", $"An engine cannot {request.Kind.ToString().ToLowerInvariant()} to or from itself ('{local.Name}').");
        }

        var remoteSchema = request.Body.RemoteSchema ?? request.Schema;
        var id = request.TransferId ?? Guid.NewGuid();
        var progress = monitor.Start(id, request.Kind.ToString().ToLowerInvariant(), local.Name, remote.Name, 0);
        try
        {
            var transfers = new VersionTransfers(local, remote, progress, request.Body.Verify);
            var result = request.Kind == VersionTransferKind.Push
                ? await transfers.PushAsync(request.Schema, remoteSchema, cancellationToken)
                : await transfers.PullAsync(request.Schema, remoteSchema, create: request.Kind == VersionTransferKind.Clone, cancellationToken);
            if (request.Kind != VersionTransferKind.Push && request.Body.Checkout)
            {
                await using var engine = new SqlEngine(local);
                var checkout = await new Checkout(engine).RunAsync(request.Schema, VersionCatalog.Latest, force: false, cancellationToken);
                await engine.CommitAsync(cancellationToken);
                result = result with { Checkout = checkout };
            }

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

public static class VersionTransferRoutes
{
    public static void Map(IEndpointRouteBuilder engine)
    {
        foreach (var kind in Enum.GetValues<VersionTransferKind>())
        {
            var name = kind.ToString().ToLowerInvariant();
            engine.MapPost($"/repositories/{{schema}}/{name}", (string engine, string schema, VersionTransferRequest body, Guid? transferId, IMediator mediator, CancellationToken ct) =>
                    mediator.Send(new VersionTransferCommand(engine, schema, kind, body, transferId), ct))
                  .WithSummary(kind switch
                  {
                      VersionTransferKind.Push => "Push the repository's images (objects first, then metadata in one transaction) to another engine; 409 when the remote has images this one lacks.",
                      VersionTransferKind.Pull => "Pull images from the repository on another engine; 409 when this one has newer local commits. checkout: true checks out latest.",
                      _ => "Clone a repository from another engine (a pull that creates the repository here).",
                  });
        }
    }
}
