using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;

namespace Dashboard.Login;

/// <summary>
/// Every page, download and the Blazor circuit need a signed-in browser, as in the Aspire dashboard: a secret token
/// (given once, by the login link the AppHost shows or typed into <c>/login</c>) is exchanged for a cookie.
/// </summary>
public static class DashboardLogin
{
    public const string LoginPath = "/login";
    public const string LogoutPath = "/logout";
    public const string CookieName = ".Splitgraph.Dashboard";

    public static WebApplicationBuilder AddDashboardLogin(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(LoginToken.FromConfiguration(builder.Configuration));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.LoginPath = LoginPath;
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromHours(12);
                options.SlidingExpiration = true;
                options.Events.OnRedirectToLogin = context =>
                {
                    // A page navigation goes to the login page; the circuit, downloads and anything else get a bare 401.
                    if (IsPageNavigation(context.Request))
                    {
                        context.Response.Redirect(context.RedirectUri);
                    }
                    else
                    {
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    }

                    return Task.CompletedTask;
                };
            });
        // Everything needs a signed-in user unless it says otherwise (the login page, static assets, health).
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddCascadingAuthenticationState();
        return builder;
    }

    public static void MapLogout(this IEndpointRouteBuilder app) =>
        app.MapPost(LogoutPath, async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect(LoginPath);
        });

    /// <summary>Signs the browser in if <paramref name="token"/> is the login token.</summary>
    public static async Task<bool> TrySignInAsync(HttpContext context, LoginToken loginToken, string? token)
    {
        if (!loginToken.Matches(token))
        {
            return false;
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "dashboard-user")], CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity),
            new AuthenticationProperties { IsPersistent = false });
        return true;
    }

    /// <summary>Only a path on this site: never another host (<c>//evil</c>, <c>/\evil</c>, absolute URLs).</summary>
    public static string SafeReturnPath(string? returnUrl) =>
        returnUrl is { Length: > 0 } && returnUrl[0] == '/'
        && (returnUrl.Length == 1 || (returnUrl[1] != '/' && returnUrl[1] != '\\'))
        && !returnUrl.StartsWith(LoginPath, StringComparison.OrdinalIgnoreCase)
            ? returnUrl
            : "/";

    private static bool IsPageNavigation(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && !request.Path.StartsWithSegments("/_blazor")
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
