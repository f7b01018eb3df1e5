using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components;
using Dashboard.Components.Parts;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Dashboard.Tests;

public sealed class CommitDialogTests : DashboardTestBase
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_commit_dialog_answers_whether_to_commit_a_snapshot(bool snapshot)
    {
        Render<MudPopoverProvider>();
        var provider = Render<MudDialogProvider>();
        Task<bool?>? answer = null;
        // Started, not awaited: it ends when the dialog closes.
        await provider.InvokeAsync(() => { answer = CommitDialog.AskAsync(Services.GetRequiredService<IDialogService>(), "s", "t"); });
        provider.WaitForAssertion(() => Assert.NotNull(provider.Find("#confirm-yes")));
        Assert.Contains("net pending changes", provider.Find("#commit-explanation").TextContent);

        if (snapshot)
        {
            await provider.Find("#commit-snapshot input").ChangeAsync(new ChangeEventArgs { Value = true });
            provider.WaitForAssertion(() => Assert.Contains("pending changes stay in the log", provider.Find("#commit-explanation").TextContent));
            Assert.Contains("Commit snapshot", provider.Find("#confirm-yes").TextContent);
        }

        await provider.Find("#confirm-yes").ClickAsync(new MouseEventArgs());
        Assert.Equal(snapshot, await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Cancelling_commits_nothing()
    {
        Render<MudPopoverProvider>();
        var provider = Render<MudDialogProvider>();
        Task<bool?>? answer = null;
        // Started, not awaited: it ends when the dialog closes.
        await provider.InvokeAsync(() => { answer = CommitDialog.AskAsync(Services.GetRequiredService<IDialogService>(), "s", "t"); });
        provider.WaitForAssertion(() => Assert.NotNull(provider.Find("#confirm-no")));

        await provider.Find("#confirm-no").ClickAsync(new MouseEventArgs());
        Assert.Null(await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
