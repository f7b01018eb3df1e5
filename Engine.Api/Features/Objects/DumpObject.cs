using System.Text;
using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;

namespace Engine.Api.Features.Objects;

/// <summary><c>GET …/objects/{id}/dump</c>: an SQL script recreating the object on another engine, streamed.</summary>
public sealed record DumpObjectQuery(string Engine, string ObjectId) : IRequest<IResult>, IEngineRequest, IValidatable
{
    public void Validate() => Identifiers.ValidateObjectId(ObjectId);
}

public sealed class DumpObjectHandler(EngineSessions sessions, EngineRegistry registry) : IRequestHandler<DumpObjectQuery, IResult>
{
    public async Task<IResult> Handle(DumpObjectQuery request, CancellationToken cancellationToken)
    {
        // A 404 before the response starts; the stream runs on its own connection.
        await new ObjectEngine(sessions.Open(request.Engine)).RequireAsync([request.ObjectId], cancellationToken);
        var endpoint = registry.Get(request.Engine);
        return Results.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(false), bufferSize: 1 << 16);
            await using var engine = new SqlEngine(endpoint);
            await new ObjectEngine(engine).DumpObjectAsync(request.ObjectId, writer);
        }, "application/sql", fileDownloadName: request.ObjectId + ".sql");
    }
}

public static class DumpObject
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/objects/{id}/dump", (string engine, string id, IMediator mediator, CancellationToken ct) => mediator.Send(new DumpObjectQuery(engine, id), ct))
              .WithSummary("SQL that recreates the object on an initialised engine (application/sql, streamed).");
}
