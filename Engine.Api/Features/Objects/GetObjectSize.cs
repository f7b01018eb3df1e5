using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary><c>GET …/objects/{id}/size</c>: bytes on disk.</summary>
public sealed record GetObjectSizeQuery(string Engine, string ObjectId) : IRequest<ObjectSize>, IEngineRequest, IValidatable
{
    public void Validate() => Identifiers.ValidateObjectId(ObjectId);
}

public sealed class GetObjectSizeHandler(EngineSessions sessions) : IRequestHandler<GetObjectSizeQuery, ObjectSize>
{
    public async Task<ObjectSize> Handle(GetObjectSizeQuery request, CancellationToken cancellationToken) =>
        new(request.ObjectId, await new ObjectEngine(sessions.Open(request.Engine)).GetObjectSizeAsync(request.ObjectId, cancellationToken));
}

public static class GetObjectSize
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/objects/{id}/size", (string engine, string id, IMediator mediator, CancellationToken ct) => mediator.Send(new GetObjectSizeQuery(engine, id), ct))
              .WithSummary("An object's size on disk in bytes.");
}
