using AppHost.Engines;

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
    .WithHttpHealthCheck("/health");

// The dashboard talks to the API only, found by service discovery.
builder.AddProject<Projects.Dashboard>("dashboard")
    .WithReference(api)
    .WithEnvironment("EngineApi__ApiKey", apiKey)
    .WaitFor(api)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.Build().Run();
