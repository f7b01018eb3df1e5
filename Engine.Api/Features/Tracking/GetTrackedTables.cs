using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Tracking;

/// <summary><c>GET …/tracked-tables</c>: every table with the audit trigger.</summary>
public sealed record GetTrackedTablesQuery(string Engine) : IRequest<IReadOnlyList<TableRef>>, IEngineRequest;

public sealed class GetTrackedTablesHandler(EngineSessions sessions) : IRequestHandler<GetTrackedTablesQuery, IReadOnlyList<TableRef>>
{
    public Task<IReadOnlyList<TableRef>> Handle(GetTrackedTablesQuery request, CancellationToken cancellationToken) =>
        new ChangeEngine(sessions.Open(request.Engine)).GetTrackedTablesAsync(cancellationToken);
}

public static class GetTrackedTables
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/tracked-tables", (string engine, IMediator mediator, CancellationToken ct) => mediator.Send(new GetTrackedTablesQuery(engine), ct))
              .WithSummary("Tables whose changes are tracked.");
}
