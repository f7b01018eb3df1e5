using Microsoft.AspNetCore.Mvc.Testing;

namespace Engine.Tests.Infrastructure;

/// <summary>The real API in-process (WebApplicationFactory) against engines of the test server.</summary>
public static class ApiHost
{
    public const string ApiKey = "engine-tests-api-key";

    /// <param name="settings">Configuration, e.g. <c>ConnectionStrings:&lt;engine&gt;</c>; the API key is added.</param>
    public static WebApplicationFactory<Program> Start(params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("Engine:ApiKey", ApiKey);
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });

    /// <summary>A client that sends the API key.</summary>
    public static HttpClient Client(this WebApplicationFactory<Program> factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }
}
