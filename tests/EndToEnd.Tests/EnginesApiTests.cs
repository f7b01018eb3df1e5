using System.Net;
using System.Net.Http.Json;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests;

[Collection(TopologyCollection.Name)]
public sealed class EnginesApiTests(TopologyFixture topology)
{
    [Fact]
    public async Task Lists_local_and_remote_healthy_on_postgres_15_or_later()
    {
        var engines = await topology.GetJsonAsync<List<EngineInfo>>("/api/engines");

        Assert.Equal(["local", "remote"], engines.Select(e => e.Name).Order());
        Assert.All(engines, engine =>
        {
            Assert.True(engine.Healthy, engine.Error);
            Assert.Equal("splitgraph", engine.Database);
            var major = int.Parse(engine.ServerVersion!.Split('.', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(major >= 15, $"PostgreSQL {engine.ServerVersion} is older than 15");
        });
    }

    [Fact]
    public async Task Unknown_engine_is_a_404_problem()
    {
        var response = await topology.Api.GetAsync("/api/engines/nope/tracked-tables");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemBody>();
        Assert.Contains("nope", problem!.Detail);
    }

    [Fact]
    public async Task Unknown_route_is_a_404_problem()
    {
        var response = await topology.Api.GetAsync("/api/no/such/route");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_and_openapi_are_served()
    {
        Assert.Equal(HttpStatusCode.OK, (await topology.Api.GetAsync("/health")).StatusCode);
        var openApi = await topology.Api.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/engines/{engine}/objects/upload", openApi);
    }
}

public sealed record ProblemBody(string? Title, int? Status, string? Detail);

[Collection(TopologyCollection.Name)]
public sealed class ApiKeyTests(TopologyFixture topology)
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("wrong-key")]
    public async Task Api_routes_refuse_a_missing_or_wrong_key_with_a_401_problem(string? key)
    {
        using var client = topology.App.CreateHttpClient("engine-api");
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        var response = await client.GetAsync("/api/engines");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(TopologyFixture.ApiKey, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_stays_open_without_a_key()
    {
        using var client = topology.App.CreateHttpClient("engine-api");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }
}
