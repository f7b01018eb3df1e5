using System.Net;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EndToEnd.Tests.Browser;

/// <summary>
/// The Dashboard holds the API key, so nobody gets past its login page without the AppHost's login token: not its
/// pages, not the download proxy, not the Blazor circuit (which is what deletes, commits and transfers).
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class DashboardLoginTests(TopologyFixture topology, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [Theory]
    [InlineData("/")]
    [InlineData("/engines/local/tables")]
    [InlineData("/engines/local/objects")]
    [InlineData("/engines/remote/sql")]
    public async Task An_anonymous_visitor_sees_the_login_page_only(string path)
    {
        var (context, page) = await DashboardPage.NewAnonymousPageAsync(browser, topology);
        await using var _ = context;

        await page.GotoAsync(path, DashboardPage.Navigation);

        Assert.Equal("/login", new Uri(page.Url).AbsolutePath);
        await Expect(page.Locator("#login-page")).ToBeVisibleAsync();
        // No engine data, no object list (with its delete buttons), and no circuit that could act.
        await Expect(page.Locator(".engine-card")).ToHaveCountAsync(0);
        await Expect(page.Locator("#nav-engines")).ToHaveCountAsync(0);
        await Expect(page.Locator("#interactive-marker")).ToHaveCountAsync(0);
        Assert.DoesNotContain("splitgraph_meta", await page.ContentAsync(), StringComparison.Ordinal);
        await DashboardPage.ScreenshotAsync(page, "login-" + path.Trim('/').Replace('/', '-'), output);
    }

    [Fact]
    public async Task An_anonymous_visitor_cannot_download_a_table_nor_open_a_circuit()
    {
        var schema = "ui_anon_" + Guid.NewGuid().ToString("N")[..8];
        await topology.ExecAsync("local", $"create schema {schema}; create table {schema}.secrets (id int primary key, v text); insert into {schema}.secrets values (1, 'do-not-leak')");
        var (context, page) = await DashboardPage.NewAnonymousPageAsync(browser, topology);
        await using var _ = context;

        // A download link followed in the browser ends on the login page; the file never arrives.
        var download = await page.GotoAsync($"/download/engines/local/schemas/{schema}/tables/secrets.sql", DashboardPage.Navigation);
        Assert.Equal("/login", new Uri(page.Url).AbsolutePath);
        Assert.DoesNotContain("do-not-leak", await download!.TextAsync(), StringComparison.Ordinal);

        // The same from a script: 401, no body with data.
        var fetched = await context.APIRequest.GetAsync($"/download/engines/local/schemas/{schema}/tables/secrets.sql");
        Assert.Equal((int)HttpStatusCode.Unauthorized, fetched.Status);
        Assert.DoesNotContain("do-not-leak", await fetched.TextAsync(), StringComparison.Ordinal);

        // Deleting, committing and transferring all go through the circuit: it cannot even be negotiated.
        var negotiate = await context.APIRequest.PostAsync("/_blazor/negotiate?negotiateVersion=1");
        Assert.Equal((int)HttpStatusCode.Unauthorized, negotiate.Status);
    }

    [Fact]
    public async Task Even_signed_in_the_download_proxy_never_serves_password_verifiers()
    {
        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;
        await DashboardPage.GotoInteractiveAsync(page, "/");

        // The proxy passes the API's answer on: the user-tables rule refuses catalogues and engine schemas.
        foreach (var path in new[]
                 {
                     "/download/engines/local/schemas/pg_catalog/tables/pg_authid.sql",
                     "/download/engines/remote/schemas/pg_catalog/tables/pg_authid.sql",
                     "/download/engines/local/schemas/splitgraph_audit/tables/logged_actions.sql",
                 })
        {
            var fetched = await context.APIRequest.GetAsync(path);
            var body = await fetched.TextAsync();
            Assert.False(fetched.Ok, $"{path} answered {fetched.Status}");
            Assert.InRange(fetched.Status, 400, 499);
            Assert.DoesNotContain("SCRAM-SHA-256", body, StringComparison.Ordinal);
            Assert.DoesNotContain("INSERT INTO", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_token_is_refused_and_the_right_one_signs_in_and_out()
    {
        var (context, page) = await DashboardPage.NewAnonymousPageAsync(browser, topology);
        await using var _ = context;

        await page.GotoAsync("/login?t=" + new string('0', TopologyFixture.DashboardToken.Length), DashboardPage.Navigation);
        await Expect(page.Locator("#login-error")).ToBeVisibleAsync();
        await page.GotoAsync("/engines/local/objects", DashboardPage.Navigation);
        Assert.Equal("/login", new Uri(page.Url).AbsolutePath);

        // Typed into the form, the token signs in and returns to the page asked for.
        await page.Locator("#login-token").FillAsync(TopologyFixture.DashboardToken);
        await page.Locator("#login-submit").ClickAsync();
        await DashboardPage.WaitForPathAsync(page, "/engines/local/objects");
        await DashboardPage.WaitInteractiveAsync(page);
        Assert.Contains(await context.CookiesAsync(), c => c.Name == ".Splitgraph.Dashboard" && c.HttpOnly);

        await page.Locator("#sign-out").ClickAsync();
        await DashboardPage.WaitForPathAsync(page, "/login");
        await Expect(page.Locator("#login-page")).ToBeVisibleAsync();
        await page.GotoAsync("/", DashboardPage.Navigation);
        Assert.Equal("/login", new Uri(page.Url).AbsolutePath);
    }

    [Fact]
    public async Task The_AppHost_shows_a_sign_in_link_that_opens_the_dashboard()
    {
        var login = await DashboardPage.LoginUrlAsync(topology);
        Assert.Equal("/login", login.AbsolutePath);

        var (context, page) = await DashboardPage.NewAnonymousPageAsync(browser, topology);
        await using var _ = context;
        await page.GotoAsync(login.ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
        await DashboardPage.WaitForPathAsync(page, "/");
        await DashboardPage.WaitInteractiveAsync(page);
        await Expect(page.Locator(".engine-card[data-engine='local']")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Requests_without_a_cookie_get_401_or_the_login_page_and_foreign_host_names_are_refused()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var client = new HttpClient(handler) { BaseAddress = DashboardPage.BaseAddress(topology) };

        using var pageRequest = new HttpRequestMessage(HttpMethod.Get, "/engines/local/tables");
        pageRequest.Headers.Accept.ParseAdd("text/html");
        using var pageResponse = await client.SendAsync(pageRequest);
        Assert.Equal(HttpStatusCode.Redirect, pageResponse.StatusCode);
        Assert.Equal("/login", pageResponse.Headers.Location!.AbsolutePath);

        using var download = await client.GetAsync("/download/engines/local/schemas/public/tables/t.sql");
        Assert.Equal(HttpStatusCode.Unauthorized, download.StatusCode);

        // A forged cookie is no better than none.
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/download/engines/local/schemas/public/tables/t.sql");
        forged.Headers.Add("Cookie", ".Splitgraph.Dashboard=CfDJ8forged");
        using var forgedResponse = await client.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, forgedResponse.StatusCode);

        // DNS rebinding: a page on another name that resolves here is refused by host filtering.
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/login");
        rebound.Headers.Host = "attacker.example";
        using var reboundResponse = await client.SendAsync(rebound);
        Assert.Equal(HttpStatusCode.BadRequest, reboundResponse.StatusCode);

        using var login = await client.GetAsync("/login");
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
    }
}
