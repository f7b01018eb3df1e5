using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EndToEnd.Tests.Browser;

/// <summary>
/// Issue 18's story in a real browser: make a schema a repository, change it (SQL behind the UI's back), commit twice
/// with messages, diff the two images, push to the other engine, check out the first image there (its tables equal the
/// first version), tag it there, and pull back (the tag arrives).
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class VersionsStoryTests(TopologyFixture topology, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private const string Rows = "select id, name, qty from {0}.items order by id";

    [Fact]
    public async Task Init_change_commit_twice_diff_push_checkout_on_remote_and_pull_back()
    {
        var schema = "ui_versions_" + Guid.NewGuid().ToString("N")[..8];
        var table = $"{schema}.items";
        await topology.ExecAsync("local", $"""
            create schema {schema};
            create table {table} (id int primary key, name text not null, qty int);
            insert into {table} values (1, 'alpha', 10), (2, 'beta', 20);
            """);

        var (context, page) = await DashboardPage.NewPageAsync(browser, topology);
        await using var _ = context;

        // Repositories page (through the navigation): make the schema a repository.
        await DashboardPage.GotoInteractiveAsync(page, "/");
        await page.Locator("#nav-local-repositories").ClickAsync();
        await DashboardPage.WaitForPathAsync(page, "/engines/local/repositories");
        await page.Locator("#init-button").ClickAsync();
        await page.Locator("#init-schema-field .mud-select").First.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = schema }).ClickAsync();
        await Expect(page.Locator("#init-schema-field")).ToHaveAttributeAsync("data-schema", schema);
        await DashboardPage.ScreenshotAsync(page, "versions-init", output);
        await page.Locator("#confirm-yes").ClickAsync();
        await DashboardPage.WaitForPathAsync(page, $"/engines/local/repositories/{schema}");
        await Expect(page.Locator(".history-item")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await Expect(page.Locator("tr.status-row[data-table='items']")).ToHaveAttributeAsync("data-state", "unchanged");
        var initial = await page.Locator(".history-item").GetAttributeAsync("data-image");

        // First change set, written behind the UI's back: the status shows it without a reload; commit it.
        await topology.ExecAsync("local", $"""
            update {table} set name = 'alpha2' where id = 1;
            insert into {table} values (3, 'gamma', 30);
            """);
        var first = await CommitAsync(page, "Rename alpha, add gamma", initial!);
        var firstRows = await topology.RowsAsync("local", string.Format(Rows, schema));
        Assert.Equal(["1|alpha2|10", "2|beta|20", "3|gamma|30"], firstRows);

        // Second change set and commit.
        await topology.ExecAsync("local", $"""
            update {table} set name = 'alpha3' where id = 1;
            delete from {table} where id = 2;
            insert into {table} values (4, 'delta', 40);
            """);
        var second = await CommitAsync(page, "Rename alpha again, drop beta, add delta", first);
        await Expect(page.Locator(".history-item")).ToHaveCountAsync(3);
        await Expect(page.Locator($".history-item[data-image='{second}'] .history-message")).ToHaveTextAsync("Rename alpha again, drop beta, add delta");
        await Expect(page.Locator($".history-item[data-image='{second}']")).ToHaveAttributeAsync("data-head", "true");
        await Expect(page.Locator($".history-item[data-image='{first}'] .history-message")).ToHaveTextAsync("Rename alpha, add gamma");
        await DashboardPage.ScreenshotAsync(page, "versions-history", output);

        // Diff the two images: one of each kind in the summary, and the renamed cell old → new.
        await page.Locator($".diff-parent-button[data-image='{second}']").ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/diff\?"));
        await DashboardPage.WaitInteractiveAsync(page);
        await Expect(page.Locator("#diff-from-field")).ToHaveAttributeAsync("data-image", first);
        await Expect(page.Locator("#diff-to-field")).ToHaveAttributeAsync("data-image", second);
        var summary = page.Locator("tr.diff-summary-row[data-table='items']");
        await Expect(summary).ToHaveAttributeAsync("data-state", "modified", new() { Timeout = 60_000 });
        await Expect(summary.Locator(".diff-added")).ToHaveTextAsync("1");
        await Expect(summary.Locator(".diff-updated")).ToHaveTextAsync("1");
        await Expect(summary.Locator(".diff-removed")).ToHaveTextAsync("1");
        var grid = page.Locator(".table-diff[data-table='items']");
        await Expect(grid.Locator("tr.change-row")).ToHaveCountAsync(3);
        var update = grid.Locator("tr.change-row.kind-update");
        await Expect(update.Locator(".diff-cell[data-column='name'] del.cell-old")).ToHaveTextAsync("alpha2");
        await Expect(update.Locator(".diff-cell[data-column='name'] ins.cell-new")).ToHaveTextAsync("alpha3");
        await Expect(update.Locator(".diff-cell.cell-changed")).ToHaveCountAsync(1);
        await Expect(grid.Locator("tr.change-row.kind-delete .diff-cell[data-column='name']")).ToHaveTextAsync("beta");
        await Expect(grid.Locator("tr.change-row.kind-insert .diff-cell[data-column='name']")).ToHaveTextAsync("delta");
        await DashboardPage.ScreenshotAsync(page, "versions-diff", output);

        // Push to remote with progress: every image arrives.
        await DashboardPage.GotoInteractiveAsync(page, $"/engines/local/repositories/{schema}");
        await page.Locator("#push-button").ClickAsync();
        await Expect(page.Locator("#vt-remote-field")).ToHaveAttributeAsync("data-remote", "remote");
        await page.Locator("#vt-start").ClickAsync();
        var pushed = page.Locator("#vt-result");
        await Expect(pushed).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Expect(pushed).ToHaveAttributeAsync("data-images", "3");
        await Expect(page.Locator("#transfer-progress-text")).ToContainTextAsync("objects");
        await Expect(page.Locator("#transfer-summary")).ToHaveAttributeAsync("data-missing", "0");
        await DashboardPage.ScreenshotAsync(page, "versions-pushed", output);
        await page.Locator("#vt-close").ClickAsync();

        // On remote: check out the first image (the table does not exist there yet); its rows are the first version.
        await DashboardPage.GotoInteractiveAsync(page, $"/engines/remote/repositories/{schema}");
        await Expect(page.Locator(".history-item")).ToHaveCountAsync(3);
        await page.Locator($".checkout-button[data-image='{first}']").ClickAsync();
        await page.Locator("#confirm-yes").ClickAsync();
        await Expect(page.Locator("#repository-summary")).ToHaveAttributeAsync("data-head", first, new() { Timeout = 60_000 });
        await Expect(page.Locator($".history-item[data-image='{first}']")).ToHaveAttributeAsync("data-head", "true");
        Assert.Equal(firstRows, await topology.RowsAsync("remote", string.Format(Rows, schema)));

        // Its image page: the table's schema and object chain (a base, then the first commit's fragment), with sizes.
        await page.Locator($".history-item[data-image='{first}'] a.history-image").ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/images/" + first + "$"));
        await Expect(page.Locator("#image-hash")).ToHaveAttributeAsync("data-image", first);
        var imageTable = page.Locator(".image-table[data-table='items']");
        await Expect(imageTable.Locator(".schema-column")).ToHaveCountAsync(3);
        await Expect(imageTable.Locator("tr.image-object").First.Locator("td").First).ToHaveTextAsync("base");
        Assert.True(long.Parse(await page.Locator("#image-size").GetAttributeAsync("data-bytes") ?? "0", System.Globalization.CultureInfo.InvariantCulture) > 0,
            "The image page shows no size.");
        await DashboardPage.ScreenshotAsync(page, "versions-image", output);
        await DashboardPage.GotoInteractiveAsync(page, $"/engines/remote/repositories/{schema}");

        // Tag it there, then pull back on local: no new image, the tag arrives.
        await page.Locator($".tag-button[data-image='{first}']").ClickAsync();
        await Input(page, "tag-name").FillAsync("v1");
        await page.Locator("#confirm-yes").ClickAsync();
        await Expect(page.Locator(".tag-chip[data-tag='v1']")).ToHaveAttributeAsync("data-image", first);
        await DashboardPage.ScreenshotAsync(page, "versions-remote-checkout", output);

        await DashboardPage.GotoInteractiveAsync(page, $"/engines/local/repositories/{schema}");
        await page.Locator("#pull-button").ClickAsync();
        await Expect(page.Locator("#vt-remote-field")).ToHaveAttributeAsync("data-remote", "remote");
        await page.Locator("#vt-start").ClickAsync();
        var pulled = page.Locator("#vt-result");
        await Expect(pulled).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Expect(pulled).ToHaveAttributeAsync("data-images", "0");
        await page.Locator("#vt-close").ClickAsync();
        await Expect(page.Locator($".history-item[data-image='{first}'] .history-tag[data-tag='v1']")).ToBeVisibleAsync();
        // Local stays on its own HEAD with its own rows.
        await Expect(page.Locator("#repository-summary")).ToHaveAttributeAsync("data-head", second);
        Assert.Equal(["1|alpha3|10", "3|gamma|30", "4|delta|40"], await topology.RowsAsync("local", string.Format(Rows, schema)));
        await DashboardPage.ScreenshotAsync(page, "versions-pulled", output);
    }

    /// <summary>Waits for the status to show pending changes, commits them with a message, and answers the new image's hash.</summary>
    private async Task<string> CommitAsync(IPage page, string message, string head)
    {
        await Expect(page.Locator("tr.status-row[data-table='items']")).ToHaveAttributeAsync("data-state", "modified", new() { Timeout = 60_000 });
        await page.Locator("#commit-image-button").ClickAsync();
        await page.Locator("textarea#commit-message, #commit-message textarea").First.FillAsync(message);
        await page.Locator("#confirm-yes").ClickAsync();
        // The last commit's result may still show until the page re-renders: wait for one naming another image.
        var result = page.Locator($"#commit-image-result[data-created='true']:not([data-image='{head}'])");
        await Expect(result).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var image = await result.GetAttributeAsync("data-image");
        Assert.False(string.IsNullOrEmpty(image), "The commit created no image.");
        output.WriteLine($"committed {image}: {message}");
        await Expect(page.Locator($".history-item[data-image='{image}']")).ToBeVisibleAsync();
        await Expect(page.Locator("tr.status-row[data-table='items']")).ToHaveAttributeAsync("data-state", "unchanged", new() { Timeout = 60_000 });
        return image!;
    }

    private static ILocator Input(IPage page, string id) => page.Locator($"input#{id}, #{id} input").First;
}
