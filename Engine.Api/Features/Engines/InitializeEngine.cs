using Engine.Api.Infrastructure;
using MediatR;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Engine.Api.Features.Engines;

/// <summary><c>POST …/initialize</c>: create the database and install the audit and object schemas (idempotent).</summary>
public sealed record InitializeEngineCommand(string Engine) : IRequest<NoContent>, IEngineRequest;

public sealed class InitializeEngineHandler(EngineSessions sessions, EngineStatus status) : IRequestHandler<InitializeEngineCommand, NoContent>
{
    public async Task<NoContent> Handle(InitializeEngineCommand request, CancellationToken cancellationToken)
    {
        await sessions.Open(request.Engine).InitializeAsync(cancellationToken);
        status.Initialized(request.Engine);
        return TypedResults.NoContent();
    }
}

public static class InitializeEngine
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/initialize", (string engine, IMediator mediator, CancellationToken ct) => mediator.Send(new InitializeEngineCommand(engine), ct))
              .WithSummary("Initialize: database, audit schema and trigger functions, object schema and catalogue, postgres_fdw.");
}
