using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Browser;

/// <summary>Helpers shared by the browser tests: open a dashboard page once it is interactive, take screenshots.</summary>
public static class DashboardPage
{
    public static readonly float Timeout = 30_000;

    /// <summary>
    /// Navigations end when the document is parsed, never on the load event (Playwright's default): a busy machine
    /// may hold that event back past the timeout, and each test waits for what it needs instead.
    /// </summary>
    public static readonly PageGotoOptions Navigation = new() { WaitUntil = WaitUntilState.DOMContentLoaded };

    public static Uri BaseAddress(TopologyFixture topology) => topology.App.GetEndpoint("dashboard");

    /// <summary>A page in a browser signed in to the Dashboard through the link the AppHost shows for it.</summary>
    public static async Task<(IBrowserContext Context, IPage Page)> NewPageAsync(BrowserFixture browser, TopologyFixture topology)
    {
        var (context, page) = await NewAnonymousPageAsync(browser, topology);
        await SignInAsync(page, topology);
        return (context, page);
    }

    /// <summary>Follows the Dashboard's sign-in link (<c>/login?t=…</c>) from the AppHost's model, as a click in the Aspire dashboard does.</summary>
    public static async Task SignInAsync(IPage page, TopologyFixture topology)
    {
        var login = await LoginUrlAsync(topology);
        // The sign-in answers with a server redirect (302 + cookie), so when the navigation's document has loaded the
        // page is already where the sign-in sent it; what that page loads next is each test's own wait. (Waiting here
        // with WaitForURL(…, Commit) was the "sign-in flake" of session 4: when the URL already matches, Playwright
        // waits for the page's load event instead, which a busy machine may not deliver within the timeout.)
        await page.GotoAsync(login.ToString(), Navigation);
        if (new Uri(page.Url).AbsolutePath.StartsWith("/login", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The sign-in link left the browser on {page.Url}: {await page.Locator("body").InnerTextAsync()}");
        }
    }

    /// <summary>
    /// Waits until the page's address has the path <paramref name="path"/> (a redirect or a client-side navigation).
    /// Polls the address instead of Playwright's WaitForURL, which waits for the load event when the address already
    /// matches: a busy machine may not deliver that event within the timeout, and nothing here needs it.
    /// </summary>
    public static Task WaitForPathAsync(IPage page, string path) =>
        Assertions.Expect(page).ToHaveURLAsync(new Regex("^[a-z]+://[^/]+" + Regex.Escape(path) + @"([?#].*)?$"));

    /// <summary>The sign-in URL the AppHost publishes among the Dashboard's resource URLs.</summary>
    public static async Task<Uri> LoginUrlAsync(TopologyFixture topology)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var notifications = topology.App.Services.GetRequiredService<ResourceNotificationService>();
        var resource = await notifications.WaitForResourceAsync("dashboard",
            e => e.Snapshot.Urls.Any(u => u.DisplayProperties.DisplayName == "Dashboard (sign in)"), cts.Token);
        return new Uri(resource.Snapshot.Urls.First(u => u.DisplayProperties.DisplayName == "Dashboard (sign in)").Url);
    }

    /// <summary>A page in a browser that has not signed in.</summary>
    public static async Task<(IBrowserContext Context, IPage Page)> NewAnonymousPageAsync(BrowserFixture browser, TopologyFixture topology)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress(topology).ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        context.SetDefaultTimeout(Timeout);
        // Expect() has its own default (5 s), too short on a busy machine; waits end on their condition anyway.
        Assertions.SetDefaultExpectTimeout(Timeout);
        // No internet here: external font requests would only slow page loads down.
        await context.RouteAsync(url => !url.StartsWith(BaseAddress(topology).GetLeftPart(UriPartial.Authority), StringComparison.Ordinal),
            route => route.AbortAsync());
        return (context, await context.NewPageAsync());
    }

    /// <summary>Navigates and waits until the Blazor circuit is live (clicks before that are lost).</summary>
    public static async Task GotoInteractiveAsync(IPage page, string path)
    {
        await page.GotoAsync(path, Navigation);
        await WaitInteractiveAsync(page);
    }

    public static Task WaitInteractiveAsync(IPage page) =>
        page.Locator("#interactive-marker").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

    public static async Task<string> ScreenshotAsync(IPage page, string name, ITestOutputHelper output)
    {
        var path = Path.Combine(BrowserFixture.ScreenshotDirectory, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
        return path;
    }
}
