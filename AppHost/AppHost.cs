using AppHost;
using AppHost.Engines;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);

// Two engines. Each runs in a container, from local PostgreSQL binaries, or is an existing server given by
// ConnectionStrings:<name> — see Engines/SplitgraphEngineBuilderExtensions.cs. Another engine is one more line.
var local = builder.AddSplitgraphEngine("local");
var remote = builder.AddSplitgraphEngine("remote");

// A secret the dashboard (and any other client) presents to the API; generated and kept in user secrets
// unless Parameters:api-key is set.
var apiKey = builder.CreateResourceBuilder(
    ParameterResourceBuilderExtensions.CreateGeneratedParameter(builder, "api-key", secret: true, new GenerateParameterDefault { MinLength = 32, Special = false }));

// The API serves every engine it is given and starts once all of them accept connections.
var api = builder.AddProject<Projects.Engine_Api>("engine-api")
    .WithEngine(local)
    .WithEngine(remote)
    .WithEnvironment("Engine__ApiKey", apiKey)
    // The development SQL console (POST …/sql) is off unless Engine:SqlConsole:Enabled is set for the AppHost.
    .WithEnvironment("Engine__SqlConsole__Enabled", builder.Configuration["Engine:SqlConsole:Enabled"] ?? "false")
    // How long /health and GET /api/engines wait for one engine before reporting it as not answering.
    .WithEnvironment("Engine__ProbeTimeoutSeconds", builder.Configuration["Engine:ProbeTimeoutSeconds"] ?? "5")
    .WithHttpHealthCheck("/health");

// Limits that keep slow clients from taking an engine's connection pool (see README, Security), passed on when set.
foreach (var key in new[] { "Engine:MaxPoolSize", "Engine:Dumps:MaxConcurrentPerEngine", "Engine:Dumps:IdleTimeoutSeconds" })
{
    if (builder.Configuration[key] is { Length: > 0 } value)
    {
        api.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
    }
}

// The token that signs a browser in to the Dashboard (as the Aspire dashboard's own browser token): generated and
// kept in user secrets unless Parameters:dashboard-token is set.
var dashboardToken = builder.CreateResourceBuilder(
    ParameterResourceBuilderExtensions.CreateGeneratedParameter(builder, "dashboard-token", secret: true, new GenerateParameterDefault { MinLength = 32, Special = false }));

// The dashboard talks to the API only, found by service discovery. Its link in the Aspire dashboard carries the
// login token, so one click signs in.
var dashboard = builder.AddProject<Projects.Dashboard>("dashboard")
    .WithReference(api)
    .WithEnvironment("EngineApi__ApiKey", apiKey)
    .WithEnvironment("Dashboard__LoginToken", dashboardToken)
    .WithDashboardLoginUrl(dashboardToken)
    .WaitFor(api)
    .WithHttpHealthCheck("/health");

// Loopback only unless the AppHost is told otherwise; extra host names (a reverse proxy's) are added to the
// Dashboard's AllowedHosts, which otherwise lists localhost names only.
if (builder.Configuration.GetValue("Dashboard:External", false))
{
    dashboard.WithExternalHttpEndpoints();
}

if (builder.Configuration["Dashboard:AllowedHosts"] is { Length: > 0 } extraHosts)
{
    dashboard.WithEnvironment("AllowedHosts", $"localhost;127.0.0.1;[::1];{extraHosts}");
}

builder.Build().Run();
