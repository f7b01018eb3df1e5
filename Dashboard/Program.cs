using Dashboard.Components;
using Dashboard.Login;
using Dashboard.Services;
using Microsoft.Extensions.Http.Resilience;
using MudBlazor;
using MudBlazor.Services;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDashboardLogin();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
// Components that poll take their clock from here, so tests can advance time instead of sleeping.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddMudServices(options =>
{
    options.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight;
    options.SnackbarConfiguration.VisibleStateDuration = 6000;
    options.SnackbarConfiguration.PreventDuplicates = false;
});

// "engine-api" is resolved by Aspire service discovery (https first, then http). The service defaults add a standard
// resilience handler to every client; it would retry POSTs (commit, apply, transfer) and cut long transfers at its
// attempt timeout, so this client replaces it with one that never retries unsafe methods and allows long calls.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to replace the defaults.
builder.Services.AddHttpClient<EngineApiClient>(client =>
    {
        client.BaseAddress = new Uri(builder.Configuration["EngineApi:BaseAddress"] ?? "https+http://engine-api");
        client.Timeout = Timeout.InfiniteTimeSpan;
        // The API refuses /api calls without the key the AppHost gives both services.
        client.DefaultRequestHeaders.Add("X-Api-Key", builder.Configuration["EngineApi:ApiKey"] ?? string.Empty);
    })
    .RemoveAllResilienceHandlers()
    .AddStandardResilienceHandler(options =>
    {
        options.Retry.DisableForUnsafeHttpMethods();
        options.Retry.MaxRetryAttempts = 2;
        options.AttemptTimeout.Timeout = TimeSpan.FromMinutes(10);
        options.TotalRequestTimeout.Timeout = TimeSpan.FromMinutes(30);
        options.CircuitBreaker.SamplingDuration = TimeSpan.FromMinutes(20);
    });
#pragma warning restore EXTEXP0001

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/Error", createScopeForErrors: true);
}

app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
// Styles and scripts hold no data, and the login page needs them before anyone has signed in.
app.MapStaticAssets().AllowAnonymous();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.MapDefaultEndpoints();
app.MapLogout();
DownloadEndpoints.Map(app);

app.Run();
