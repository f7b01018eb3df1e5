using EndToEnd.Tests.Api;
using Microsoft.Playwright;
using SplitgraphAspire.Contracts;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EndToEnd.Tests.Browser;

/// <summary>
/// The first-run story on a 30-column table: live counters, the diff grid with the table's columns, a snapshot commit
/// and a delta commit from the commit dialog, both objects applied on the other engine in commit order into a table
/// the apply dialog creates, and the two tables compared.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class FirstRunStoryTests(TopologyFixture topology, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private static readonly string[] Columns = ["id", .. Enumerable.Range(1, 29).Select(i => $"c{i:00}")];

    [Fact]
    public async Task Wide_table_diff_snapshot_and_delta_commits_applied_in_order_into_a_created_table()
    {
        var schema = "first_run_" + Guid.NewGuid().ToString("N")[..8];
        var wide = $"{schema}.wide";
        await topology.ExecAsync("local", $"""
            create schema {schema};
            create table {wide} (id int primary key, {string.Join(", ", Columns.Skip(1).Select(c => c + " int"))});
            insert into {wide} select g, {string.Join(", ", Enumerable.Range(1, 29).Select(i => $"g * 100 + {i}"))} from generate_series(1, 5) g;
            """);
        await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync("/api/engines/local/tracked-tables", new TablesRequest([new TableRef(schema, "wide")])));

        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;
        await DashboardPage.GotoInteractiveAsync(page, $"/engines/local/changes/{schema}/wide");
        await Expect(page.Locator("#counter-added")).ToHaveTextAsync("0");

        // Writes behind the UI's back: the counters follow, the grid offers a refresh.
        await topology.ExecAsync("local", $"update {wide} set c17 = -17 where id = 2; delete from {wide} where id = 5; insert into {wide} (id, c01) values (6, 601);");
        await Expect(page.Locator("#counter-added")).ToHaveTextAsync("1", new() { Timeout = 60_000 });
        await Expect(page.Locator("#counter-updated")).ToHaveTextAsync("1");
        await Expect(page.Locator("#counter-removed")).ToHaveTextAsync("1");
        await Expect(page.Locator("#new-changes")).ToHaveAttributeAsync("data-count", "3");
        await page.Locator("#new-changes-refresh").ClickAsync();

        // The diff grid: 30 headers in table order, one row per change, only c17 changed in the update.
        await Expect(page.Locator("th.change-col")).ToHaveTextAsync(Columns, new() { Timeout = 60_000 });
        await Expect(page.Locator("tr.change-row")).ToHaveCountAsync(3);
        var update = page.Locator("tr.change-row.kind-update");
        await Expect(update.Locator(".diff-cell")).ToHaveCountAsync(30);
        await Expect(update.Locator(".diff-cell.cell-changed")).ToHaveCountAsync(1);
        await Expect(update.Locator(".diff-cell[data-column='c17'] del.cell-old")).ToHaveTextAsync("217");
        await Expect(update.Locator(".diff-cell[data-column='c17'] ins.cell-new")).ToHaveTextAsync("-17");
        await Expect(page.Locator("tr.change-row.kind-insert .diff-cell[data-column='c01']")).ToHaveTextAsync("601");
        await Expect(page.Locator("tr.change-row.kind-delete .diff-cell[data-column='id']")).ToHaveTextAsync("5");
        await DashboardPage.ScreenshotAsync(page, "first-run-wide-diff", output);

        // The net view (the page's default) knows its exact total from the first page; a jump to key 6 marks its row.
        await Expect(page.Locator("#change-pager")).ToHaveAttributeAsync("data-total-known", "true");
        await Expect(page.Locator("#change-pager")).ToContainTextAsync("1–3 of 3");
        await Input(page, "jump-key").FillAsync("6");
        await page.Locator("#jump-button").ClickAsync();
        var found = page.Locator("tr.change-row.jumped-to");
        await Expect(found).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await Expect(found.Locator(".diff-cell[data-column='c01']")).ToHaveTextAsync("601");
        await DashboardPage.ScreenshotAsync(page, "first-run-wide-net", output);

        // Snapshot commit from the dialog: every row of the table (ids 1, 2, 3, 4, 6); the pending changes stay.
        var snapshotId = await CommitAsync(page, snapshot: true, "5 upserts, 0 deletes");
        await Expect(page.Locator("#counter-updated")).ToHaveTextAsync("1");

        // Two more changes, then a delta commit of everything pending: upserts of 2, 3, 6, deletes of 5 and 1.
        await topology.ExecAsync("local", $"update {wide} set c05 = -5 where id = 3; delete from {wide} where id = 1;");
        await Expect(page.Locator("#counter-removed")).ToHaveTextAsync("2", new() { Timeout = 60_000 });
        await Expect(page.Locator("#counter-updated")).ToHaveTextAsync("2");
        var deltaId = await CommitAsync(page, snapshot: false, "3 upserts, 2 deletes");
        await Expect(page.Locator("#counter-added")).ToHaveTextAsync("0");
        await Expect(page.Locator("#counter-updated")).ToHaveTextAsync("0");
        await Expect(page.Locator("#counter-removed")).ToHaveTextAsync("0");

        await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/upload", new TransferRequest([snapshotId, deltaId], "remote")));

        // On remote, pick the delta first: the dialog applies in commit order, snapshot then delta.
        await DashboardPage.GotoInteractiveAsync(page, "/engines/remote/objects");
        await SelectObjectAsync(page, deltaId);
        await SelectObjectAsync(page, snapshotId);
        await Expect(page.Locator("#selection-count")).ToHaveTextAsync("2 selected");
        await page.Locator("#apply-button").ClickAsync();
        var order = page.Locator("#apply-order .apply-object");
        await Expect(order).ToHaveCountAsync(2);
        await Expect(order.Nth(0)).ToHaveAttributeAsync("data-object", snapshotId);
        await Expect(order.Nth(1)).ToHaveAttributeAsync("data-object", deltaId);

        // The schema and table do not exist on remote: the dialog offers to create the table from the object's schema.
        await Input(page, "apply-schema").FillAsync(schema);
        await Input(page, "apply-table").FillAsync("made");
        await page.Locator("#apply-create input").First.ClickAsync();
        await page.Locator("#apply-start").ClickAsync();
        await Expect(page.Locator("#apply-created")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        // 5 + 3 upserts; of the delta's two deletes only key 1 was there (5 never reached the snapshot).
        await Expect(page.Locator("#apply-result")).ToHaveAttributeAsync("data-upserted", "8");
        await Expect(page.Locator("#apply-result")).ToHaveAttributeAsync("data-deleted", "1");
        await Expect(page.Locator("#apply-result")).ToContainTextAsync("8 rows upserted, 1 deleted");
        await DashboardPage.ScreenshotAsync(page, "first-run-applied", output);

        // Compare: the created table holds exactly the local table's rows, and carries no change trigger.
        var local = await topology.RowsAsync("local", $"select * from {wide} order by id");
        var remote = await topology.RowsAsync("remote", $"select * from {schema}.made order by id");
        Assert.Equal(local, remote);
        Assert.Equal(4, remote.Count);
        Assert.Equal(["0"], await topology.RowsAsync("remote", $"select count(*) from pg_trigger where tgrelid = '{schema}.made'::regclass and not tgisinternal"));
    }

    private static async Task<string> CommitAsync(IPage page, bool snapshot, string expected)
    {
        await page.Locator("#commit-button").ClickAsync();
        if (snapshot)
        {
            await page.Locator("#commit-snapshot input").First.ClickAsync();
            await Expect(page.Locator("#confirm-yes")).ToContainTextAsync("Commit snapshot");
        }

        await page.Locator("#confirm-yes").ClickAsync();
        var result = page.Locator("#commit-result");
        await Expect(result).ToContainTextAsync(expected, new() { Timeout = 60_000 });
        var objectId = await result.GetAttributeAsync("data-object-id");
        Assert.False(string.IsNullOrEmpty(objectId));
        return objectId!;
    }

    private static ILocator Input(IPage page, string id) => page.Locator($"input#{id}, #{id} input").First;

    private static async Task SelectObjectAsync(IPage page, string objectId)
    {
        var row = page.Locator("tr.object-row", new() { Has = page.Locator($"code[data-object-id='{objectId}']") });
        await Expect(row).ToBeVisibleAsync();
        await row.Locator("input[type='checkbox']").First.ClickAsync();
    }
}
