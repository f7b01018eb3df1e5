using Engine.Api.Engine;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Every error leaves as <c>application/problem+json</c>: engine errors with their own status, malformed requests
/// as 400, anything unexpected as a 500 that names no internals.
/// </summary>
public sealed class EngineExceptionHandler(IProblemDetailsService problemDetails, ILogger<EngineExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            EngineException engine => (engine.StatusCode, engine.Title, engine.Message),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Request cancelled", "The client went away."),
            _ => (StatusCodes.Status500InternalServerError, "Unexpected error", "The engine API failed unexpectedly; see its logs."),
        };

        if (status >= 500 && status != 503)
        {
            logger.LogError(exception, "Unhandled error on {Path}", httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
