using Engine.Api.Behaviors;
using Engine.Api.Features;
using Engine.Api.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
var limits = builder.AddLimits();

// One pooled data source per engine found in configuration (ConnectionStrings:<name>).
foreach (var engine in EngineRegistry.Discover(builder.Configuration))
{
    builder.AddKeyedNpgsqlDataSource(engine,
        // Engine health is reported per engine by GET /api/engines; one engine down must not mark the API down.
        settings => settings.DisableHealthChecks = true,
        dataSource =>
        {
            dataSource.ConnectionStringBuilder.CommandTimeout = (int)Math.Ceiling(limits.CommandTimeout.TotalSeconds);
            // Engine:MaxPoolSize overrides the connection string's pool size (dump slots are at most half of it).
            if (builder.Configuration.GetValue<int?>("Engine:MaxPoolSize") is { } poolSize)
            {
                dataSource.ConnectionStringBuilder.MaxPoolSize = poolSize;
            }
        });
}

builder.Services.AddSingleton<EngineRegistry>();
builder.Services.AddSingleton<DumpGate>();
builder.Services.AddSingleton<Engine.Api.Engine.NetViewCache>();
builder.Services.AddSingleton<Engine.Api.Features.Engines.EngineProbe>();
// /health reports each engine, within the probe timeout, as degraded when it does not answer (the API stays up).
Engine.Api.Features.Engines.EngineHealthCheck.Register(builder.Services.AddHealthChecks(), EngineRegistry.Discover(builder.Configuration),
    new Engine.Api.Features.Engines.EngineProbe(builder.Configuration).Timeout);
builder.Services.AddSingleton<EngineStatus>();
builder.Services.AddScoped<EngineSessions>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<Engine.Api.Features.Transfers.TransferMonitor>();
builder.Services.AddHostedService<EngineInitializer>();
builder.Services.AddMediatRHandlers(typeof(Program).Assembly,
    typeof(LoggingBehavior<,>), typeof(ValidationBehavior<,>), typeof(TransactionBehavior<,>));

builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<EngineExceptionHandler>();
// Malformed bodies and parameters become exceptions, so they leave as ProblemDetails like every other error.
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
builder.Services.Configure<FormOptions>(options => options.MultipartBodyLengthLimit = 1 << 20);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestBodySize = 1 << 20;
    // Requests Kestrel rejects itself (%00 in the path, an over-long URL) also get a problem+json body.
    kestrel.ConfigureEndpointDefaults(listen => listen.UseKestrelErrorProblems());
});
// A request that runs away (a stuck lock) is cut off rather than holding a connection forever; transfers are bounded
// by their progress instead (Limits:TransferStallTimeout), so a large one that keeps moving is never cut.
builder.Services.AddRequestTimeouts(options => options.DefaultPolicy = new Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutPolicy
{
    Timeout = limits.RequestTimeout,
    TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
});
builder.Services.AddOpenApi(options => options.AddDocumentTransformer<ApiKeySecurityScheme>());

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<ApiKeyMiddleware>();
// Names with '/' in route parameters (sent as %2F) arrive decoded like every other character.
app.UseMiddleware<RawRouteValuesMiddleware>();
app.UseRequestTimeouts();

app.MapOpenApi();
app.MapScalarApiReference();
app.MapDefaultEndpoints();
app.MapEngineApi();

app.Run();

/// <summary>Entry point, visible to tests.</summary>
public partial class Program;
