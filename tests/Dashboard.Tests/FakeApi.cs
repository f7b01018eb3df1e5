using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Dashboard.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MudBlazor.Services;

namespace Dashboard.Tests;

/// <summary>
/// The only fake in these tests: an HTTP handler answering Engine.Api routes with canned JSON. Routes are matched on
/// "METHOD path" (query ignored); the handler may be swapped while a component is live.
/// </summary>
public sealed class FakeApi : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, Func<HttpRequestMessage, Task<HttpResponseMessage>>> _routes = new();

    public ConcurrentQueue<string> Requests { get; } = new();

    public int Count(string prefix) => Requests.Count(r => r.StartsWith(prefix, StringComparison.Ordinal));

    public void Json(string methodAndPath, string json, HttpStatusCode status = HttpStatusCode.OK) =>
        _routes[methodAndPath] = _ => Task.FromResult(Response(status, json, status >= HttpStatusCode.BadRequest ? "application/problem+json" : "application/json"));

    public void Problem(string methodAndPath, int status, string title, string detail) =>
        Json(methodAndPath, $$"""{"type":"about:blank","title":"{{title}}","status":{{status}},"detail":"{{detail}}"}""", (HttpStatusCode)status);

    public void Handle(string methodAndPath, Func<HttpRequestMessage, Task<HttpResponseMessage>> handler) => _routes[methodAndPath] = handler;

    public static HttpResponseMessage Response(HttpStatusCode status, string json, string mediaType = "application/json") =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, mediaType) };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = $"{request.Method} {request.RequestUri!.AbsolutePath}";
        Requests.Enqueue($"{request.Method} {request.RequestUri.PathAndQuery}");
        if (_routes.TryGetValue(key, out var handler))
        {
            return await handler(request);
        }

        // Prefix routes, e.g. "GET /api/transfers/" for any transfer ID.
        foreach (var (route, h) in _routes)
        {
            if (route.EndsWith('/') && key.StartsWith(route, StringComparison.Ordinal))
            {
                return await h(request);
            }
        }

        return Response(HttpStatusCode.NotFound, """{"title":"Not found","status":404,"detail":"No such API route."}""", "application/problem+json");
    }
}

/// <summary>A bUnit context with MudBlazor services and the typed API client over <see cref="FakeApi"/>.</summary>
/// <remarks>
/// MudBlazor registers services that are only <see cref="IAsyncDisposable"/>, so the context is disposed
/// asynchronously (xUnit 2 calls <see cref="IAsyncLifetime.DisposeAsync"/> first, the sync Dispose is then a no-op).
/// </remarks>
public abstract class DashboardTestBase : BunitContext, IAsyncLifetime
{
    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        _http.Dispose();
    }

    // The API client's connection to the fake API; disposed with the context (the client itself is not disposable).
    private readonly HttpClient _http;

    protected FakeApi Api { get; } = new();

    /// <summary>The clock of every polling component: a test advances it, so no poll depends on real time passing.</summary>
    protected FakeTimeProvider Time { get; } = new();

    protected DashboardTestBase()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        // Waits end on a condition; the timeout only bounds a broken test, so it is generous for a busy machine.
        DefaultWaitTimeout = TimeSpan.FromSeconds(30);
        Services.AddSingleton<TimeProvider>(Time);
        Services.AddMudServices();
        _http = new HttpClient(Api) { BaseAddress = new Uri("http://engine-api") };
        Services.AddSingleton(new EngineApiClient(_http));
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
    }
}
