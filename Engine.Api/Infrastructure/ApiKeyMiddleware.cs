using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Mvc;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Every <c>/api</c> route needs the key from <c>Engine:ApiKey</c> (an Aspire secret parameter) in the
/// <c>X-Api-Key</c> header; health endpoints and the OpenAPI document stay open. Keys are compared in constant time.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IConfiguration configuration, IProblemDetailsService problems)
{
    public const string HeaderName = "X-Api-Key";

    private readonly byte[]? _expectedHash = configuration["Engine:ApiKey"] is { Length: > 0 } key ? Hash(key) : null;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api"))
        {
            await next(context);
            return;
        }

        var provided = context.Request.Headers[HeaderName].ToString();
        // Hashing first makes the comparison constant-time whatever the lengths.
        if (_expectedHash is not null && provided.Length > 0 && CryptographicOperations.FixedTimeEquals(Hash(provided), _expectedHash))
        {
            await next(context);
            return;
        }

        // Says which of the three it was, so a client knows whether to add the header, fix the key, or configure the API.
        var (title, detail) = (_expectedHash, provided.Length) switch
        {
            (null, _) => ("API key not configured", "The API has no key configured (Engine:ApiKey); it refuses every /api request."),
            (_, 0) => ("API key missing", $"Send the API key in the {HeaderName} header."),
            _ => ("API key wrong", $"The key sent in the {HeaderName} header is not this API's key."),
        };
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = StatusCodes.Status401Unauthorized, Title = title, Detail = detail },
        });
    }

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}
