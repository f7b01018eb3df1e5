using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components;
using System.Net;
using Dashboard.Components.Parts;
using Dashboard.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

public sealed class TransferTests : DashboardTestBase
{
    private const string Upload = "POST /api/engines/local/objects/upload";

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    [Fact]
    public void Summary_shows_transferred_skipped_and_missing()
    {
        var result = new TransferResult(["o1", "o2"], ["o3"], ["o4"]);

        var cut = Render<TransferSummary>(p => p.Add(s => s.Result, result));

        Assert.Equal("2", cut.Find("#transfer-summary").GetAttribute("data-transferred"));
        Assert.Contains("Transferred 2", cut.Find("#summary-transferred").TextContent);
        Assert.Contains("Skipped 1", cut.Find("#summary-skipped").TextContent);
        Assert.Contains("Missing 1", cut.Find("#summary-missing").TextContent);
        Assert.Contains("o4", cut.Find("#summary-missing-alert").TextContent);
        Assert.Equal(2, cut.FindAll(".transferred-id").Count);
    }

    [Fact]
    public void Summary_without_missing_objects_shows_no_warning()
    {
        var cut = Render<TransferSummary>(p => p.Add(s => s.Result, new TransferResult(["o1"], [], [])));

        Assert.Empty(cut.FindAll("#summary-missing-alert"));
        Assert.Equal("0", cut.Find("#transfer-summary").GetAttribute("data-missing"));
    }

    [Fact]
    public async Task Dialog_polls_progress_while_uploading_then_shows_the_summary()
    {
        var release = new TaskCompletionSource();
        string? uploadQuery = null;
        string? uploadBody = null;
        var uploadArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Api.Handle(Upload, async request =>
        {
            uploadQuery = request.RequestUri!.Query;
            uploadBody = await request.Content!.ReadAsStringAsync();
            uploadArrived.SetResult();
            await release.Task;
            return FakeApi.Response(HttpStatusCode.OK, """{"transferred":["o1"],"skipped":["o2"],"missing":[]}""");
        });
        Api.Json("GET /api/transfers/", """
            {"id":"00000000-0000-0000-0000-000000000000","direction":"upload","engine":"local","remote":"remote",
             "progress":{"objectsDone":1,"objectsTotal":2,"rowsCopied":1234,"bytesCopied":4096,"currentObject":"o2"},"finished":false,"error":null}
            """);

        var (provider, dialog) = await ShowDialogAsync(["o1", "o2"]);

        provider.WaitForAssertion(() => Assert.Equal("remote", provider.Find("#transfer-remote-field").GetAttribute("data-remote")));
        // Started, not awaited yet: the handler waits on the held POST until it is released below.
        var start = provider.Find("#transfer-start").ClickAsync(new MouseEventArgs());

        // While the POST is held, one poll interval passes on the dialog's clock and it shows the polled progress.
        await uploadArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(Api.Requests, r => r.StartsWith("GET /api/transfers/", StringComparison.Ordinal));
        Time.Advance(PollInterval);
        provider.WaitForAssertion(() => Assert.Contains("1 / 2 objects", provider.Find("#transfer-progress-text").TextContent));
        Assert.Contains("1234 rows", provider.Find("#transfer-progress-text").TextContent);
        Assert.Contains("4.0 KiB", provider.Find("#transfer-progress-text").TextContent);
        var polled = Api.Requests.First(r => r.StartsWith("GET /api/transfers/", StringComparison.Ordinal));
        Assert.Contains(polled["GET /api/transfers/".Length..], uploadQuery);
        Assert.Contains("\"remote\":\"remote\"", uploadBody);
        Assert.Contains("\"objectIds\":[\"o1\",\"o2\"]", uploadBody);

        release.SetResult();
        await start.WaitAsync(TimeSpan.FromSeconds(30));

        provider.WaitForAssertion(() => Assert.Equal("1", provider.Find("#transfer-summary").GetAttribute("data-transferred")));
        Assert.Equal("1", provider.Find("#transfer-summary").GetAttribute("data-skipped"));
        await provider.Find("#transfer-close").ClickAsync(new MouseEventArgs());
        var result = await dialog.Result;
        Assert.Equal(new TransferResult(["o1"], ["o2"], []), result!.Data as TransferResult, TransferResultComparer.Instance);
    }

