using System.Net;
using System.Text;
using Dashboard.Services;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

/// <summary>
/// The Dashboard's real API client pipeline with tiny configured timeouts: an ordinary call held by the API is cut at
/// them, while a transfer held longer than both finishes once the API answers (the API bounds it by its progress).
/// </summary>
public sealed class ClientTimeoutTests
{
    private static readonly LimitsOptions Tiny = new()
    {
        ClientAttemptTimeout = TimeSpan.FromMilliseconds(200),
        ClientTotalTimeout = TimeSpan.FromMilliseconds(400),
        ClientCircuitSamplingDuration = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public async Task A_transfer_outlives_the_client_timeouts_that_cut_an_ordinary_call()
    {
        using var api = new HeldApi();
        await using var services = Services(api);
        var client = services.GetRequiredService<EngineApiClient>();

        var transfer = client.TransferAsync("local", TransferDirection.Upload, ["o1"], "remote");
        await api.TransferArrived.Task.WaitAsync(TimeSpan.FromMinutes(2));
        // Held past the attempt and total timeouts: the ordinary call, started after the transfer, is cut by them.
        var ordinary = await Assert.ThrowsAsync<EngineApiException>(() => client.GetEnginesAsync());
        Assert.Equal("Engine API timed out", ordinary.Title);
        Assert.False(transfer.IsCompleted, "the transfer was cut like an ordinary call");

        api.ReleaseTransfer.SetResult();
        var result = await transfer.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(["o1"], result.Transferred);
    }

    [Fact]
    public void Unusable_limits_are_refused_at_start_with_each_problem_named()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Limits:ClientAttemptTimeout"] = "00:10:00",
            ["Limits:ClientCircuitSamplingDuration"] = "00:05:00",
            ["Limits:RequestTimeout"] = "00:00:00",
        });

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => builder.AddLimits());

        Assert.Contains(ex.Failures, f => f.Contains("ClientCircuitSamplingDuration", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("RequestTimeout", StringComparison.Ordinal));
    }

    private static ServiceProvider Services(HttpMessageHandler api)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EngineApi:BaseAddress"] = "http://engine-api",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddEngineApiClient(configuration, Tiny);
        services.AddHttpClient<EngineApiClient>().ConfigurePrimaryHttpMessageHandler(() => api);
        return services.BuildServiceProvider();
    }

    /// <summary>Holds every call: ordinary ones until cancelled, the transfer until the test releases it.</summary>
    private sealed class HeldApi : HttpMessageHandler
    {
        public TaskCompletionSource TransferArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseTransfer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/objects/upload", StringComparison.Ordinal))
            {
                TransferArrived.TrySetResult();
                await ReleaseTransfer.Task.WaitAsync(cancellationToken);
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent("""{"transferred":["o1"],"skipped":[],"missing":[]}""", Encoding.UTF8, "application/json"),
                };
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
