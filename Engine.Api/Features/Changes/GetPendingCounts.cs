using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Changes;

/// <summary><c>GET …/pending-counts</c>: the pending-change counters of every tracked table of an engine, in one query.</summary>
public sealed record GetPendingCountsQuery(string Engine) : IRequest<IReadOnlyList<TablePendingCounts>>, IEngineRequest;

public sealed class GetPendingCountsHandler(EngineSessions sessions) : IRequestHandler<GetPendingCountsQuery, IReadOnlyList<TablePendingCounts>>
{
    public Task<IReadOnlyList<TablePendingCounts>> Handle(GetPendingCountsQuery request, CancellationToken cancellationToken) =>
        new ChangeEngine(sessions.Open(request.Engine)).GetPendingCountsAsync(cancellationToken);
}

public static class GetPendingCounts
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapGet("/pending-counts", (string engine, IMediator mediator, CancellationToken ct) => mediator.Send(new GetPendingCountsQuery(engine), ct))
              .WithSummary("Raw pending-change counts (added, removed, updated) of every tracked table, in one query.");
}
