using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Features.Objects;

/// <summary><c>GET …/objects/{id}/dump</c>: an SQL script recreating the object on another engine, streamed.</summary>
public sealed record DumpObjectQuery(string Engine, string ObjectId) : IRequest<IResult>, IEngineRequest, IValidatable
{
    public void Validate() => Identifiers.ValidateObjectId(ObjectId);
}

public sealed class DumpObjectHandler(DumpGate gate) : IRequestHandler<DumpObjectQuery, IResult>
{
    public Task<IResult> Handle(DumpObjectQuery request, CancellationToken cancellationToken) =>
        // A 404 before the response starts; within the engine's dump slots (429 beyond them).
        gate.StreamAsync(request.Engine,
            (engine, token) => new ObjectEngine(engine).RequireAsync([request.ObjectId], token),
            (engine, writer) => new ObjectEngine(engine).DumpObjectAsync(request.ObjectId, writer),
            "application/sql", fileDownloadName: request.ObjectId + ".sql", cancellationToken);
}

public static class DumpObject
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/objects/{id}/dump", (string engine, string id, IMediator mediator, CancellationToken ct) => mediator.Send(new DumpObjectQuery(engine, id), ct))
              .Produces<string>(StatusCodes.Status200OK, "application/sql")
              // Beyond the engine's dump slots, with Retry-After.
              .ProducesProblem(StatusCodes.Status429TooManyRequests)
              .WithSummary("SQL that recreates the object on an initialised engine (application/sql, streamed).");
}
