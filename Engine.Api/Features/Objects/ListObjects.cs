using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary><c>GET …/objects</c>: the object catalogue.</summary>
public sealed record ListObjectsQuery(string Engine) : IRequest<IReadOnlyList<ObjectInfo>>, IEngineRequest;

public sealed class ListObjectsHandler(EngineSessions sessions) : IRequestHandler<ListObjectsQuery, IReadOnlyList<ObjectInfo>>
{
    public Task<IReadOnlyList<ObjectInfo>> Handle(ListObjectsQuery request, CancellationToken cancellationToken) =>
        new ObjectEngine(sessions.Open(request.Engine)).ListObjectsAsync(cancellationToken);
}

public static class ListObjects
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/objects", (string engine, IMediator mediator, CancellationToken ct) => mediator.Send(new ListObjectsQuery(engine), ct))
              .WithSummary("Objects stored in the engine.");
}
