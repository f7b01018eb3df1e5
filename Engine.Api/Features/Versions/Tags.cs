using Engine.Api.Engine;
using Engine.Api.Engine.Versions;
using Engine.Api.Infrastructure;
using MediatR;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Features.Versions;

/// <summary><c>GET …/tags</c>: HEAD, latest and user tags.</summary>
public sealed record ListTagsQuery(string Engine, string Schema) : IRequest<IReadOnlyList<TagInfo>>, IEngineRequest, IValidatable
{
    public void Validate() => Check.Schema(Schema);
}

public sealed class ListTagsHandler(EngineSessions sessions) : IRequestHandler<ListTagsQuery, IReadOnlyList<TagInfo>>
{
    public Task<IReadOnlyList<TagInfo>> Handle(ListTagsQuery request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).TagsAsync(request.Schema, cancellationToken);
}

/// <summary><c>PUT …/tags/{tag}</c>: set or move a user tag.</summary>
public sealed record SetTagCommand(string Engine, string Schema, string Tag, SetTagRequest Body) : IRequest<TagInfo>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Schema(Schema);
        TagNames.RequireUserTag(Tag);
    }
}

public sealed class SetTagHandler(EngineSessions sessions) : IRequestHandler<SetTagCommand, TagInfo>
{
    public Task<TagInfo> Handle(SetTagCommand request, CancellationToken cancellationToken) =>
        new RepositoryEngine(sessions.Open(request.Engine)).SetTagAsync(request.Schema, request.Tag, request.Body.Image, cancellationToken);
}

/// <summary><c>DELETE …/tags/{tag}</c>.</summary>
public sealed record DeleteTagCommand(string Engine, string Schema, string Tag) : IRequest<Unit>, IEngineRequest, IValidatable
{
    public void Validate()
    {
        Check.Schema(Schema);
        TagNames.RequireUserTag(Tag);
    }
}

public sealed class DeleteTagHandler(EngineSessions sessions) : IRequestHandler<DeleteTagCommand, Unit>
{
    public async Task<Unit> Handle(DeleteTagCommand request, CancellationToken cancellationToken)
    {
        await new RepositoryEngine(sessions.Open(request.Engine)).DeleteTagAsync(request.Schema, request.Tag, cancellationToken);
        return Unit.Value;
    }
}

public static class TagNames
{
    /// <summary>400 for an invalid name or one the engine maintains (HEAD, latest).</summary>
    public static void RequireUserTag(string? tag)
    {
        Identifiers.Validate(tag, "tag name");
        if (tag is VersionCatalog.Head or VersionCatalog.Latest)
        {
            throw new InvalidInputException("Reserved tag", $"'{tag}' is maintained by the engine: HEAD by checkout and commit, latest is the newest image.");
        }
    }
}

public static class Tags
{
    public static void Map(IEndpointRouteBuilder engine)
    {
        engine.MapGet("/repositories/{schema}/tags", (string engine, string schema, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new ListTagsQuery(engine, schema), ct))
              .WithSummary("Tags: HEAD, latest and user tags.");
        engine.MapPut("/repositories/{schema}/tags/{tag}", (string engine, string schema, string tag, SetTagRequest body, IMediator mediator, CancellationToken ct) =>
                mediator.Send(new SetTagCommand(engine, schema, tag, body), ct))
              .WithSummary("Set or move a user tag to an image.");
        engine.MapDelete("/repositories/{schema}/tags/{tag}", async (string engine, string schema, string tag, IMediator mediator, CancellationToken ct) =>
            {
                await mediator.Send(new DeleteTagCommand(engine, schema, tag), ct);
                return Results.NoContent();
            })
              .Produces(StatusCodes.Status204NoContent)
              .WithSummary("Delete a user tag.");
    }
}
