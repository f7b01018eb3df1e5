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

        // The AppHost decides whether the API has the console on; either way the page must say what happened.
        var outcome = page.Locator("#sql-result, #sql-disabled").First;
        await Expect(outcome).ToBeVisibleAsync();
        if (await page.Locator("#sql-disabled").IsVisibleAsync())
        {
            output.WriteLine("The API has the SQL console disabled: checking the 409 is shown as a notice.");
            await Expect(page.Locator("#sql-disabled")).ToContainTextAsync("SQL console disabled");
            await Expect(page.Locator("#sql-disabled")).ToContainTextAsync("Engine:SqlConsole:Enabled");
            await Expect(page.Locator("#sql-error")).ToHaveCountAsync(0);
        }
        else
        {
            await Expect(page.Locator("#sql-result thead")).ToContainTextAsync("answer");
            await Expect(page.Locator("#sql-result tbody")).ToContainTextAsync("42");
        }

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
