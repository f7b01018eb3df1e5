using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace Dashboard.Services;

/// <summary>
/// Typed client for Engine.Api — one method per route; the dashboard never talks to PostgreSQL directly. Every failure
/// surfaces as an <see cref="EngineApiException"/> carrying the ProblemDetails <c>detail</c> (or the network error).
/// </summary>
public sealed class EngineApiClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // --- Engines -------------------------------------------------------------------------------------------------

    public Task<List<EngineInfo>> GetEnginesAsync(CancellationToken cancellationToken = default) =>
        GetAsync<List<EngineInfo>>("/api/engines", cancellationToken);

    /// <summary>What the API offers (SQL console on/off, engine versions): features it lacks are hidden, not dead ends.</summary>
    public Task<ApiCapabilities> GetCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        GetAsync<ApiCapabilities>("/api/capabilities", cancellationToken);

    public Task InitializeAsync(string engine, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, $"{Base(engine)}/initialize", null, cancellationToken);

    // --- Tables and tracking -------------------------------------------------------------------------------------

    public Task<List<TableInfo>> GetTablesAsync(string engine, string? schema = null, CancellationToken cancellationToken = default) =>
        GetAsync<List<TableInfo>>($"{Base(engine)}/tables{(schema is null ? "" : "?schema=" + Uri.EscapeDataString(schema))}", cancellationToken);

    /// <summary>A table's columns in table order (primary-key columns marked).</summary>
    public Task<List<ObjectColumn>> GetTableColumnsAsync(string engine, string schema, string table, CancellationToken cancellationToken = default) =>
        GetAsync<List<ObjectColumn>>($"{TablePath(engine, schema, table)}/columns", cancellationToken);

    public Task<List<TableRef>> GetTrackedTablesAsync(string engine, CancellationToken cancellationToken = default) =>
        GetAsync<List<TableRef>>($"{Base(engine)}/tracked-tables", cancellationToken);

    public Task<List<TableRef>> TrackTablesAsync(string engine, IReadOnlyList<TableRef> tables, CancellationToken cancellationToken = default) =>
        PostAsync<List<TableRef>>($"{Base(engine)}/tracked-tables", new TablesRequest(tables), cancellationToken);

    public Task<List<TableRef>> UntrackTablesAsync(string engine, IReadOnlyList<TableRef> tables, CancellationToken cancellationToken = default) =>
        PostAsync<List<TableRef>>($"{Base(engine)}/tracked-tables/untrack", new TablesRequest(tables), cancellationToken);

    // --- Pending changes -----------------------------------------------------------------------------------------

    public Task<SchemaChanges> GetSchemaChangesAsync(string engine, string schema, CancellationToken cancellationToken = default) =>
        GetAsync<SchemaChanges>($"{Base(engine)}/schemas/{E(schema)}/changes", cancellationToken);

    public Task<AggregateChanges> GetAggregateChangesAsync(string engine, string schema, string table, CancellationToken cancellationToken = default) =>
        GetAsync<AggregateChanges>($"{TablePath(engine, schema, table)}/changes?aggregate=true", cancellationToken);

    /// <summary>Pending-change counts of every tracked table of an engine, in one call.</summary>
    public Task<List<TablePendingCounts>> GetPendingCountsAsync(string engine, CancellationToken cancellationToken = default) =>
        GetAsync<List<TablePendingCounts>>($"{Base(engine)}/pending-counts", cancellationToken);

    public Task<ChangePage> GetChangesAsync(string engine, string schema, string table, bool net, long after, int limit, CancellationToken cancellationToken = default) =>
        GetAsync<ChangePage>($"{TablePath(engine, schema, table)}/changes?net={(net ? "true" : "false")}&after={after}&limit={limit}", cancellationToken);

    /// <summary>
    /// A page of the net view or the raw log by offset, or the page (of <paramref name="limit"/>) of the net view that
    /// holds <paramref name="key"/>; with the view's exact total.
    /// </summary>
    public Task<ChangePage> GetChangesAtAsync(string engine, string schema, string table, bool net, long offset, int limit, string? key = null, CancellationToken cancellationToken = default) =>
        GetAsync<ChangePage>($"{TablePath(engine, schema, table)}/changes?net={(net ? "true" : "false")}&offset={offset}&limit={limit}{(key is null ? "" : "&key=" + E(key))}", cancellationToken);

    public Task<DiscardResult> DiscardChangesAsync(string engine, string schema, string? table, CancellationToken cancellationToken = default) =>
        SendAsync<DiscardResult>(HttpMethod.Delete, $"{Base(engine)}/schemas/{E(schema)}/changes{(table is null ? "" : "?table=" + E(table))}", null, cancellationToken);

    public Task<CommitResult> CommitAsync(string engine, string schema, string table, bool snapshot = false, CancellationToken cancellationToken = default) =>
        PostAsync<CommitResult>($"{TablePath(engine, schema, table)}/commit{(snapshot ? "?snapshot=true" : "")}", null, cancellationToken);

    /// <summary>The API path of a table's SQL dump (streamed).</summary>
    public static string TableDumpPath(string engine, string schema, string table) => $"{TablePath(engine, schema, table)}/dump";

    // --- Objects -------------------------------------------------------------------------------------------------

    public Task<List<ObjectInfo>> GetObjectsAsync(string engine, CancellationToken cancellationToken = default) =>
        GetAsync<List<ObjectInfo>>($"{Base(engine)}/objects", cancellationToken);

    public Task<ObjectDetail> GetObjectAsync(string engine, string objectId, CancellationToken cancellationToken = default) =>
        GetAsync<ObjectDetail>($"{Base(engine)}/objects/{E(objectId)}", cancellationToken);

    public Task<List<ObjectColumn>> GetObjectSchemaAsync(string engine, string objectId, CancellationToken cancellationToken = default) =>
        GetAsync<List<ObjectColumn>>($"{Base(engine)}/objects/{E(objectId)}/schema", cancellationToken);

    /// <summary>The API path of an object's SQL dump (streamed).</summary>
    public static string ObjectDumpPath(string engine, string objectId) => $"{Base(engine)}/objects/{E(objectId)}/dump";

    /// <summary>
    /// Opens a streamed API response (an SQL dump) for the dashboard's download proxy; the caller disposes it.
    /// A failure before the body starts becomes an <see cref="EngineApiException"/>.
    /// </summary>
    public async Task<HttpResponseMessage> OpenStreamAsync(string apiPath, CancellationToken cancellationToken = default)
    {
        var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Get, apiPath), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await ToExceptionAsync(response, cancellationToken);
            }
        }

        return response;
    }

    public Task<DeleteObjectsResult> DeleteObjectsAsync(string engine, IReadOnlyList<string> objectIds, CancellationToken cancellationToken = default) =>
        PostAsync<DeleteObjectsResult>($"{Base(engine)}/objects/delete", new ObjectIdsRequest(objectIds), cancellationToken);

    public Task<ApplyResult> ApplyAsync(string engine, ApplyRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<ApplyResult>($"{Base(engine)}/objects/apply", request, cancellationToken);

    /// <summary>
    /// Upload objects to <paramref name="remote"/>, or download them from it; progress is at <see cref="GetTransferAsync"/>.
    /// <paramref name="verify"/> re-hashes every arrived row against the object's ID. Exempt from the client's
    /// timeouts: the API stops a transfer only when it stops making progress.
    /// </summary>
    public Task<TransferResult> TransferAsync(string engine, TransferDirection direction, IReadOnlyList<string> objectIds, string remote, Guid? transferId = null,
        bool verify = false, CancellationToken cancellationToken = default) =>
        PostAsync<TransferResult>(
            $"{Base(engine)}/objects/{(direction == TransferDirection.Upload ? "upload" : "download")}{(transferId is { } id ? "?transferId=" + id : "")}",
            new TransferRequest(objectIds, remote, verify), cancellationToken, unbounded: true);

    /// <summary>Progress of a transfer; null while the API does not know it yet (it has not started).</summary>
    public async Task<TransferStatus?> GetTransferAsync(Guid transferId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetAsync<TransferStatus>($"/api/transfers/{transferId}", cancellationToken);
        }
        catch (EngineApiException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    // --- Versions: repositories, images, tags, checkout, diff, push/pull/clone (docs/versions-api.md) --------------

    public Task<List<RepositoryInfo>> GetRepositoriesAsync(string engine, CancellationToken cancellationToken = default) =>
        GetAsync<List<RepositoryInfo>>($"{Base(engine)}/repositories", cancellationToken);

    /// <summary>The schema becomes a repository: its tables tracked and a first image (a snapshot) committed.</summary>
    public Task<RepositoryInfo> InitRepositoryAsync(string engine, InitRepositoryRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<RepositoryInfo>($"{Base(engine)}/repositories", request, cancellationToken);

    public Task<RepositoryInfo> GetRepositoryAsync(string engine, string schema, CancellationToken cancellationToken = default) =>
        GetAsync<RepositoryInfo>(RepositoryPath(engine, schema), cancellationToken);

    public Task<RepositoryStatus> GetRepositoryStatusAsync(string engine, string schema, CancellationToken cancellationToken = default) =>
        GetAsync<RepositoryStatus>($"{RepositoryPath(engine, schema)}/status", cancellationToken);

    public Task<CommitImageResult> CommitImageAsync(string engine, string schema, CommitImageRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<CommitImageResult>($"{RepositoryPath(engine, schema)}/commit", request, cancellationToken);

    /// <summary>Every image of the repository, newest first.</summary>
    public Task<List<ImageInfo>> GetImagesAsync(string engine, string schema, CancellationToken cancellationToken = default) =>
        GetAsync<List<ImageInfo>>($"{RepositoryPath(engine, schema)}/images", cancellationToken);

    public Task<ImageDetail> GetImageAsync(string engine, string schema, string image, CancellationToken cancellationToken = default) =>
        GetAsync<ImageDetail>($"{RepositoryPath(engine, schema)}/images/{E(image)}", cancellationToken);

    public Task<List<TagInfo>> GetTagsAsync(string engine, string schema, CancellationToken cancellationToken = default) =>
        GetAsync<List<TagInfo>>($"{RepositoryPath(engine, schema)}/tags", cancellationToken);

    public Task<TagInfo> SetTagAsync(string engine, string schema, string tag, string image, CancellationToken cancellationToken = default) =>
        SendAsync<TagInfo>(HttpMethod.Put, $"{RepositoryPath(engine, schema)}/tags/{E(tag)}", new SetTagRequest(image), cancellationToken);

    public Task DeleteTagAsync(string engine, string schema, string tag, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"{RepositoryPath(engine, schema)}/tags/{E(tag)}", null, cancellationToken);

    public Task<CheckoutResult> CheckoutAsync(string engine, string schema, CheckoutRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<CheckoutResult>($"{RepositoryPath(engine, schema)}/checkout", request, cancellationToken);

    /// <summary>Per-table counts from one image to another (<paramref name="to"/> null: the working state).</summary>
    public Task<VersionDiff> GetDiffAsync(string engine, string schema, string from, string? to, CancellationToken cancellationToken = default) =>
        GetAsync<VersionDiff>($"{RepositoryPath(engine, schema)}/diff?from={E(from)}{(to is null ? "" : "&to=" + E(to))}", cancellationToken);

    /// <summary>A page of one table's row changes between two images, in the pending-changes shape.</summary>
    public Task<ChangePage> GetTableDiffAsync(string engine, string schema, string table, string from, string? to, long after, int limit,
        CancellationToken cancellationToken = default) =>
        GetAsync<ChangePage>(
            $"{RepositoryPath(engine, schema)}/diff/tables/{E(table)}?from={E(from)}{(to is null ? "" : "&to=" + E(to))}&after={after}&limit={limit}",
            cancellationToken);

    /// <summary>Push, pull or clone the repository; progress is at <see cref="GetTransferAsync"/> under <paramref name="transferId"/>.</summary>
    public Task<VersionTransferResult> TransferRepositoryAsync(string engine, string schema, RepositoryTransferKind kind, VersionTransferRequest request,
        Guid? transferId = null, CancellationToken cancellationToken = default) =>
        PostAsync<VersionTransferResult>(
            $"{RepositoryPath(engine, schema)}/{kind.ToString().ToLowerInvariant()}{(transferId is { } id ? "?transferId=" + id : "")}", request, cancellationToken);

    /// <summary>Where each object is used: repository, table, image and chain position (one row per use).</summary>
    public Task<List<ObjectProvenance>> GetProvenanceAsync(string engine, CancellationToken cancellationToken = default) =>
        GetAsync<List<ObjectProvenance>>($"{Base(engine)}/objects/provenance", cancellationToken);

    // --- Development SQL console ---------------------------------------------------------------------------------

    public Task<SqlResult> RunSqlAsync(string engine, string statement, CancellationToken cancellationToken = default) =>
        PostAsync<SqlResult>($"{Base(engine)}/sql", new SqlRequest(statement), cancellationToken);

    // --- Plumbing ------------------------------------------------------------------------------------------------

    private static string E(string segment) => Uri.EscapeDataString(segment);

    private static string Base(string engine) => $"/api/engines/{E(engine)}";

    private static string RepositoryPath(string engine, string schema) => $"{Base(engine)}/repositories/{E(schema)}";

    private static string TablePath(string engine, string schema, string table) => $"{Base(engine)}/schemas/{E(schema)}/tables/{E(table)}";

    private Task<T> GetAsync<T>(string path, CancellationToken cancellationToken) => SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    private Task<T> PostAsync<T>(string path, object? body, CancellationToken cancellationToken, bool unbounded = false) =>
        SendAsync<T>(HttpMethod.Post, path, body, cancellationToken, unbounded);

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(Request(method, path, body), HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ToExceptionAsync(response, cancellationToken);
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, bool unbounded = false)
    {
        var request = Request(method, path, body);
        request.Options.Set(EngineApiClientRegistration.Unbounded, unbounded);
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ToExceptionAsync(response, cancellationToken);
        }

        try
        {
            return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
                   ?? throw new EngineApiException((int)response.StatusCode, "Empty response", $"The API answered {path} with an empty body.");
        }
        catch (JsonException ex)
        {
            throw new EngineApiException((int)response.StatusCode, "Unexpected response", $"The API's answer to {path} could not be read: {ex.Message}", ex);
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }
        else if (method == HttpMethod.Post)
        {
            request.Content = new StringContent("", System.Text.Encoding.UTF8, "application/json");
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using (request)
        {
            try
            {
                return await http.SendAsync(request, completion, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw new EngineApiException(0, "Engine API unreachable", $"The engine API cannot be reached ({ex.Message}).", ex);
            }
            catch (Exception ex) when (ex is TaskCanceledException or Polly.Timeout.TimeoutRejectedException && !cancellationToken.IsCancellationRequested)
            {
                throw new EngineApiException(0, "Engine API timed out", "The engine API did not answer in time.", ex);
            }
        }
    }

    /// <summary>Reads a ProblemDetails body (or whatever came back) into a typed exception.</summary>
    internal static async Task<EngineApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var title = response.ReasonPhrase ?? "Request failed";
        var detail = "";
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!string.IsNullOrWhiteSpace(text))
            {
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object)
                    {
                        if (doc.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String)
                        {
                            title = t.GetString()!;
                        }

                        if (doc.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
                        {
                            detail = d.GetString()!;
                        }
                    }
                }
                catch (JsonException)
                {
                    detail = text.Length > 500 ? text[..500] : text;
                }
            }
        }
        catch (HttpRequestException)
        {
            // The body could not be read; the status line is all there is.
        }

        if (string.IsNullOrWhiteSpace(detail))
        {
            detail = $"The engine API answered {status} {title}.";
        }

        return new EngineApiException(status, title, detail);
    }
}
