using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EndToEnd.Tests.Browser;

[Collection(TopologyCollection.Name)]
public sealed class EnginesPageTests(TopologyFixture topology, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Shows_a_card_for_local_and_remote()
    {
        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;

        await DashboardPage.GotoInteractiveAsync(page, "/");

        await Expect(page.Locator(".engine-card[data-engine='local']")).ToBeVisibleAsync();
        await Expect(page.Locator(".engine-card[data-engine='remote']")).ToBeVisibleAsync();
        await Expect(page.Locator(".engine-card[data-engine='local'] .engine-health")).ToHaveTextAsync("healthy");
        await Expect(page.Locator("#pending-chart-panel")).ToBeVisibleAsync();
        await DashboardPage.ScreenshotAsync(page, "engines", output);
    }

    [Fact]
    public async Task Sql_console_runs_a_statement_through_the_api()
    {
        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;

        await DashboardPage.GotoInteractiveAsync(page, "/engines/local/sql");
        await page.Locator("textarea#sql-statement, #sql-statement textarea").First.FillAsync("select 40 + 2 as answer, 'hi' as greeting");
        await page.Locator("#sql-run").ClickAsync();

        // The fixture starts the AppHost with the console on; the disabled notice is covered by Dashboard.Tests.
        await Expect(page.Locator("#sql-result thead")).ToContainTextAsync("answer");
        await Expect(page.Locator("#sql-result tbody")).ToContainTextAsync("42");
        await Expect(page.Locator("#sql-disabled")).ToHaveCountAsync(0);

        await DashboardPage.ScreenshotAsync(page, "sql-console", output);
    }

    [Fact]
    public async Task Changes_of_an_untracked_table_show_the_problem_not_an_error_page()
    {
        var schema = "ui_err_" + Guid.NewGuid().ToString("N")[..8];
        await topology.ExecAsync("local", $"create schema {schema}; create table {schema}.t (id int primary key)");
        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;

        await DashboardPage.GotoInteractiveAsync(page, $"/engines/local/changes/{schema}/t");

        await Expect(page.Locator("#counters-error")).ToContainTextAsync("track", new() { IgnoreCase = true });
        await Expect(page.Locator("#change-grid-error .problem-detail")).ToBeVisibleAsync();
        await DashboardPage.ScreenshotAsync(page, "changes-untracked", output);
    }
}
