using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Dashboard.Services;

/// <summary>
/// The Dashboard's client of Engine.Api. "engine-api" is resolved by Aspire service discovery (https first, then
/// http). The service defaults add a standard resilience handler to every client; it would retry POSTs (commit, apply,
/// transfer) and cut long calls, so this client replaces it with one that never retries unsafe methods, takes its
/// timeouts from <see cref="LimitsOptions"/>, and sets no time limit on requests marked <see cref="Unbounded"/>
/// (transfers: the API stops one only when it stops making progress).
/// </summary>
public static class EngineApiClientRegistration
{
    /// <summary>Set on a request the client must not time out.</summary>
    public static readonly HttpRequestOptionsKey<bool> Unbounded = new("splitgraph.unbounded");

    public static IServiceCollection AddEngineApiClient(this IServiceCollection services, IConfiguration configuration, LimitsOptions limits)
    {
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to replace the defaults.
        return services.AddHttpClient<EngineApiClient>(client =>
            {
                client.BaseAddress = new Uri(configuration["EngineApi:BaseAddress"] ?? "https+http://engine-api");
                client.Timeout = Timeout.InfiniteTimeSpan;
                // The API refuses /api calls without the key the AppHost gives both services.
                client.DefaultRequestHeaders.Add("X-Api-Key", configuration["EngineApi:ApiKey"] ?? string.Empty);
            })
            .RemoveAllResilienceHandlers()
            .AddStandardResilienceHandler(options =>
            {
                options.Retry.DisableForUnsafeHttpMethods();
                options.Retry.MaxRetryAttempts = 2;
                options.AttemptTimeout.Timeout = limits.ClientAttemptTimeout;
                options.AttemptTimeout.TimeoutGenerator = args => TimeoutFor(args.Context, limits.ClientAttemptTimeout);
                options.TotalRequestTimeout.Timeout = limits.ClientTotalTimeout;
                options.TotalRequestTimeout.TimeoutGenerator = args => TimeoutFor(args.Context, limits.ClientTotalTimeout);
                options.CircuitBreaker.SamplingDuration = limits.ClientCircuitSamplingDuration;
            })
            .Services;
#pragma warning restore EXTEXP0001
    }

    private static ValueTask<TimeSpan> TimeoutFor(ResilienceContext context, TimeSpan timeout) =>
        ValueTask.FromResult(context.GetRequestMessage()?.Options.TryGetValue(Unbounded, out var unbounded) == true && unbounded
            ? Timeout.InfiniteTimeSpan
            : timeout);
}
