using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Template;

namespace Engine.Api.Infrastructure;

/// <summary>The API's error answers as routing sees them: documented on every route, and the fallback's 404 vs 415.</summary>
public static class ProblemResponses
{
    /// <summary>Problems any <c>/api</c> route may answer (bad input, key, system schema, missing, conflict, media type, spec, engine down, timeout).</summary>
    private static readonly int[] Statuses = [400, 401, 403, 404, 409, 415, 422, 503, 504];

    /// <summary>Declares the problem responses on every route of the group, for the OpenAPI document.</summary>
    public static RouteGroupBuilder WithProblemResponses(this RouteGroupBuilder group)
    {
        foreach (var status in Statuses)
        {
            group.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));
        }

        return group;
    }

    /// <summary>
    /// What the fallback answers: routing skips a route whose body type the request does not send (it declares
    /// application/json), so a request that fits a route but for its Content-Type lands here and gets 415, not 404.
    /// </summary>
    public static IResult NoRoute(HttpContext context, EndpointDataSource endpoints)
    {
        if (FitsButForContentType(context, endpoints) is { } accepted)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: $"This route takes a body of type {string.Join(" or ", accepted)}; the request sent " +
                        $"'{Engine.Identifiers.Printable(context.Request.ContentType ?? "no Content-Type")}'.");
        }

        return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No such API route.");
    }

    private static IReadOnlyList<string>? FitsButForContentType(HttpContext context, EndpointDataSource endpoints)
    {
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not { ContentTypes.Count: > 0 } accepts
                || endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } methods
                || !methods.HttpMethods.Contains(context.Request.Method, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var matcher = new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), new RouteValueDictionary());
            if (matcher.TryMatch(context.Request.Path, new RouteValueDictionary()))
            {
                return accepts.ContentTypes;
            }
        }

        return null;
    }
}
