using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Tracking;

/// <summary><c>POST …/tracked-tables/untrack</c>: drop the triggers and the tables' pending changes, in one transaction.</summary>
public sealed record UntrackTablesCommand(string Engine, IReadOnlyList<TableRef>? Tables) : IRequest<IReadOnlyList<TableRef>>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Tables(Tables);
}

public sealed class UntrackTablesHandler(EngineSessions sessions) : IRequestHandler<UntrackTablesCommand, IReadOnlyList<TableRef>>
{
    public async Task<IReadOnlyList<TableRef>> Handle(UntrackTablesCommand request, CancellationToken cancellationToken)
    {
        var changes = new ChangeEngine(sessions.Open(request.Engine));
        await changes.UntrackTablesAsync(request.Tables!, cancellationToken);
        return await changes.GetTrackedTablesAsync(cancellationToken);
    }
}

public static class UntrackTables
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/tracked-tables/untrack", (string engine, TablesRequest body, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new UntrackTablesCommand(engine, body.Tables), ct))
              .WithSummary("Untrack tables and delete their pending changes; returns the tracked list.");
}
