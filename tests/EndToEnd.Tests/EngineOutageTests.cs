using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests;

/// <summary>
/// An engine that goes down and comes back: the API keeps answering (the engine reported unhealthy with the reason,
/// its routes a 503 problem, never a 500) and recovers by itself once the engine is back. Own topology: it stops a
/// resource, which the shared one must not see.
/// </summary>
public sealed class EngineOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private DistributedApplication _app = default!;
    private HttpClient _api = default!;

    public async Task InitializeAsync()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), $"sga-{Environment.ProcessId}-out{Guid.NewGuid():N}"[..28]);
        _app = await TopologyFixture.StartAsync(dataRoot);
        _api = _app.CreateHttpClient("engine-api");
        _api.DefaultRequestHeaders.Add("X-Api-Key", TopologyFixture.ApiKey);
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task A_stopped_engine_is_reported_unhealthy_and_served_again_when_it_returns()
    {
        var commands = _app.Services.GetRequiredService<ResourceCommandService>();
        Assert.True((await _api.GetAsync("/api/engines/remote/objects")).IsSuccessStatusCode);

        var stop = await commands.ExecuteCommandAsync("remote", "resource-stop");
        Assert.True(stop.Success, stop.Message);
        var down = await WaitForAsync(engine => !engine.Healthy);
        Assert.False(string.IsNullOrWhiteSpace(down.Error));
        Assert.True((await EngineAsync("local")).Healthy);

        var unavailable = await _api.GetAsync("/api/engines/remote/objects");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        Assert.Equal("application/problem+json", unavailable.Content.Headers.ContentType?.MediaType);

        var start = await commands.ExecuteCommandAsync("remote", "resource-start");
        Assert.True(start.Success, start.Message);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("remote").WaitAsync(Patience);
        await WaitForAsync(engine => engine.Healthy);

        // Pooled connections to the old server are broken; the next requests must still work.
        var objects = await _api.GetAsync("/api/engines/remote/objects");
        Assert.True(objects.IsSuccessStatusCode, await objects.Content.ReadAsStringAsync());
        Assert.True((await _api.GetAsync("/api/engines/remote/tracked-tables")).IsSuccessStatusCode);
    }

    private async Task<EngineInfo> EngineAsync(string name)
    {
        var response = await _api.GetAsync("/api/engines");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<List<EngineInfo>>())!.Single(e => e.Name == name);
    }

    private async Task<EngineInfo> WaitForAsync(Func<EngineInfo, bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var remote = await EngineAsync("remote");
            if (condition(remote))
            {
                return remote;
            }

            Assert.True(DateTime.UtcNow < deadline, $"remote stayed {(remote.Healthy ? "healthy" : "unhealthy")}: {remote.Error}");
            await Task.Delay(500);
        }
    }
}
