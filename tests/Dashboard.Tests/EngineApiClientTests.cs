using Dashboard.Services;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

public sealed class EngineApiClientTests
{
    [Fact]
    public async Task Problem_details_become_a_typed_exception_with_the_detail()
    {
        using var api = new FakeApi();
        api.Problem("POST /api/engines/local/sql", 409, "SQL console disabled", "The SQL console is off.");
        using var http = new HttpClient(api) { BaseAddress = new Uri("http://engine-api") };
        var client = new EngineApiClient(http);

        var ex = await Assert.ThrowsAsync<EngineApiException>(() => client.RunSqlAsync("local", "select 1"));

        Assert.Equal(409, ex.Status);
        Assert.Equal("SQL console disabled", ex.Title);
        Assert.Equal("The SQL console is off.", ex.Detail);
        Assert.False(ex.IsUnreachable);
    }

    [Fact]
    public async Task An_unreachable_api_is_status_zero()
    {
        using var unreachable = new Unreachable();
        using var http = new HttpClient(unreachable) { BaseAddress = new Uri("http://engine-api") };
        var client = new EngineApiClient(http);

        var ex = await Assert.ThrowsAsync<EngineApiException>(() => client.GetEnginesAsync());

        Assert.True(ex.IsUnreachable);
        Assert.Contains("cannot be reached", ex.Detail);
    }

    [Fact]
    public async Task Routes_and_bodies_follow_the_api()
    {
        using var api = new FakeApi();
        api.Json("POST /api/engines/local/objects/download", """{"transferred":[],"skipped":[],"missing":["x"]}""");
        api.Json("DELETE /api/engines/local/schemas/s/changes", """{"discarded":4}""");
        using var http = new HttpClient(api) { BaseAddress = new Uri("http://engine-api") };
        var client = new EngineApiClient(http);
        var id = Guid.NewGuid();

        var transfer = await client.TransferAsync("local", TransferDirection.Download, ["x"], "remote", id);
        var discard = await client.DiscardChangesAsync("local", "s", "t");

        Assert.Equal(["x"], transfer.Missing);
        Assert.Equal(4, discard.Discarded);
        Assert.Contains($"POST /api/engines/local/objects/download?transferId={id}", api.Requests);
        Assert.Contains("DELETE /api/engines/local/schemas/s/changes?table=t", api.Requests);
    }

    private sealed class Unreachable : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new HttpRequestException("Connection refused");
    }
}
