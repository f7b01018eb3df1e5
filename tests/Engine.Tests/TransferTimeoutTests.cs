using System.Net;
using System.Net.Http.Json;
using Engine.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Engine.Tests;

/// <summary>
/// Transfers through the real API with tiny configured limits, held in flight by the receiving engine's per-object
/// lock: the request timeout that cuts an ordinary request does not cut a transfer, which ends only when it stops
/// making progress for the stall timeout.
/// </summary>
public sealed class TransferTimeoutTests(TwoDatabasesFixture fixture, ITestOutputHelper output) : IClassFixture<TwoDatabasesFixture>
{
    // Engine names as the API knows them (the test databases' names are not valid engine names).
    private const string Source = "source";
    private const string Target = "target";

    private TestDatabase Local => fixture.Local;

    private TestDatabase Remote => fixture.Remote;

    [Fact]
    public async Task A_transfer_held_longer_than_the_request_timeout_still_finishes()
    {
        var (schema, id) = await ObjectAsync();
        await using var factory = Api(("Limits:RequestTimeout", "00:00:01"), ("Limits:TransferStallTimeout", "00:10:00"));
        using var api = factory.Client();

        Task<HttpResponseMessage> upload;
        await using (await LockGate.AdvisoryAsync(Remote, id))
        {
            upload = api.PostAsJsonAsync($"/api/engines/{Source}/objects/upload", new TransferRequest([id], Target));
            await LockGate.WaitForWaiterAsync(Local, Remote.Name, "advisory");

            // The same API cuts an ordinary request held as long: started after the transfer, it ends first, at 1 s.
            HttpResponseMessage ordinary;
            await using (await LockGate.TableAsync(Local, $"{schema}.t", "ACCESS EXCLUSIVE"))
            {
                ordinary = await api.PostAsync($"/api/engines/{Source}/schemas/{schema}/tables/t/commit", null).WaitAsync(TimeSpan.FromMinutes(2));
            }

            Assert.Equal(HttpStatusCode.GatewayTimeout, ordinary.StatusCode);
            Assert.False(upload.IsCompleted, "the transfer ended with the ordinary request");
        }

        var response = await upload.WaitAsync(TimeSpan.FromMinutes(2));
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([id], (await response.Content.ReadFromJsonAsync<TransferResult>())!.Transferred);
    }

    [Fact]
    public async Task A_transfer_that_makes_no_progress_for_the_stall_timeout_is_stopped_and_leaves_nothing_half_done()
    {
        var (_, id) = await ObjectAsync();
        await using var factory = Api(("Limits:TransferStallTimeout", "00:00:01"));
        using var api = factory.Client();
        var transferId = Guid.NewGuid();

        HttpResponseMessage response;
        await using (await LockGate.AdvisoryAsync(Remote, id))
        {
            response = await api.PostAsJsonAsync($"/api/engines/{Source}/objects/upload?transferId={transferId}", new TransferRequest([id], Target))
                .WaitAsync(TimeSpan.FromMinutes(2));
        }

        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("Transfer stalled", body, StringComparison.Ordinal);
        var status = (await api.GetFromJsonAsync<TransferStatus>($"/api/transfers/{transferId}"))!;
        Assert.True(status.Finished);
        Assert.Contains("no progress", status.Error, StringComparison.Ordinal);
        Assert.Equal(0L, await Remote.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects WHERE object_id = $1", id));
    }

    private async Task<(string Schema, string ObjectId)> ObjectAsync()
    {
        var schema = await Local.NewSchemaAsync("xfer");
        await Local.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text)");
        await Objects.TrackAsync(Local, schema, "t");
        await Local.ExecAsync($"INSERT INTO {schema}.t SELECT g, '{schema}' || g FROM generate_series(1, 100) g"); // unique rows: object IDs are content hashes
        return (schema, (await Objects.CommitAsync(Local, schema, "t")).ObjectId!);
    }

    private WebApplicationFactory<Program> Api(params (string Key, string Value)[] limits) =>
        ApiHost.Start([($"ConnectionStrings:{Source}", Local.Endpoint.ConnectionString), ($"ConnectionStrings:{Target}", Remote.Endpoint.ConnectionString), .. limits]);
}