    [Fact]
    public async Task Dialog_shows_the_problem_detail_when_the_transfer_fails()
    {
        Api.Problem(Upload, 404, "Unknown engine", "No engine named elsewhere.");
        Api.Json("GET /api/transfers/", """{"title":"Unknown transfer","status":404,"detail":"No transfer."}""", HttpStatusCode.NotFound);

        var (provider, _) = await ShowDialogAsync(["o1"]);
        await provider.Find("#transfer-start").ClickAsync(new MouseEventArgs());

        // The error can render before the transfer's clean-up has finished: wait for the settled state as a whole.
        provider.WaitForAssertion(() =>
        {
            Assert.Contains("No engine named elsewhere.", provider.Find("#transfer-error").TextContent);
            Assert.False(provider.Find("#transfer-start").HasAttribute("disabled"));
        });
        Assert.Empty(provider.FindAll("#transfer-summary"));
    }

    [Fact]
    public async Task Download_dialog_keeps_its_count_and_shows_the_size_after_a_successful_download()
    {
        var at = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        Api.Json("GET /api/engines/remote/objects", $$"""
            [{"objectId":"o1","format":"FRAG","rowCount":3,"sizeBytes":8192,"createdAt":"{{at:O}}"},
             {"objectId":"o2","format":"FRAG","rowCount":2,"sizeBytes":8192,"createdAt":"{{at:O}}"}]
            """);
        string? body = null;
        Api.Handle("POST /api/engines/local/objects/download", async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            // Once they are here the remote's list no longer has anything new for this engine.
            Api.Json("GET /api/engines/remote/objects", "[]");
            return FakeApi.Response(HttpStatusCode.OK, """{"transferred":["o1","o2"],"skipped":[],"missing":[]}""");
        });
        Api.Json("GET /api/transfers/", """
            {"id":"00000000-0000-0000-0000-000000000000","direction":"download","engine":"local","remote":"remote",
             "progress":{"objectsDone":2,"objectsTotal":2,"rowsCopied":5,"bytesCopied":16384,"currentObject":"o2"},"finished":true,"error":null}
            """);

        var (provider, _) = await ShowDialogAsync(["o1", "o2"], TransferDirection.Download);
        provider.WaitForAssertion(() => Assert.Equal(2, provider.FindAll(".remote-object").Count));
        Assert.Contains("Download 2 objects", provider.Find("#transfer-title").TextContent);
        await provider.Find("#transfer-start").ClickAsync(new MouseEventArgs());

        provider.WaitForAssertion(() => Assert.Equal("2", provider.Find("#transfer-summary").GetAttribute("data-transferred")));
        Assert.Contains("\"objectIds\":[\"o1\",\"o2\"]", body);
        Assert.Contains("Download 2 objects", provider.Find("#transfer-title").TextContent);
        provider.WaitForAssertion(() => Assert.Contains("16.0 KiB", provider.Find("#transfer-progress-text").TextContent));
        Assert.Contains("2 / 2 objects", provider.Find("#transfer-progress-text").TextContent);
    }

    private async Task<(IRenderedComponent<MudDialogProvider> Provider, IDialogReference Dialog)> ShowDialogAsync(IReadOnlyList<string> ids,
        TransferDirection direction = TransferDirection.Upload)
    {
        Render<MudPopoverProvider>();
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        var parameters = new DialogParameters<TransferDialog>
        {
            { d => d.Engine, "local" },
            { d => d.ObjectIds, ids },
            { d => d.Remotes, new[] { "remote" } },
            { d => d.Direction, direction },
            { d => d.PollInterval, PollInterval },
        };
        IDialogReference? reference = null;
        await provider.InvokeAsync(async () => reference = await dialogs.ShowAsync<TransferDialog>(direction.ToString(), parameters));
        provider.WaitForAssertion(() => Assert.NotNull(provider.Find("#transfer-start")));
        return (provider, reference!);
    }

    /// <summary>Records holding lists compare by reference; compare the contents.</summary>
    private sealed class TransferResultComparer : IEqualityComparer<TransferResult?>
    {
        public static readonly TransferResultComparer Instance = new();

        public bool Equals(TransferResult? x, TransferResult? y) =>
            x is not null && y is not null && x.Transferred.SequenceEqual(y.Transferred) && x.Skipped.SequenceEqual(y.Skipped) && x.Missing.SequenceEqual(y.Missing);

        public int GetHashCode(TransferResult? obj) => 0;
    }
}
