using AppHost.Engines;

var builder = DistributedApplication.CreateBuilder(args);

// Two engines. Each runs in a container, from local PostgreSQL binaries, or is an existing server given by
// ConnectionStrings:<name> — see Engines/SplitgraphEngineBuilderExtensions.cs. Another engine is one more line.
var local = builder.AddSplitgraphEngine("local");
var remote = builder.AddSplitgraphEngine("remote");

// The API serves every engine it is given and starts once all of them accept connections.
var api = builder.AddProject<Projects.Engine_Api>("engine-api")
    .WithEngine(local)
    .WithEngine(remote)
    .WithHttpHealthCheck("/health");

// The dashboard talks to the API only, found by service discovery.
builder.AddProject<Projects.Dashboard>("dashboard")
    .WithReference(api)
    .WaitFor(api)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.Build().Run();
