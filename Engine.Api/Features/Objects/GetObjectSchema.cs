using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary><c>GET …/objects/{id}/schema</c>: columns with types and key flags, <c>sg_ud_flag</c> last.</summary>
public sealed record GetObjectSchemaQuery(string Engine, string ObjectId) : IRequest<IReadOnlyList<ObjectColumn>>, IEngineRequest, IValidatable
{
    public void Validate() => Identifiers.ValidateObjectId(ObjectId);
}

public sealed class GetObjectSchemaHandler(EngineSessions sessions) : IRequestHandler<GetObjectSchemaQuery, IReadOnlyList<ObjectColumn>>
{
    public Task<IReadOnlyList<ObjectColumn>> Handle(GetObjectSchemaQuery request, CancellationToken cancellationToken) =>
        new ObjectEngine(sessions.Open(request.Engine)).GetObjectSchemaAsync(request.ObjectId, cancellationToken);
}

public static class GetObjectSchema
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/objects/{id}/schema", (string engine, string id, IMediator mediator, CancellationToken ct) => mediator.Send(new GetObjectSchemaQuery(engine, id), ct))
              .WithSummary("An object's columns.");
}
