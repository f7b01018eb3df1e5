using Engine.Api.Engine;
using Engine.Api.Engine.Versions;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Versions;

/// <summary><c>GET …/repositories</c>: every repository of the engine.</summary>
public sealed record ListRepositoriesQuery(string Engine) : IRequest<IReadOnlyList<RepositoryInfo>>, IEngineRequest;

public sealed class ListRepositoriesHandler(EngineSessions sessions) : IRequestHandler<ListRepositoriesQuery, IReadOnlyList<RepositoryInfo>>
{
    public Task<IReadOnlyList<RepositoryInfo>> Handle(ListRepositoriesQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).ListAsync(cancellationToken);
}

/// <summary><c>POST …/repositories</c>: init — the schema's tables tracked and committed as the first image.</summary>
public sealed record InitRepositoryCommand(string Engine, InitRepositoryRequest Body) : IRequest<RepositoryInfo>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Body.Schema);
}

public sealed class InitRepositoryHandler(EngineSessions sessions) : IRequestHandler<InitRepositoryCommand, RepositoryInfo>
{
    public Task<RepositoryInfo> Handle(InitRepositoryCommand request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine, TableCommitter.Isolation)).InitAsync(request.Body, cancellationToken);
}

/// <summary><c>GET …/repositories/{schema}</c>.</summary>
public sealed record GetRepositoryQuery(string Engine, string Schema) : IRequest<RepositoryInfo>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class GetRepositoryHandler(EngineSessions sessions) : IRequestHandler<GetRepositoryQuery, RepositoryInfo>
{
    public Task<RepositoryInfo> Handle(GetRepositoryQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).InfoAsync(request.Schema, cancellationToken);
}

/// <summary><c>DELETE …/repositories/{schema}</c>: the catalogue entries go, the tables stay; objects are released for cleanup.</summary>
public sealed record DeleteRepositoryCommand(string Engine, string Schema) : IRequest<Unit>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class DeleteRepositoryHandler(EngineSessions sessions) : IRequestHandler<DeleteRepositoryCommand, Unit>
{
    public async Task<Unit> Handle(DeleteRepositoryCommand request, CancellationToken cancellationToken)
    {
        await new RepositoryEngine(sessions.Open(request.Engine)).DeleteAsync(request.Schema, cancellationToken);
        return Unit.Value;
    }
}

/// <summary><c>GET …/repositories/{schema}/status</c>: HEAD and each table's pending state.</summary>
public sealed record GetRepositoryStatusQuery(string Engine, string Schema) : IRequest<RepositoryStatus>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class GetRepositoryStatusHandler(EngineSessions sessions) : IRequestHandler<GetRepositoryStatusQuery, RepositoryStatus>
{
    public Task<RepositoryStatus> Handle(GetRepositoryStatusQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).StatusAsync(request.Schema, cancellationToken);
}

/// <summary><c>POST …/cleanup</c>: drop objects no image uses (released ones; with <c>loose=true</c> every one).</summary>
public sealed record CleanupCommand(string Engine, bool Loose) : IRequest<CleanupResult>, IEngineRequest;

public sealed class CleanupHandler(EngineSessions sessions) : IRequestHandler<CleanupCommand, CleanupResult>
{
    public Task<CleanupResult> Handle(CleanupCommand request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).CleanupAsync(request.Loose, cancellationToken);
}

/// <summary><c>GET …/objects/provenance</c>: which repository, table, image and chain position use each object.</summary>
public sealed record GetProvenanceQuery(string Engine) : IRequest<IReadOnlyList<ObjectProvenance>>, IEngineRequest;

public sealed class GetProvenanceHandler(EngineSessions sessions) : IRequestHandler<GetProvenanceQuery, IReadOnlyList<ObjectProvenance>>
{
    public Task<IReadOnlyList<ObjectProvenance>> Handle(GetProvenanceQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).ProvenanceAsync(cancellationToken);
}

public static class Repositories
{
    public static void Map(IEndpointRouteBuilder engine)
    {
        engine.MapGet("/repositories", (string engine, IMediator mediator, CancellationToken ct) => mediator.Send(new ListRepositoriesQuery(engine), ct))
              .WithSummary("Repositories of the engine (schemas under version control).");
        engine.MapPost("/repositories", async (string engine, InitRepositoryRequest body, IMediator mediator, CancellationToken ct) =>
                Results.Created($"/api/engines/{engine}/repositories/{Uri.EscapeDataString(body.Schema)}", await mediator.Send(new InitRepositoryCommand(engine, body), ct)))
              .Produces<RepositoryInfo>(StatusCodes.Status201Created)
              .WithSummary("Init: a schema becomes a repository; its tables are tracked and committed as the first image.");
        engine.MapGet("/repositories/{schema}", (string engine, string schema, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new GetRepositoryQuery(engine, schema), ct))
              .WithSummary("One repository: HEAD, latest, images, tables, pending changes.");
        engine.MapDelete("/repositories/{schema}", async (string engine, string schema, IMediator mediator, CancellationToken ct) =>
            {
                await mediator.Send(new DeleteRepositoryCommand(engine, schema), ct);
                return Results.NoContent();
            })
              .Produces(StatusCodes.Status204NoContent)
              .WithSummary("Delete a repository's images and tags (its tables stay); its objects become candidates for cleanup.");
        engine.MapGet("/repositories/{schema}/status", (string engine, string schema, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new GetRepositoryStatusQuery(engine, schema), ct))
              .WithSummary("HEAD and each table's state (added, removed, modified, unchanged) with pending counts.");
        engine.MapPost("/cleanup", (string engine, bool? loose, IMediator mediator, CancellationToken ct) => mediator.Send(new CleanupCommand(engine, loose ?? false), ct))
              .WithSummary("Drop objects no image uses that a deleted repository released; ?loose=true also drops loose objects.");
        engine.MapGet("/objects/provenance", (string engine, IMediator mediator, CancellationToken ct) => mediator.Send(new GetProvenanceQuery(engine), ct))
              .WithSummary("Where each object is used: repository, table, image, position in the chain.");
    }
}
