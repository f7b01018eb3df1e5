namespace Dashboard.Services;

/// <summary>
/// Browser downloads of SQL dumps. The browser cannot reach Engine.Api by its service-discovery name, so the
/// dashboard proxies the API's stream: nothing is buffered, and an API error becomes a plain-text 4xx/5xx.
/// </summary>
public static class DownloadEndpoints
{
    public static string ObjectDumpUrl(string engine, string objectId) =>
        $"download/engines/{Uri.EscapeDataString(engine)}/objects/{Uri.EscapeDataString(objectId)}.sql";

    public static string TableDumpUrl(string engine, string schema, string table) =>
        $"download/engines/{Uri.EscapeDataString(engine)}/schemas/{Uri.EscapeDataString(schema)}/tables/{Uri.EscapeDataString(table)}.sql";

    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/download/engines/{engine}");
        group.MapGet("/objects/{id}.sql", (string engine, string id, EngineApiClient api, HttpContext context) =>
            ProxyAsync(api, EngineApiClient.ObjectDumpPath(engine, id), $"{id}.sql", context));
        group.MapGet("/schemas/{schema}/tables/{table}.sql", (string engine, string schema, string table, EngineApiClient api, HttpContext context) =>
            ProxyAsync(api, EngineApiClient.TableDumpPath(engine, schema, table), $"{schema}.{table}.sql", context));
    }

    private static async Task ProxyAsync(EngineApiClient api, string apiPath, string fileName, HttpContext context)
    {
        HttpResponseMessage upstream;
        try
        {
            upstream = await api.OpenStreamAsync(apiPath, context.RequestAborted);
        }
        catch (EngineApiException ex)
        {
            context.Response.StatusCode = ex.IsUnreachable ? StatusCodes.Status502BadGateway : ex.Status;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync($"{ex.Title}: {ex.Detail}", context.RequestAborted);
            return;
        }

        using (upstream)
        {
            context.Response.ContentType = "application/sql; charset=utf-8";
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
            await using var body = await upstream.Content.ReadAsStreamAsync(context.RequestAborted);
            await body.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}
