using System.Net;
using System.Text;
using System.Text.Json;

namespace EndToEnd.Tests.Api;

/// <summary>
/// Errors that say what went wrong: a body of the wrong media type is a 415 (not "no such route"), a 401 tells a
/// missing key from a wrong one, and the OpenAPI document declares the key scheme and the problem responses.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class ErrorAnswersApiTests(TopologyFixture topology)
{
    private const string TrackBody = """{"tables":[{"schema":"public","table":"no_such_table"}]}""";

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/json")]
    [InlineData("application/octet-stream")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_body_of_the_wrong_media_type_is_a_415_problem(string contentType)
    {
        foreach (var route in new[] { "/api/engines/local/tracked-tables", "/api/engines/local/objects/delete", "/api/engines/remote/objects/apply" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(TrackBody)) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await topology.Api.SendAsync(request);
            var problem = await ApiAssert.ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
            Assert.Contains("application/json", problem.Detail);
        }
    }

    [Fact]
    public async Task A_body_without_a_content_type_is_a_415_problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/engines/local/tracked-tables") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(TrackBody)) };
        using var response = await topology.Api.SendAsync(request);
        await ApiAssert.ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task An_unknown_route_is_still_a_404_whatever_the_content_type()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/engines/local/no-such-route") { Content = new StringContent("x", Encoding.UTF8, "text/plain") };
        using var response = await topology.Api.SendAsync(request);
        await ApiAssert.ProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData(null, "API key missing")]
    [InlineData("", "API key missing")]
    [InlineData("wrong-key", "API key wrong")]
    public async Task A_401_says_whether_the_key_was_missing_or_wrong(string? key, string title)
    {
        using var client = topology.App.CreateHttpClient("engine-api");
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        var problem = await ApiAssert.ProblemAsync(await client.GetAsync("/api/engines"), HttpStatusCode.Unauthorized);
        Assert.Equal(title, problem.Title);
    }

    [Fact]
    public async Task The_OpenAPI_document_declares_the_key_scheme_and_problem_responses_on_every_route()
    {
        using var client = topology.App.CreateHttpClient("engine-api");
        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").EnumerateObject().Single().Value;
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", scheme.GetProperty("name").GetString());
        Assert.NotEmpty(document.GetProperty("security").EnumerateArray());

        var operations = document.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Route: $"{o.Name.ToUpperInvariant()} {p.Name}", Operation: o.Value)))
            .ToList();
        Assert.True(operations.Count >= 20, $"only {operations.Count} operations documented");
        foreach (var (route, operation) in operations)
        {
            var responses = operation.GetProperty("responses");
            foreach (var status in new[] { "400", "401", "404", "503" })
            {
                Assert.True(responses.TryGetProperty(status, out var response), $"{route} documents no {status}");
                Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{route} {status} is not a problem");
            }
        }
    }
}
