using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary><c>GET …/objects/{id}</c>: one object with its schema, size and row count.</summary>
public sealed record GetObjectQuery(string Engine, string ObjectId) : IRequest<ObjectDetail>, IEngineRequest, IValidatable
{
    public void Validate() => Identifiers.ValidateObjectId(ObjectId);
}

public sealed class GetObjectHandler(EngineSessions sessions) : IRequestHandler<GetObjectQuery, ObjectDetail>
{
    public Task<ObjectDetail> Handle(GetObjectQuery request, CancellationToken cancellationToken) =>
        new ObjectEngine(sessions.Open(request.Engine)).GetObjectAsync(request.ObjectId, cancellationToken);
}

public static class GetObject
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/objects/{id}", (string engine, string id, IMediator mediator, CancellationToken ct) => mediator.Send(new GetObjectQuery(engine, id), ct))
              .WithSummary("One object: schema, size, rows.");
}
