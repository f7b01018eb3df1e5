using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components;
using Dashboard.Components.Versions;
using Dashboard.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Dashboard.Tests.Versions;

public sealed class VersionDialogsTests : DashboardTestBase
{
    private IRenderedComponent<MudDialogProvider> Provider()
    {
        Render<MudPopoverProvider>();
        return Render<MudDialogProvider>();
    }

    private IDialogService Dialogs => Services.GetRequiredService<IDialogService>();

    [Fact]
    public async Task Commit_needs_a_message_and_answers_it_with_the_snapshot_choice()
    {
        var provider = Provider();
        Task<CommitImageChoice?>? answer = null;
        // Started, not awaited: it ends when the dialog closes.
        await provider.InvokeAsync(() => { answer = CommitImageDialog.AskAsync(Dialogs, "shop", 3); });
        provider.WaitForAssertion(() => Assert.True(provider.Find("#confirm-yes").HasAttribute("disabled")));
        Assert.Contains("3 pending changes", provider.Find("#commit-image-explanation").TextContent);

        await provider.Find("textarea#commit-message").InputAsync(new ChangeEventArgs { Value = "  Rename alpha " });
        await provider.Find("#commit-image-snapshot input").ChangeAsync(new ChangeEventArgs { Value = true });
        provider.WaitForAssertion(() => Assert.False(provider.Find("#confirm-yes").HasAttribute("disabled")));
        await provider.Find("#confirm-yes").ClickAsync(new MouseEventArgs());

        Assert.Equal(new CommitImageChoice("Rename alpha", true), await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Cancelling_the_commit_answers_null()
    {
        var provider = Provider();
        Task<CommitImageChoice?>? answer = null;
        await provider.InvokeAsync(() => { answer = CommitImageDialog.AskAsync(Dialogs, "shop", 0); });
        provider.WaitForAssertion(() => Assert.NotNull(provider.Find("#confirm-no")));
        Assert.Contains("No pending changes", provider.Find("#commit-image-explanation").TextContent);

        await provider.Find("#confirm-no").ClickAsync(new MouseEventArgs());
        Assert.Null(await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Checkout_without_pending_changes_confirms_without_force()
    {
        var provider = Provider();
        Task<bool?>? answer = null;
        await provider.InvokeAsync(() => { answer = CheckoutDialog.AskAsync(Dialogs, "remote", "shop", VersionsData.First, "v1", 0); });
        provider.WaitForAssertion(() => Assert.False(provider.Find("#confirm-yes").HasAttribute("disabled")));
        Assert.Empty(provider.FindAll("#checkout-pending"));
        Assert.Contains("shop on remote", provider.Find("#checkout-explanation").TextContent);

        await provider.Find("#confirm-yes").ClickAsync(new MouseEventArgs());
        Assert.False(await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Checkout_with_pending_changes_is_refused_until_the_user_agrees_to_discard_them()
    {
        var provider = Provider();
        Task<bool?>? answer = null;
        await provider.InvokeAsync(() => { answer = CheckoutDialog.AskAsync(Dialogs, "local", "shop", VersionsData.First, null, 2); });
        provider.WaitForAssertion(() => Assert.Contains("2 pending changes", provider.Find("#checkout-pending").TextContent));
        Assert.True(provider.Find("#confirm-yes").HasAttribute("disabled"));

        await provider.Find("#checkout-force input").ChangeAsync(new ChangeEventArgs { Value = true });
        provider.WaitForAssertion(() => Assert.False(provider.Find("#confirm-yes").HasAttribute("disabled")));
        await provider.Find("#confirm-yes").ClickAsync(new MouseEventArgs());

        Assert.True(await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Tag_dialog_refuses_reserved_and_invalid_names_and_answers_a_valid_one()
    {
        var provider = Provider();
        Task<string?>? answer = null;
        await provider.InvokeAsync(() => { answer = TagDialog.AskAsync(Dialogs, VersionsData.Second); });
        provider.WaitForAssertion(() => Assert.True(provider.Find("#confirm-yes").HasAttribute("disabled")));

        await provider.Find("input#tag-name").InputAsync(new ChangeEventArgs { Value = "HEAD" });
        provider.WaitForAssertion(() => Assert.Contains("maintained by the engine", provider.Find("#tag-problem").TextContent));
        Assert.True(provider.Find("#confirm-yes").HasAttribute("disabled"));
        await provider.Find("input#tag-name").InputAsync(new ChangeEventArgs { Value = new string('x', 64) });
        provider.WaitForAssertion(() => Assert.Contains("63 bytes", provider.Find("#tag-problem").TextContent));

        await provider.Find("input#tag-name").InputAsync(new ChangeEventArgs { Value = "v2.0-rc_1" });
        provider.WaitForAssertion(() => Assert.False(provider.Find("#confirm-yes").HasAttribute("disabled")));
        await provider.Find("#confirm-yes").ClickAsync(new MouseEventArgs());

        Assert.Equal("v2.0-rc_1", await answer!.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("v1", null)]
    [InlineData("release-2026.11", null)]
    [InlineData("", "Name the tag.")]
    [InlineData("two words", null)]
    [InlineData("Latest", null)]
    [InlineData("latest", "latest is maintained by the engine.")]
    [InlineData("HEAD", "HEAD is maintained by the engine.")]
    [InlineData("ééééééééééééééééééééééééééééééééé", "At most 63 bytes.")]
    public void Tag_names(string name, string? problem) => Assert.Equal(problem, TagNames.Problem(name));
}
