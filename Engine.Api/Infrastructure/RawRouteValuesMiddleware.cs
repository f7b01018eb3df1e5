using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Route values exactly as the client encoded them. Kestrel decodes every escape of the path except <c>%2F</c>, so a
/// table named <c>a/b</c> (sent <c>a%2Fb</c>) reached handlers as <c>a%2Fb</c>, not found (404), and could not be told
/// from a table really named <c>a%2Fb</c> (sent <c>a%252Fb</c>). Runs after routing: each parameter of the matched
/// route is read again from its segment of the raw request target, decoded once.
/// </summary>
public sealed class RawRouteValuesMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is RouteEndpoint endpoint
            && context.Features.Get<IHttpRequestFeature>()?.RawTarget is { } raw
            && raw.StartsWith('/') && raw.Contains('%'))
        {
            var segments = raw.Split('?', 2)[0][1..].Split('/');
            var pattern = endpoint.RoutePattern.PathSegments;
            if (segments.Length == pattern.Count)
            {
                for (var i = 0; i < segments.Length; i++)
                {
                    if (pattern[i].IsSimple && pattern[i].Parts[0] is RoutePatternParameterPart { IsCatchAll: false } parameter)
                    {
                        context.Request.RouteValues[parameter.Name] = Uri.UnescapeDataString(segments[i]);
                    }
                }
            }
        }

        return next(context);
    }
}
