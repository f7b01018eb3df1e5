using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Engine.Api.Infrastructure;

/// <summary>
/// Declares the <c>X-Api-Key</c> header as the OpenAPI document's security scheme and requires it for every
/// operation, so the document's try-it UI sends the key instead of collecting 401s.
/// </summary>
public sealed class ApiKeySecurityScheme : IOpenApiDocumentTransformer
{
    public const string SchemeName = "ApiKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.AddComponent<IOpenApiSecurityScheme>(SchemeName, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyMiddleware.HeaderName,
            Description = "The API key (Aspire parameter api-key, Engine:ApiKey in the API's configuration).",
        });
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = [] });
        return Task.CompletedTask;
    }
}
