using Dashboard.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using Dashboard.Services;
using SplitgraphAspire.Contracts;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class DiffPageTests : DashboardTestBase
{
    private const string Repo = "/api/engines/local/repositories/shop";

    private const string RowChanges = """
        {"entries":[
          {"eventId":1,"primaryKey":{"id":1},"upserted":true,"oldRow":{"id":1,"name":"alpha","qty":10},"newRow":{"id":1,"name":"alpha2","qty":10}},
          {"eventId":2,"primaryKey":{"id":2},"upserted":false,"oldRow":{"id":2,"name":"beta","qty":20},"newRow":null},
          {"eventId":3,"primaryKey":{"id":3},"upserted":true,"oldRow":null,"newRow":{"id":3,"name":"gamma","qty":30}}
        ],"nextAfter":null}
        """;

    private void Serve(string? to)
    {
        Api.Json($"GET {Repo}/images", Json(new[] { SecondImage("latest"), FirstImage() }));
        Api.Json($"GET {Repo}/diff", Json(new VersionDiff("shop", First, to, [new TableDiff("items", "modified", 1, 1, 1, false), new TableDiff("tags", "unchanged", 0, 0, 0, false)])));
        Api.Json($"GET {Repo}/images/{First}", Json(FirstDetail()));
        Api.Json($"GET {Repo}/images/{Second}", Json(SecondDetail()));
        Api.Json($"GET {Repo}/diff/tables/items", RowChanges);
    }

    private IRenderedComponent<Diff> RenderDiff(string? from, string? to)
    {
        Render<MudBlazor.MudPopoverProvider>();
        var navigation = Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo(Links.Diff("local", "shop", from, to));
        return Render<Diff>(p => p.Add(d => d.Engine, "local").Add(d => d.Schema, "shop"));
    }

    [Fact]
    public void Summarises_each_table_then_shows_its_rows_with_changed_cells_old_to_new()
    {
        Serve(Second);

        var cut = RenderDiff(First, Second);

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll(".table-diff[data-table='items'] tr.change-row").Count));
        var summary = cut.Find("tr.diff-summary-row[data-table='items']");
        Assert.Equal(("modified", "1", "1", "1"), (summary.GetAttribute("data-state"), summary.QuerySelector(".diff-added")!.TextContent,
            summary.QuerySelector(".diff-updated")!.TextContent, summary.QuerySelector(".diff-removed")!.TextContent));
        Assert.Equal("unchanged", cut.Find("tr.diff-summary-row[data-table='tags']").GetAttribute("data-state"));
        // Only tables with differences get a row grid.
        Assert.Equal(["items"], cut.FindAll(".table-diff").Select(t => t.GetAttribute("data-table")));

        // Headers are the "to" image's columns, the key marked; the changed cell shows old → new.
        Assert.Equal(["id", "name", "qty"], cut.FindAll(".table-diff th.change-col").Select(th => th.TextContent.Trim()));
        Assert.Equal(["id"], cut.FindAll(".table-diff th.key-col").Select(th => th.TextContent.Trim()));
        var update = cut.Find("tr.change-row.kind-update");
        Assert.Equal("alpha", update.QuerySelector(".diff-cell[data-column='name'] del.cell-old")!.TextContent);
        Assert.Equal("alpha2", update.QuerySelector(".diff-cell[data-column='name'] ins.cell-new")!.TextContent);
        Assert.Empty(update.QuerySelectorAll(".diff-cell[data-column='qty'].cell-changed"));
        Assert.Equal("beta", cut.Find("tr.change-row.kind-delete .diff-cell[data-column='name']").TextContent);
        Assert.Equal("gamma", cut.Find("tr.change-row.kind-insert .diff-cell[data-column='name']").TextContent);

        Assert.Contains(Api.Requests, r => r == $"GET {Repo}/diff?from={First}&to={Second}");
        Assert.Contains(Api.Requests, r => r.StartsWith($"GET {Repo}/diff/tables/items?from={First}&to={Second}&after=0&limit=25", StringComparison.Ordinal));
        // The live table's columns are not asked for: the images say what they were.
        Assert.DoesNotContain(Api.Requests, r => r.Contains("/columns", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_choice_it_compares_the_newest_image_with_its_parent()
    {
        Serve(Second);

        var cut = RenderDiff(null, null);

        cut.WaitForAssertion(() => Assert.Equal(Second, cut.Find("#diff-to-field").GetAttribute("data-image")));
        Assert.Equal(First, cut.Find("#diff-from-field").GetAttribute("data-image"));
        Assert.Contains(Api.Requests, r => r == $"GET {Repo}/diff?from={First}&to={Second}");
    }

    [Fact]
    public void The_working_state_is_asked_for_without_a_to_image_and_headed_by_the_live_columns()
    {
        Serve(null);
        Api.Json("GET /api/engines/local/schemas/shop/tables/items/columns", Json(ItemColumns));

        var cut = RenderDiff(First, Links.WorkingState);

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("tr.change-row").Count));
        Assert.Contains(Api.Requests, r => r == $"GET {Repo}/diff?from={First}");
        Assert.Contains(Api.Requests, r => r.StartsWith($"GET {Repo}/diff/tables/items?from={First}&after=0", StringComparison.Ordinal));
        Assert.Contains(Api.Requests, r => r == "GET /api/engines/local/schemas/shop/tables/items/columns");
    }

    [Fact]
    public void An_unknown_image_is_reported()
    {
        Api.Json($"GET {Repo}/images", Json(new[] { SecondImage(), FirstImage() }));
        Api.Problem($"GET {Repo}/diff", 404, "Unknown image", "No image abcdef in shop.");

        var cut = RenderDiff("abcdef", Second);

        cut.WaitForAssertion(() => Assert.Contains("No image abcdef in shop.", cut.Find("#diff-error").TextContent));
        Assert.Empty(cut.FindAll("#diff-summary"));
    }
}
