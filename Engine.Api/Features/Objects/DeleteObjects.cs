using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary><c>POST …/objects/delete</c>: drop objects and their catalogue rows in one transaction.</summary>
public sealed record DeleteObjectsCommand(string Engine, IReadOnlyList<string>? ObjectIds) : IRequest<DeleteObjectsResult>, IEngineRequest, IValidatable
{
    public void Validate() => Check.ObjectIds(ObjectIds);
}

public sealed class DeleteObjectsHandler(EngineSessions sessions) : IRequestHandler<DeleteObjectsCommand, DeleteObjectsResult>
{
    public Task<DeleteObjectsResult> Handle(DeleteObjectsCommand request, CancellationToken cancellationToken) =>
        new ObjectEngine(sessions.Open(request.Engine)).DeleteObjectsAsync(request.ObjectIds!, cancellationToken);
}

public static class DeleteObjects
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/objects/delete", (string engine, ObjectIdsRequest body, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new DeleteObjectsCommand(engine, body.ObjectIds), ct))
              .WithSummary("Delete objects; unknown IDs are reported as missing.");
}
