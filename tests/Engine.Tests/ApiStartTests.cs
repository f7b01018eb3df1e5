using System.Net;
using System.Net.Http.Json;
using Engine.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Engine.Tests;

/// <summary>
/// The API started while one of its engines is unreachable: it starts anyway, reports that engine unhealthy with the
/// reason (its routes answer 503 problems), and initialises and serves it once it comes up — no restart needed.
/// </summary>
public sealed class ApiStartTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private const string ApiKey = "api-start-test-key";

    [Fact]
    public async Task An_engine_unreachable_at_start_is_reported_then_served_when_it_comes_up()
    {
        // Reserve a port and password by starting a server, then stop it: the API will find nobody there.
        var first = await ThrowawayPostgres.StartAsync(new ThrowawayPostgresOptions { FolderPrefix = "sg-engine-tests-late-", Fast = true });
        var (port, password, lateConnection) = (first.Port, first.Password, first.ConnectionString("splitgraph"));
        await first.DisposeAsync();

        await using var factory = new ApiFactory([
            ("ConnectionStrings:up", fixture.Db.Endpoint.ConnectionString),
            ("ConnectionStrings:late", lateConnection),
            ("Engine:ApiKey", ApiKey)]);
        using var api = factory.CreateClient();
        api.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);

        var engines = await api.GetFromJsonAsync<List<EngineInfo>>("/api/engines");
        Assert.True(engines!.Single(e => e.Name == "up").Healthy);
        var late = engines!.Single(e => e.Name == "late");
        Assert.False(late.Healthy);
        Assert.False(string.IsNullOrWhiteSpace(late.Error));
        var unavailable = await api.GetAsync("/api/engines/late/objects");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        Assert.Equal("application/problem+json", unavailable.Content.Headers.ContentType?.MediaType);

        // The engine comes up where the API expects it; the API's background initialiser finds it.
        await using var second = await ThrowawayPostgres.StartAsync(new ThrowawayPostgresOptions
        {
            FolderPrefix = "sg-engine-tests-late-", Fast = true, Port = port, Password = password,
        });
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            late = (await api.GetFromJsonAsync<List<EngineInfo>>("/api/engines"))!.Single(e => e.Name == "late");
            if (late is { Healthy: true, Error: null })
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the late engine was never initialised: {late.Error}");
            await Task.Delay(250);
        }

        var objects = await api.GetAsync("/api/engines/late/objects");
        Assert.True(objects.IsSuccessStatusCode, await objects.Content.ReadAsStringAsync());
    }
}
