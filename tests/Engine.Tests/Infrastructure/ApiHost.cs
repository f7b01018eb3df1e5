using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Engine.Tests.Infrastructure;

/// <summary>The real API in-process (WebApplicationFactory) against engines of the test server.</summary>
public static class ApiHost
{
    public const string ApiKey = "engine-tests-api-key";

    /// <param name="settings">Configuration, e.g. <c>ConnectionStrings:&lt;engine&gt;</c>; the API key is added.</param>
    public static ApiFactory Start(params (string Key, string Value)[] settings) => new(settings);

    /// <summary>A client that sends the API key.</summary>
    public static HttpClient Client(this WebApplicationFactory<Program> factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }
}

/// <summary>
/// The API with the given settings (and the API key). Configured by overriding, not by <c>WithWebHostBuilder</c>, whose
/// parent factory nobody would dispose.
/// </summary>
public sealed class ApiFactory(IReadOnlyList<(string Key, string Value)> settings, Action<IWebHostBuilder>? configure = null)
    : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Engine:ApiKey", ApiHost.ApiKey);
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        configure?.Invoke(builder);
    }
}
