using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components;
using System.Net;
using Dashboard.Components.Versions;
using Dashboard.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using SplitgraphAspire.Contracts;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class RepositoryTransferDialogTests : DashboardTestBase
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private const string Progress = """
        {"id":"00000000-0000-0000-0000-000000000000","direction":"push","engine":"local","remote":"remote",
         "progress":{"objectsDone":1,"objectsTotal":3,"rowsCopied":500,"bytesCopied":2048,"currentObject":"o-frag"},"finished":false,"error":null}
        """;

    private async Task<(IRenderedComponent<MudDialogProvider> Provider, IDialogReference Dialog)> ShowAsync(RepositoryTransferKind kind, string schema = "shop")
    {
        Render<MudPopoverProvider>();
        var provider = Render<MudDialogProvider>();
        var parameters = new DialogParameters<RepositoryTransferDialog>
        {
            { d => d.Engine, "local" },
            { d => d.Schema, schema },
            { d => d.Kind, kind },
            { d => d.Remotes, new[] { "remote" } },
            { d => d.PollInterval, PollInterval },
        };
        IDialogReference? reference = null;
        var dialogs = Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(async () => reference = await dialogs.ShowAsync<RepositoryTransferDialog>(kind.ToString(), parameters));
        provider.WaitForAssertion(() => Assert.Equal("remote", provider.Find("#vt-remote-field").GetAttribute("data-remote")));
        return (provider, reference!);
    }

    [Fact]
    public async Task Push_polls_progress_while_it_runs_then_shows_images_and_objects_moved()
    {
        var release = new TaskCompletionSource();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? query = null;
        string? body = null;
        Api.Handle("POST /api/engines/local/repositories/shop/push", async request =>
        {
            query = request.RequestUri!.Query;
            body = await request.Content!.ReadAsStringAsync();
            arrived.SetResult();
            await release.Task;
            return FakeApi.Response(HttpStatusCode.OK, Json(new VersionTransferResult("shop", "remote", "shop", [First, Second], [],
                new TransferResult(["o-base", "o-frag"], ["o-old"], []), [new TagInfo("v1", First)], null)));
        });
        Api.Json("GET /api/transfers/", Progress);

        var (provider, dialog) = await ShowAsync(RepositoryTransferKind.Push);
        Assert.Empty(provider.FindAll("#vt-checkout"));
        await provider.InvokeAsync(() => provider.Find("#vt-start").Click());

        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Time.Advance(PollInterval);
        provider.WaitForAssertion(() => Assert.Contains("1 / 3 objects", provider.Find("#transfer-progress-text").TextContent));
        Assert.Contains("500 rows", provider.Find("#transfer-progress-text").TextContent);
        var polled = Api.Requests.First(r => r.StartsWith("GET /api/transfers/", StringComparison.Ordinal));
        Assert.Equal("?transferId=" + polled["GET /api/transfers/".Length..], query);
        Assert.Contains("\"remote\":\"remote\"", body);
        Assert.Contains("\"remoteSchema\":\"shop\"", body);
        Assert.Contains("\"checkout\":false", body);

        release.SetResult();

        provider.WaitForAssertion(() => Assert.Equal("2", provider.Find("#vt-result").GetAttribute("data-images")));
        Assert.Equal("2", provider.Find("#transfer-summary").GetAttribute("data-transferred"));
        Assert.Equal("1", provider.Find("#transfer-summary").GetAttribute("data-skipped"));
        Assert.Contains("2 images copied", provider.Find("#vt-result").TextContent);
        await provider.InvokeAsync(() => provider.Find("#vt-close").Click());
        Assert.Equal([First, Second], ((await dialog.Result)!.Data as VersionTransferResult)!.Images);
    }

    [Fact]
    public async Task A_pull_refused_for_newer_local_commits_shows_why_and_can_be_cancelled()
    {
        Api.Problem("POST /api/engines/local/repositories/shop/pull", 409, "Newer local commits",
            "shop on local has images remote lacks; pull does not merge.");
        Api.Json("GET /api/transfers/", """{"title":"Unknown transfer","status":404,"detail":"No transfer."}""", HttpStatusCode.NotFound);

        var (provider, dialog) = await ShowAsync(RepositoryTransferKind.Pull);
        await provider.Find("#vt-checkout input").ChangeAsync(new ChangeEventArgs { Value = true });
        await provider.InvokeAsync(() => provider.Find("#vt-start").Click());

        provider.WaitForAssertion(() =>
        {
            Assert.Contains("pull does not merge", provider.Find("#vt-error").TextContent);
            Assert.False(provider.Find("#vt-start").HasAttribute("disabled"));
        });
        Assert.Empty(provider.FindAll("#vt-result"));
        Assert.Contains(Api.Requests, r => r.StartsWith("POST /api/engines/local/repositories/shop/pull?transferId=", StringComparison.Ordinal));
        await provider.InvokeAsync(() => provider.Find("#vt-cancel").Click());
        Assert.True((await dialog.Result)!.Canceled);
    }

    [Fact]
    public async Task Clone_names_the_new_repository_after_the_remote_one_unless_told_otherwise()
    {
        string? path = null;
        string? body = null;
        Api.Handle("POST /api/engines/local/repositories/", async request =>
        {
            path = request.RequestUri!.AbsolutePath;
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.OK, Json(new VersionTransferResult("sales", "remote", "sales", [First], [],
                new TransferResult(["o-base"], [], []), [], new CheckoutResult(FirstImage(), ["items"], ["items"], [], 0))));
        });
        Api.Json("GET /api/transfers/", Progress);

        var (provider, _) = await ShowAsync(RepositoryTransferKind.Clone, schema: "");
        Assert.True(provider.Find("#vt-start").HasAttribute("disabled"));
        await provider.Find("input#vt-remote-schema").InputAsync(new ChangeEventArgs { Value = "sales" });
        await provider.Find("#vt-checkout input").ChangeAsync(new ChangeEventArgs { Value = true });
        provider.WaitForAssertion(() => Assert.False(provider.Find("#vt-start").HasAttribute("disabled")));
        await provider.InvokeAsync(() => provider.Find("#vt-start").Click());

        provider.WaitForAssertion(() => Assert.Equal("1", provider.Find("#vt-result").GetAttribute("data-images")));
        Assert.Equal("/api/engines/local/repositories/sales/clone", path);
        Assert.Contains("\"remoteSchema\":\"sales\"", body);
        Assert.Contains("\"checkout\":true", body);
        Assert.Contains("checked out", provider.Find("#vt-result").TextContent);
    }
}
