using Dashboard.Components.Versions;
using Dashboard.Services;
using SplitgraphAspire.Contracts;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class HistoryTimelineTests : DashboardTestBase
{
    [Fact]
    public void Shows_each_image_newest_first_with_message_time_counts_tags_and_head()
    {
        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<HistoryTimeline>(p => p.Add(t => t.Engine, "local").Add(t => t.Schema, "shop")
            .Add(t => t.Images, new[] { SecondImage("latest", "v2"), FirstImage() }).Add(t => t.Head, First));

        var items = cut.FindAll(".history-item");
        Assert.Equal([Second, First], items.Select(i => i.GetAttribute("data-image")));
        Assert.Equal(["Rename alpha", "Initial import"], items.Select(i => i.QuerySelector(".history-message")!.TextContent.Trim()));
        Assert.Equal(["false", "true"], items.Select(i => i.GetAttribute("data-head")));
        Assert.Single(items[1].QuerySelectorAll(".tag-head"));
        Assert.Empty(items[0].QuerySelectorAll(".tag-head"));
        Assert.Equal(["latest", "v2"], items[0].QuerySelectorAll(".history-tag[data-tag]").Select(t => t.GetAttribute("data-tag")));

        var counts = items[0].QuerySelector(".history-counts")!;
        Assert.Equal(("2", "1", "1"), (counts.GetAttribute("data-upserted"), counts.GetAttribute("data-deleted"), counts.GetAttribute("data-tables")));
        Assert.Contains("+2", counts.TextContent);
        Assert.Contains("−1", counts.TextContent);
        Assert.Equal(At.AddMinutes(5).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            items[0].QuerySelector(".history-time")!.TextContent);

        // The second image diffs against its parent; the first has no parent to diff with.
        Assert.EndsWith(Links.Diff("local", "shop", First, Second), items[0].QuerySelector("a.diff-parent-button")!.GetAttribute("href"));
        Assert.Empty(items[1].QuerySelectorAll(".diff-parent-button"));
        Assert.EndsWith(Links.Image("local", "shop", Second), items[0].QuerySelector("a.history-image")!.GetAttribute("href"));
    }

    [Fact]
    public void Checkout_and_tag_buttons_hand_over_their_image()
    {
        var checkedOut = new List<string>();
        var tagged = new List<string>();
        var cut = Render<HistoryTimeline>(p => p.Add(t => t.Engine, "local").Add(t => t.Schema, "shop")
            .Add(t => t.Images, new[] { SecondImage(), FirstImage() })
            .Add(t => t.OnCheckout, (ImageInfo i) => checkedOut.Add(i.ImageHash))
            .Add(t => t.OnTag, (ImageInfo i) => tagged.Add(i.ImageHash)));

        cut.Find($".checkout-button[data-image='{First}']").Click();
        cut.Find($".tag-button[data-image='{Second}']").Click();

        Assert.Equal([First], checkedOut);
        Assert.Equal([Second], tagged);
    }

    [Fact]
    public void Says_when_there_are_no_images()
    {
        var cut = Render<HistoryTimeline>(p => p.Add(t => t.Engine, "local").Add(t => t.Schema, "shop").Add(t => t.Images, Array.Empty<ImageInfo>()));

        Assert.Contains("No images yet", cut.Find("#no-images").TextContent);
    }
}
