using System.Net;
using System.Text.Json;

namespace EndToEnd.Tests.Api;

/// <summary>Requests Kestrel refuses before any middleware runs still get a problem+json answer, not an empty body.</summary>
[Collection(TopologyCollection.Name)]
public sealed class KestrelRejectionTests(TopologyFixture topology)
{
    [Theory]
    [InlineData("/api/engines/lo%00cal/tables", HttpStatusCode.BadRequest)]
    [InlineData("/api/engines/local/schemas/public/tables/t%00x/dump", HttpStatusCode.BadRequest)]
    [InlineData("/api/engines/local/tables?schema=LONG", HttpStatusCode.RequestUriTooLong)]
    [InlineData("/api/LONG", HttpStatusCode.RequestUriTooLong)]
    public async Task A_request_kestrel_rejects_gets_problem_details(string path, HttpStatusCode status)
    {
        // A fresh connection: Kestrel closes the one a rejected request came on.
        using var client = topology.App.CreateHttpClient("engine-api");
        client.DefaultRequestHeaders.Add("X-Api-Key", TopologyFixture.ApiKey);
        var target = path.Replace("LONG", new string('a', 9 * 1024), StringComparison.Ordinal);

        using var response = await client.GetAsync(target);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));

        // Ordinary answers on the same kind of connection are untouched.
        using var fine = await client.GetAsync("/api/engines");
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
        Assert.Equal("application/json", fine.Content.Headers.ContentType?.MediaType);
    }
}
