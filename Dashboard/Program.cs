using Dashboard.Components;
using Dashboard.Services;
using MudBlazor.Services;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddMudServices();

// "engine-api" is resolved by Aspire service discovery (https first, then http).
builder.Services.AddHttpClient<EngineApiClient>(client => client.BaseAddress = new Uri(builder.Configuration["EngineApi:BaseAddress"] ?? "https+http://engine-api"));

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/Error", createScopeForErrors: true);
}

app.UseAntiforgery();
app.MapStaticAssets();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.MapDefaultEndpoints();

app.Run();
