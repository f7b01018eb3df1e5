using Engine.Api.Engine;
using Engine.Api.Engine.Versions;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Versions;

/// <summary><c>POST …/repositories/{schema}/commit</c>: every pending change of the repository → one image.</summary>
public sealed record CommitImageCommand(string Engine, string Schema, CommitImageRequest Body) : IRequest<CommitImageResult>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class CommitImageHandler(EngineSessions sessions) : IRequestHandler<CommitImageCommand, CommitImageResult>
{
    public Task<CommitImageResult> Handle(CommitImageCommand request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine, TableCommitter.Isolation)).CommitAsync(request.Schema, request.Body, cancellationToken);
}

/// <summary><c>GET …/log</c>: from an image (default HEAD) back through its parents.</summary>
public sealed record GetLogQuery(string Engine, string Schema, string? From, int Limit) : IRequest<IReadOnlyList<ImageInfo>>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Schema(Schema);
        Check.Paging(0, Limit);
    }
}

public sealed class GetLogHandler(EngineSessions sessions) : IRequestHandler<GetLogQuery, IReadOnlyList<ImageInfo>>
{
    public Task<IReadOnlyList<ImageInfo>> Handle(GetLogQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).LogAsync(request.Schema, request.From, request.Limit, cancellationToken);
}

/// <summary><c>GET …/images</c>: every image, newest first.</summary>
public sealed record ListImagesQuery(string Engine, string Schema) : IRequest<IReadOnlyList<ImageInfo>>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class ListImagesHandler(EngineSessions sessions) : IRequestHandler<ListImagesQuery, IReadOnlyList<ImageInfo>>
{
    public Task<IReadOnlyList<ImageInfo>> Handle(ListImagesQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).ImagesAsync(request.Schema, cancellationToken);
}

/// <summary><c>GET …/images/{image}</c>: an image with its tables' schemas and object chains.</summary>
public sealed record GetImageQuery(string Engine, string Schema, string Image) : IRequest<ImageDetail>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class GetImageHandler(EngineSessions sessions) : IRequestHandler<GetImageQuery, ImageDetail>
{
    public Task<ImageDetail> Handle(GetImageQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).ShowAsync(request.Schema, request.Image, cancellationToken);
}

/// <summary><c>POST …/checkout</c>: the schema becomes the image (409 on pending changes unless forced).</summary>
public sealed record CheckoutCommand(string Engine, string Schema, CheckoutRequest Body) : IRequest<CheckoutResult>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class CheckoutHandler(EngineSessions sessions) : IRequestHandler<CheckoutCommand, CheckoutResult>
{
    public Task<CheckoutResult> Handle(CheckoutCommand request, CancellationToken cancellationToken) =>
        new Checkout(sessions.Open(request.Engine)).RunAsync(request.Schema, request.Body.Image, request.Body.Force, cancellationToken);
}

public static class Images
{
    public static void Map(IEndpointRouteBuilder engine)
    {
        engine.MapPost("/repositories/{schema}/commit", async (string engine, string schema, CommitImageRequest? body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new CommitImageCommand(engine, schema, body ?? new CommitImageRequest()), ct);
                return result.Created
                    ? Results.Created($"/api/engines/{engine}/repositories/{Uri.EscapeDataString(schema)}/images/{result.Image.ImageHash}", result)
                    : Results.Ok(result);
            })
              .Produces<CommitImageResult>(StatusCodes.Status201Created)
              .Produces<CommitImageResult>()
              .WithSummary("Commit every pending change of the repository as one image (201); 200 with the unchanged HEAD when nothing is pending.");
        engine.MapGet("/repositories/{schema}/log", (string engine, string schema, string? from, int? limit, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new GetLogQuery(engine, schema, from, limit ?? 100), ct))
              .WithSummary("History from an image (default HEAD) back through its parents, newest first.");
        engine.MapGet("/repositories/{schema}/images", (string engine, string schema, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new ListImagesQuery(engine, schema), ct))
              .WithSummary("Every image of the repository, newest first.");
        engine.MapGet("/repositories/{schema}/images/{image}", (string engine, string schema, string image, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new GetImageQuery(engine, schema, image), ct))
              .WithSummary("One image (hash, unique prefix or tag): its tables, schemas and object chains.");
        engine.MapPost("/repositories/{schema}/checkout", (string engine, string schema, CheckoutRequest body, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new CheckoutCommand(engine, schema, body), ct))
              .WithSummary("Check out an image: every table recreated as in the image; 409 on pending changes unless force.");
    }
}
