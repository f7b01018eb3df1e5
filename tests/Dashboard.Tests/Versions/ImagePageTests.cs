using Dashboard.Components.Pages;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class ImagePageTests : DashboardTestBase
{
    [Fact]
    public void Shows_the_image_its_tables_schemas_and_object_chain_in_order_with_sizes()
    {
        Api.Json($"GET /api/engines/local/repositories/shop/images/{Second[..8]}", Json(SecondDetail()));
        Render<MudBlazor.MudPopoverProvider>();

        var cut = Render<Image>(p => p.Add(i => i.Engine, "local").Add(i => i.Schema, "shop").Add(i => i.ImageRef, Second[..8]));

        cut.WaitForAssertion(() => Assert.Equal(Second, cut.Find("#image-hash").GetAttribute("data-image")));
        Assert.Equal("Rename alpha", cut.Find(".image-message").TextContent);
        Assert.Contains(First[..12], cut.Find("#image-parent").TextContent);
        var table = cut.Find(".image-table[data-table='items']");
        Assert.Equal(["id", "name", "qty"], table.QuerySelectorAll(".schema-column").Select(c => c.GetAttribute("data-column")));
        Assert.Equal(["o-base", "o-frag"], table.QuerySelectorAll("tr.image-object").Select(r => r.GetAttribute("data-object-id")));
        Assert.Equal("base", table.QuerySelector("tr.image-object td")!.TextContent);
        Assert.Equal(("2", "1"), (table.QuerySelector(".image-table-changed")!.GetAttribute("data-upserted"), table.QuerySelector(".image-table-changed")!.GetAttribute("data-deleted")));
        Assert.Equal("12288", cut.Find("#image-size").GetAttribute("data-bytes"));
        Assert.Contains("12.0 KiB", cut.Find("#image-size").TextContent);
        Assert.EndsWith($"/diff?from={First}&to={Second}", cut.Find("a#diff-parent").GetAttribute("href"));
    }

    [Fact]
    public void An_unknown_image_is_reported()
    {
        Api.Problem("GET /api/engines/local/repositories/shop/images/nope", 404, "Unknown image", "No image or tag nope in shop.");

        var cut = Render<Image>(p => p.Add(i => i.Engine, "local").Add(i => i.Schema, "shop").Add(i => i.ImageRef, "nope"));

        cut.WaitForAssertion(() => Assert.Contains("No image or tag nope", cut.Find("#image-error").TextContent));
    }
}
