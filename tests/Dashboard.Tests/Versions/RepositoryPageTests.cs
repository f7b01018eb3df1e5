using System.Net;
using Dashboard.Components.Pages;
using MudBlazor;
using SplitgraphAspire.Contracts;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class RepositoryPageTests : DashboardTestBase
{
    private const string Repo = "/api/engines/local/repositories/shop";

    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(2);

    private void Serve(RepositoryStatus status, params ImageInfo[] images)
    {
        Api.Json($"GET {Repo}", Json(Repository(head: images.Length > 0 ? images[0].ImageHash : null)));
        Api.Json($"GET {Repo}/images", Json(images));
        Api.Json($"GET {Repo}/status", Json(status));
        Api.Json($"GET {Repo}/tags", Json(new[] { new TagInfo("HEAD", Second), new TagInfo("latest", Second), new TagInfo("v1", First) }));
        Api.Json("GET /api/engines", """[{"name":"local","healthy":true},{"name":"remote","healthy":true}]""");
    }

    private IRenderedComponent<MudSnackbarProvider>? _snackbars;

    private (IRenderedComponent<MudDialogProvider> Dialogs, IRenderedComponent<Repository> Page) RenderPage()
    {
        Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        _snackbars = Render<MudSnackbarProvider>();
        var page = Render<Repository>(p => p.Add(r => r.Engine, "local").Add(r => r.Schema, "shop").Add(r => r.StatusInterval, StatusInterval));
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll(".history-item").Count));
        return (dialogs, page);
    }

    [Fact]
    public void Shows_history_status_and_tags()
    {
        Serve(Status(added: 1, updated: 2), SecondImage("HEAD", "latest"), FirstImage("v1"));

        var (_, page) = RenderPage();

        Assert.Equal(Second, page.Find("#repository-summary").GetAttribute("data-head"));
        Assert.Equal("true", page.Find($".history-item[data-image='{Second}']").GetAttribute("data-head"));
        var row = page.Find("tr.status-row[data-table='items']");
        Assert.Equal("modified", row.GetAttribute("data-state"));
        Assert.Equal(("1", "2", "0"), (row.QuerySelector(".status-added")!.TextContent, row.QuerySelector(".status-updated")!.TextContent, row.QuerySelector(".status-removed")!.TextContent));
        Assert.NotNull(page.Find("#status-pending"));
        Assert.EndsWith($"/diff?from={Second}&to=%40working", page.Find("a#diff-working").GetAttribute("href"));
        Assert.Equal(["HEAD", "latest", "v1"], page.FindAll(".tag-chip").Select(c => c.GetAttribute("data-tag")));
        Assert.Single(page.FindAll(".tag-chip.user-tag"));
    }

    [Fact]
    public void Status_follows_writers_on_the_pages_clock()
    {
        Serve(Status(), SecondImage("HEAD"), FirstImage());
        var (_, page) = RenderPage();
        Assert.Equal("unchanged", page.Find("tr.status-row").GetAttribute("data-state"));
        Assert.Empty(page.FindAll("#status-pending"));
        Assert.Empty(page.FindAll("#diff-working"));

        // A writer changes three rows behind the page's back; one interval later the status shows them.
        Api.Json($"GET {Repo}/status", Json(Status(added: 3)));
        Time.Advance(StatusInterval);

        page.WaitForAssertion(() => Assert.Equal("3", page.Find("tr.status-row .status-added").TextContent));
        Assert.Equal("modified", page.Find("tr.status-row").GetAttribute("data-state"));
        Assert.NotNull(page.Find("#status-pending"));
    }

    [Fact]
    public void Commit_asks_for_a_message_then_posts_it_and_shows_the_new_image()
    {
        Serve(Status(updated: 1), SecondImage("HEAD"), FirstImage());
        string? body = null;
        const string third = "cccccccccccc3333333333333333333333333333333333333333333333333333";
        Api.Handle($"POST {Repo}/commit", async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.Created, Json(new CommitImageResult(new ImageInfo(third, Second, At.AddMinutes(9), "Price rise", null, ["HEAD", "latest"], 1, 1, 0), true)));
        });
        var (dialogs, page) = RenderPage();

        page.Find("#commit-image-button").Click();
        dialogs.WaitForAssertion(() => Assert.Contains("1 pending change ", dialogs.Find("#commit-image-explanation").TextContent));
        dialogs.Find("textarea#commit-message").Input("Price rise");
        dialogs.WaitForAssertion(() => Assert.False(dialogs.Find("#confirm-yes").HasAttribute("disabled")));
        dialogs.Find("#confirm-yes").Click();

        page.WaitForAssertion(() => Assert.Equal(third, page.Find("#commit-image-result").GetAttribute("data-image")));
        Assert.Equal("true", page.Find("#commit-image-result").GetAttribute("data-created"));
        Assert.Contains("\"message\":\"Price rise\"", body);
        Assert.Contains("\"snapshot\":false", body);
        // The history is read again after the commit.
        page.WaitForAssertion(() => Assert.Equal(2, Api.Count($"GET {Repo}/images")));
    }

    [Fact]
    public void Checkout_with_pending_changes_posts_force_once_the_user_agrees()
    {
        Serve(Status(added: 2), SecondImage("HEAD"), FirstImage("v1"));
        string? body = null;
        Api.Handle($"POST {Repo}/checkout", async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.OK, Json(new CheckoutResult(FirstImage("HEAD", "v1"), ["items"], [], [], 2)));
        });
        var (dialogs, page) = RenderPage();

        page.Find($".checkout-button[data-image='{First}']").Click();
        dialogs.WaitForAssertion(() => Assert.Contains("2 pending changes", dialogs.Find("#checkout-pending").TextContent));
        Assert.Contains("v1", dialogs.Find(".mud-dialog-title").TextContent);
        dialogs.Find("#checkout-force input").Change(true);
        dialogs.WaitForAssertion(() => Assert.False(dialogs.Find("#confirm-yes").HasAttribute("disabled")));
        dialogs.Find("#confirm-yes").Click();

        page.WaitForAssertion(() => Assert.NotNull(body));
        Assert.Contains($"\"image\":\"{First}\"", body);
        Assert.Contains("\"force\":true", body);
    }

    [Fact]
    public void A_refused_checkout_is_reported_and_nothing_else_changes()
    {
        Serve(Status(), SecondImage("HEAD"), FirstImage());
        string? body = null;
        Api.Handle($"POST {Repo}/checkout", async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.Conflict, """{"title":"Pending changes","status":409,"detail":"shop has pending changes: commit or discard them, or force."}""",
                "application/problem+json");
        });
        var (dialogs, page) = RenderPage();

        page.Find($".checkout-button[data-image='{First}']").Click();
        dialogs.WaitForAssertion(() => Assert.False(dialogs.Find("#confirm-yes").HasAttribute("disabled")));
        dialogs.Find("#confirm-yes").Click();

        var snackbars = _snackbars!;
        snackbars.WaitForAssertion(() => Assert.Contains("shop has pending changes", snackbars.Find(".mud-snackbar").TextContent));
        Assert.Contains("\"force\":false", body);
        Assert.Equal(Second, page.Find("#repository-summary").GetAttribute("data-head"));
    }

    [Fact]
    public void Tag_puts_the_tag_on_the_image()
    {
        Serve(Status(), SecondImage("HEAD"), FirstImage());
        string? body = null;
        Api.Handle($"PUT {Repo}/tags/v2", async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.OK, Json(new TagInfo("v2", Second)));
        });
        var (dialogs, page) = RenderPage();

        page.Find($".tag-button[data-image='{Second}']").Click();
        dialogs.WaitForAssertion(() => Assert.NotNull(dialogs.Find("input#tag-name")));
        dialogs.Find("input#tag-name").Input("v2");
        dialogs.WaitForAssertion(() => Assert.False(dialogs.Find("#confirm-yes").HasAttribute("disabled")));
        dialogs.Find("#confirm-yes").Click();

        page.WaitForAssertion(() => Assert.Equal($$"""{"image":"{{Second}}"}""", body));
    }
}
