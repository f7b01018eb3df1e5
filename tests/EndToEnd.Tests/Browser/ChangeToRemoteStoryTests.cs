using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EndToEnd.Tests.Browser;

/// <summary>
/// The whole story in a real browser: track a table, watch its counters move while rows are written behind the UI's
/// back, read the diff, commit, upload the object to the other engine and apply it there.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class ChangeToRemoteStoryTests(TopologyFixture topology, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Track_change_diff_commit_upload_and_apply_on_remote()
    {
        var schema = "ui_story_" + Guid.NewGuid().ToString("N")[..8];
        var table = $"{schema}.items";
        await topology.ExecAsync("local", $"""
            create schema {schema};
            create table {table} (id int primary key, name text not null, qty int);
            insert into {table} values (1, 'alpha', 10), (2, 'beta', 20);
            """);
        await topology.ExecAsync("remote", $"""
            create schema {schema};
            create table {table} (id int primary key, name text not null, qty int);
            """);

        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;

        // Tables page: track the table (with confirmation).
        await DashboardPage.GotoInteractiveAsync(page, $"/engines/local/tables?schema={schema}");
        var track = page.Locator($".track-button[data-table='{table}']");
        await Expect(track).ToBeVisibleAsync();
        await DashboardPage.ScreenshotAsync(page, "tables", output);
        await track.ClickAsync();
        await page.Locator("#confirm-yes").ClickAsync();
        var changes = page.Locator($".changes-button[data-table='{table}']");
        await Expect(changes).ToBeVisibleAsync();
        await Expect(page.Locator(".tracked-chip")).ToBeVisibleAsync();

        // Pending changes page: the counters start at zero.
        await changes.ClickAsync();
        await DashboardPage.WaitForPathAsync(page, $"/engines/local/changes/{schema}/items");
        await DashboardPage.WaitInteractiveAsync(page);
        await Expect(page.Locator("#counter-added")).ToHaveTextAsync("0");
        await Expect(page.Locator("#counter-updated")).ToHaveTextAsync("0");
        await Expect(page.Locator("#counter-removed")).ToHaveTextAsync("0");

        // Write behind the UI's back: the counters move without a reload.
        await topology.ExecAsync("local", $"""
            insert into {table} values (3, 'gamma', 30);
            update {table} set name = 'alpha2' where id = 1;
            delete from {table} where id = 2;
            """);
        await Expect(page.Locator("#counter-added")).ToHaveTextAsync("1", new() { Timeout = 60_000 });
        await Expect(page.Locator("#counter-updated")).ToHaveTextAsync("1");
        await Expect(page.Locator("#counter-removed")).ToHaveTextAsync("1");

        // The overview charts the table's pending changes (in a second tab, so this page keeps polling).
        var overview = await context.NewPageAsync();
        await DashboardPage.GotoInteractiveAsync(overview, "/");
        await Expect(overview.Locator(".pending-chart")).ToBeVisibleAsync();
        await Expect(overview.Locator("#pending-table")).ToContainTextAsync(table);
        await DashboardPage.ScreenshotAsync(overview, "engines-chart", output);
        await overview.CloseAsync();

        // The grid does not reload under the reader: it says how many changes arrived, and refreshes when asked.
        await Expect(page.Locator("#new-changes")).ToHaveAttributeAsync("data-count", "3", new() { Timeout = 60_000 });
        await page.Locator("#new-changes-refresh").ClickAsync();

        // The diff: one row per change, the table's columns as headers in table order, the changed cell old → new.
        await Expect(page.Locator("th.change-col")).ToHaveTextAsync(["id", "name", "qty"], new() { Timeout = 60_000 });
        var update = page.Locator("tr.change-row.kind-update");
        await Expect(update.Locator(".diff-cell[data-column='name'] del.cell-old")).ToHaveTextAsync("alpha");
        await Expect(update.Locator(".diff-cell[data-column='name'] ins.cell-new")).ToHaveTextAsync("alpha2");
        await Expect(update.Locator(".diff-cell[data-column='qty'].cell-changed")).ToHaveCountAsync(0);
        await Expect(page.Locator("tr.change-row.kind-insert .diff-cell[data-column='name']")).ToHaveTextAsync("gamma");
        await Expect(page.Locator("tr.change-row.kind-delete .diff-cell[data-column='name']")).ToHaveTextAsync("beta");
        await DashboardPage.ScreenshotAsync(page, "changes-diff", output);

        // The raw log (the page opens on the net view): one entry per logged change, three here too.
        await page.Locator("input#net-toggle, #net-toggle input").First.ClickAsync();
        await Expect(page.Locator("#change-pager")).ToHaveAttributeAsync("data-total-known", "true");
        await Expect(page.Locator("tr.change-row")).ToHaveCountAsync(3);
        await DashboardPage.ScreenshotAsync(page, "changes-log-raw", output);

        // Commit (with confirmation): an object is created and the counters drop to zero.
        await page.Locator("#commit-button").ClickAsync();
        await page.Locator("#confirm-yes").ClickAsync();
        var result = page.Locator("#commit-result");
        await Expect(result).ToBeVisibleAsync();
        var objectId = await result.GetAttributeAsync("data-object-id");
        Assert.False(string.IsNullOrEmpty(objectId), "The commit created no object.");
        output.WriteLine($"committed object {objectId}");
        await Expect(page.Locator("#counter-added")).ToHaveTextAsync("0");
        await DashboardPage.ScreenshotAsync(page, "changes-committed", output);

        // Objects page: select the object and upload it to remote.
        await DashboardPage.GotoInteractiveAsync(page, "/engines/local/objects");

        // Its schema, and its SQL dump through the dashboard's download link.
        await page.Locator($".schema-button[data-object-id='{objectId}']").ClickAsync();
        await Expect(page.Locator(".object-schema")).ToContainTextAsync("name");
        await DashboardPage.ScreenshotAsync(page, "objects-schema", output);
        await page.Locator("#schema-close").ClickAsync();
        var dumpHref = await page.Locator($".dump-link[data-object-id='{objectId}']").GetAttributeAsync("href");
        var dump = await context.APIRequest.GetAsync(dumpHref!);
        Assert.Equal(200, dump.Status);
        Assert.StartsWith("application/sql", dump.Headers["content-type"]);
        Assert.Contains("gamma", await dump.TextAsync());

        await SelectObjectAsync(page, objectId!);
        await page.Locator("#upload-button").ClickAsync();
        await Expect(page.Locator("#transfer-start")).ToBeEnabledAsync();
        await DashboardPage.ScreenshotAsync(page, "objects-upload-dialog", output);
        await page.Locator("#transfer-start").ClickAsync();
        var summary = page.Locator("#transfer-summary");
        await Expect(summary).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Expect(summary).ToHaveAttributeAsync("data-transferred", "1");
        await Expect(summary).ToHaveAttributeAsync("data-missing", "0");
        await Expect(page.Locator("#transfer-progress-text")).ToContainTextAsync("1 / 1 objects");
        await DashboardPage.ScreenshotAsync(page, "objects-uploaded", output);
        await page.Locator("#transfer-close").ClickAsync();

        // Remote objects page: apply the object to the pre-created empty table.
        await DashboardPage.GotoInteractiveAsync(page, "/engines/remote/objects");
        await SelectObjectAsync(page, objectId!);
        await page.Locator("#apply-button").ClickAsync();
        await Input(page, "apply-schema").FillAsync(schema);
        await Input(page, "apply-table").FillAsync("items");
        await page.Locator("#apply-start").ClickAsync();
        await Expect(page.Locator("#apply-result")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        // In the commit's terms: two upserts (gamma, alpha2); the delete of key 2 finds nothing on the empty table.
        await Expect(page.Locator("#apply-result")).ToHaveAttributeAsync("data-upserted", "2");
        await Expect(page.Locator("#apply-result")).ToContainTextAsync("2 rows upserted, 0 deleted");
        await DashboardPage.ScreenshotAsync(page, "remote-applied", output);

        var rows = await topology.RowsAsync("remote", $"select id, name, qty from {table} order by id");
        Assert.Equal(["1|alpha2|10", "3|gamma|30"], rows);

        // The overview now counts the object on both engines.
        await DashboardPage.GotoInteractiveAsync(page, "/");
        await Expect(page.Locator(".engine-card[data-engine='remote'] .stat-objects .stat-value")).Not.ToHaveTextAsync("0");
        await DashboardPage.ScreenshotAsync(page, "engines-after-story", output);
    }

    private static ILocator Input(IPage page, string id) => page.Locator($"input#{id}, #{id} input").First;

    private static async Task SelectObjectAsync(IPage page, string objectId)
    {
        var row = page.Locator("tr.object-row", new() { Has = page.Locator($"code[data-object-id='{objectId}']") });
        await Expect(row).ToBeVisibleAsync();
        await row.Locator("input[type='checkbox']").First.ClickAsync();
        await Expect(page.Locator("#selection-count")).ToHaveTextAsync("1 selected");
    }
}
