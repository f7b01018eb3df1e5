using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Tracking;

/// <summary><c>POST …/tracked-tables</c>: install the audit trigger on tables (idempotent; all or none).</summary>
public sealed record TrackTablesCommand(string Engine, IReadOnlyList<TableRef>? Tables) : IRequest<IReadOnlyList<TableRef>>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Tables(Tables);
}

public sealed class TrackTablesHandler(EngineSessions sessions) : IRequestHandler<TrackTablesCommand, IReadOnlyList<TableRef>>
{
    public async Task<IReadOnlyList<TableRef>> Handle(TrackTablesCommand request, CancellationToken cancellationToken)
    {
        var changes = new ChangeEngine(sessions.Open(request.Engine));
        await changes.TrackTablesAsync(request.Tables!, cancellationToken);
        return await changes.GetTrackedTablesAsync(cancellationToken);
    }
}

public static class TrackTables
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/tracked-tables", (string engine, TablesRequest body, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new TrackTablesCommand(engine, body.Tables), ct))
              .WithSummary("Track tables; returns the tracked list.");
}
