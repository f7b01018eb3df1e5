using SplitgraphAspire.Contracts;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class ObjectProvenanceTests : DashboardTestBase
{
    private void Serve()
    {
        Api.Json("GET /api/engines", """[{"name":"local","healthy":true}]""");
        Api.Json("GET /api/engines/local/objects", Json(new[]
        {
            new ObjectInfo("o-base", "SNAP", 2, 8192, At),
            new ObjectInfo("o-loose", "FRAG", 1, 4096, At),
        }));
    }

    [Fact]
    public void Each_object_says_which_repository_table_uses_it_and_in_how_many_images()
    {
        Serve();
        Api.Json("GET /api/engines/local/objects/provenance", Json(new[]
        {
            new ObjectProvenance("o-base", "shop", "items", First, 0),
            new ObjectProvenance("o-base", "shop", "items", Second, 0),
        }));
        Render<MudBlazor.MudPopoverProvider>();

        var cut = Render<Components.Pages.Objects>(p => p.Add(o => o.Engine, "local"));

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".object-use")));
        var use = cut.Find(".object-use");
        Assert.Equal(("o-base", "shop.items", "2"), (use.GetAttribute("data-object-id"), use.GetAttribute("data-table"), use.GetAttribute("data-images")));
        Assert.Contains("shop.items · 2 images", use.TextContent);
        Assert.Equal(2, cut.FindAll("tr.object-row").Count);
    }

    [Fact]
    public void Objects_still_list_when_provenance_is_unavailable()
    {
        Serve();
        Api.Problem("GET /api/engines/local/objects/provenance", 503, "Engine unavailable", "down");
        Render<MudBlazor.MudPopoverProvider>();

        var cut = Render<Components.Pages.Objects>(p => p.Add(o => o.Engine, "local"));

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("tr.object-row").Count));
        Assert.Empty(cut.FindAll(".object-use"));
        Assert.Empty(cut.FindAll("#objects-error"));
    }
}
