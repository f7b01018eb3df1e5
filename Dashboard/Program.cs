using Dashboard.Components;
using Dashboard.Login;
using Dashboard.Services;
using Microsoft.Extensions.Http.Resilience;
using MudBlazor;
using MudBlazor.Services;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
var limits = builder.AddLimits();
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

builder.Services.AddEngineApiClient(builder.Configuration, limits);

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
