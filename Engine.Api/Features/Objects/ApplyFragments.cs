using Engine.Api.Engine;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Objects;

/// <summary><c>POST …/objects/apply</c>: apply fragments to a table in order, in one transaction.</summary>
public sealed record ApplyFragmentsCommand(string Engine, ApplyRequest Body) : IRequest<ApplyResult>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.ObjectIds(Body.ObjectIds);
        Check.Table(Body.TargetSchema, Body.TargetTable);
    }
}

public sealed class ApplyFragmentsHandler(EngineSessions sessions) : IRequestHandler<ApplyFragmentsCommand, ApplyResult>
{
    public Task<ApplyResult> Handle(ApplyFragmentsCommand request, CancellationToken cancellationToken) =>
        new FragmentApplier(sessions.Open(request.Engine))
            .ApplyFragmentsAsync(request.Body.ObjectIds, request.Body.TargetSchema, request.Body.TargetTable, request.Body.Filter,
                createTable: request.Body.CreateTable, cancellationToken: cancellationToken);
}

public static class ApplyFragments
{
    public static void Map(IEndpointRouteBuilder engine) =>
        engine.MapPost("/objects/apply", (string engine, ApplyRequest body, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new ApplyFragmentsCommand(engine, body), ct))
              .WithSummary("Apply fragments to a table (later fragments win; the filter limits inserts, never deletes; createTable makes a missing table from the object's schema).");
}
