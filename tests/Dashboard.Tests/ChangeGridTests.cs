using System.Text.Json;
using Dashboard.Components.Parts;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

public sealed class ChangeGridTests : DashboardTestBase
{
    private const string Changes = "GET /api/engines/local/schemas/s/tables/t/changes";

    private const string ThreeEntries = """
        {"entries":[
          {"eventId":1,"primaryKey":{"id":3},"upserted":true,"oldRow":null,"newRow":{"id":3,"name":"gamma","qty":30}},
          {"eventId":2,"primaryKey":{"id":1},"upserted":true,"oldRow":{"id":1,"name":"alpha","qty":10},"newRow":{"id":1,"name":"alpha2","qty":10}},
          {"eventId":3,"primaryKey":{"id":2},"upserted":false,"oldRow":{"id":2,"name":"beta","qty":20},"newRow":null}
        ],"nextAfter":null}
        """;

    [Fact]
    public void Shows_key_kind_and_old_and_new_values_side_by_side_with_changes_highlighted()
    {
        Api.Json(Changes, ThreeEntries);

        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t"));

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("tr.change-row").Count));
        var rows = cut.FindAll("tr.change-row");
        Assert.Equal(["insert", "update", "delete"], rows.Select(r => r.QuerySelector(".change-kind")!.TextContent.Trim()));
        Assert.Equal(["id=3", "id=1", "id=2"], rows.Select(r => r.QuerySelector(".change-key")!.TextContent));

        // Update: only the name changed; old and new sit in the same row of the values table.
        var update = cut.Find("table.change-values[data-kind='update']");
        var name = update.QuerySelector("tr[data-column='name']")!;
        Assert.Equal("alpha", name.QuerySelector("td.old-value")!.TextContent);
        Assert.Equal("alpha2", name.QuerySelector("td.new-value")!.TextContent);
        Assert.NotNull(name.QuerySelector("td.old-value.cell-changed"));
        Assert.NotNull(name.QuerySelector("td.new-value.cell-changed"));
        var qty = update.QuerySelector("tr[data-column='qty']")!;
        Assert.Equal("10", qty.QuerySelector("td.old-value")!.TextContent);
        Assert.Equal("10", qty.QuerySelector("td.new-value")!.TextContent);
        Assert.Empty(qty.QuerySelectorAll("td.cell-changed"));

        // Insert: no old values, every new value highlighted. Delete: the reverse.
        var insert = cut.Find("table.change-values[data-kind='insert']");
        Assert.All(insert.QuerySelectorAll("td.old-value"), td => Assert.Equal("—", td.TextContent));
        Assert.Equal(3, insert.QuerySelectorAll("td.new-value.cell-changed").Length);
        var delete = cut.Find("table.change-values[data-kind='delete']");
        Assert.Equal(3, delete.QuerySelectorAll("td.old-value.cell-changed").Length);
        Assert.All(delete.QuerySelectorAll("td.new-value"), td => Assert.Equal("—", td.TextContent));

        Assert.Contains(Api.Requests, r => r.Contains("net=false") && r.Contains("after=0") && r.Contains("limit=25"));
    }

    [Fact]
    public void Net_mode_asks_for_net_changes()
    {
        Api.Json(Changes, ThreeEntries);

        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t").Add(c => c.Net, true));

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("tr.change-row").Count));
        Assert.Contains(Api.Requests, r => r.StartsWith(Changes, StringComparison.Ordinal) && r.Contains("net=true"));
    }

    [Fact]
    public void Shows_an_empty_state_and_a_problem()
    {
        Api.Json(Changes, """{"entries":[],"nextAfter":null}""");
        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t"));
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("#no-changes")));

        Api.Problem(Changes, 404, "Table not found", "No table s.t on local.");
        cut.InvokeAsync(() => cut.Instance.ReloadAsync());
        cut.WaitForAssertion(() => Assert.Contains("No table s.t on local.", cut.Find("#change-grid-error").TextContent));
    }

    [Fact]
    public void Change_values_marks_exactly_the_differing_cells()
    {
        var entry = new ChangeEntry(7,
            JsonSerializer.SerializeToElement(new { id = 1 }),
            true,
            JsonSerializer.SerializeToElement(new { id = 1, a = "x", b = (string?)null, c = 1.5 }),
            JsonSerializer.SerializeToElement(new { id = 1, a = "x", b = "now set", c = 2.5 }));

        var cut = Render<ChangeValues>(p => p.Add(c => c.Entry, entry));

        Assert.Equal(["b", "c"], cut.FindAll("tr.field-changed").Select(r => r.GetAttribute("data-column")));
        Assert.Equal(["id", "a"], cut.FindAll("tr.field-same").Select(r => r.GetAttribute("data-column")));
        Assert.Equal("NULL", cut.Find("tr[data-column='b'] td.old-value").TextContent);
        Assert.Equal("now set", cut.Find("tr[data-column='b'] td.new-value").TextContent);
    }
}
