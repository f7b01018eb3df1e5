using Dashboard.Components.Parts;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

public sealed class ChangeGridTests : DashboardTestBase
{
    private const string Changes = "GET /api/engines/local/schemas/s/tables/t/changes";
    private const string Columns = "GET /api/engines/local/schemas/s/tables/t/columns";

    private const string ThreeEntries = """
        {"entries":[
          {"eventId":1,"primaryKey":{"id":3},"upserted":true,"oldRow":null,"newRow":{"id":3,"name":"gamma","qty":30}},
          {"eventId":2,"primaryKey":{"id":1},"upserted":true,"oldRow":{"id":1,"name":"alpha","qty":10},"newRow":{"id":1,"name":"alpha2","qty":10}},
          {"eventId":3,"primaryKey":{"id":2},"upserted":false,"oldRow":{"id":2,"name":"beta","qty":20},"newRow":null}
        ],"nextAfter":null}
        """;

    [Fact]
    public void Shows_one_row_per_change_with_the_tables_columns_in_table_order_and_changed_cells_old_to_new()
    {
        Api.Json(Changes, ThreeEntries);
        // Table order differs from the entries' JSON key order.
        Api.Json(Columns, """
            [{"ordinal":1,"name":"qty","type":"integer","isPrimaryKey":false},{"ordinal":2,"name":"id","type":"integer","isPrimaryKey":true},
             {"ordinal":3,"name":"name","type":"text","isPrimaryKey":false}]
            """);

        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t"));

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("tr.change-row").Count));
        Assert.Equal(["qty", "id", "name"], cut.FindAll("th.change-col").Select(th => th.TextContent.Trim()));
        Assert.Equal(["id"], cut.FindAll("th.key-col").Select(th => th.TextContent.Trim()));
        var rows = cut.FindAll("tr.change-row");
        Assert.Equal(["insert", "update", "delete"], rows.Select(r => r.QuerySelector(".change-kind")!.TextContent.Trim()));
        Assert.Equal(["kind-insert", "kind-update", "kind-delete"], rows.Select(r => r.ClassList.First(c => c.StartsWith("kind-", StringComparison.Ordinal))));
        Assert.Equal([["qty", "id", "name"], ["qty", "id", "name"], ["qty", "id", "name"]],
            rows.Select(r => r.QuerySelectorAll(".diff-cell").Select(c => c.GetAttribute("data-column")).ToArray()));

        // Update: only the name changed, shown old → new; the others plain.
        var update = rows[1];
        var name = update.QuerySelector(".diff-cell[data-column='name']")!;
        Assert.Contains("cell-changed", name.ClassList);
        Assert.Equal("alpha", name.QuerySelector("del.cell-old")!.TextContent);
        Assert.Equal("alpha2", name.QuerySelector("ins.cell-new")!.TextContent);
        Assert.Equal(["cell-same", "cell-same"], new[] { "qty", "id" }.Select(c => update.QuerySelector($".diff-cell[data-column='{c}']")!.ClassList.First(k => k.StartsWith("cell-", StringComparison.Ordinal))));
        Assert.Equal("10", update.QuerySelector(".diff-cell[data-column='qty']")!.TextContent);

        // Insert: the new values; delete: the old ones.
        Assert.Equal(["30", "3", "gamma"], rows[0].QuerySelectorAll(".diff-cell.cell-inserted").Select(c => c.TextContent));
        Assert.Equal(["20", "2", "beta"], rows[2].QuerySelectorAll(".diff-cell.cell-deleted").Select(c => c.TextContent));

        Assert.Contains(Api.Requests, r => r.Contains("net=false") && r.Contains("after=0") && r.Contains("limit=25"));
    }

    [Fact]
    public void Without_the_column_list_the_grid_shows_the_columns_the_entries_carry()
    {
        Api.Json(Changes, ThreeEntries);
        Api.Problem(Columns, 503, "Engine unavailable", "down");

        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t"));

        cut.WaitForAssertion(() => Assert.Equal(["id", "name", "qty"], cut.FindAll("th.change-col").Select(th => th.TextContent.Trim())));
        Assert.Equal(3, cut.FindAll("tr.change-row").Count);
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
    public void The_pager_says_more_than_until_the_last_page_is_read_then_the_exact_total()
    {
        static string Page(int first, int count, long? next) => "{\"entries\":[" + string.Join(",", Enumerable.Range(first, count).Select(i =>
            $$$"""{"eventId":{{{i}}},"primaryKey":{"id":{{{i}}}},"upserted":true,"oldRow":null,"newRow":{"id":{{{i}}}}}""")) + "],\"nextAfter\":" + (next?.ToString() ?? "null") + "}";
        Api.Handle(Changes, request => Task.FromResult(FakeApi.Response(System.Net.HttpStatusCode.OK,
            request.RequestUri!.Query.Contains("after=0") ? Page(1, 10, 10) : Page(11, 3, null))));

        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t").Add(c => c.PageSize, 10));

        cut.WaitForAssertion(() => Assert.Equal(10, cut.FindAll("tr.change-row").Count));
        Assert.Equal("false", cut.Find("#change-pager").GetAttribute("data-total-known"));
        Assert.Contains("of more than", cut.Find("#change-pager").TextContent);

        // Next: one more request, from the first page's cursor; now the end is known.
        cut.Find("#change-pager button[aria-label='Next page']").Click();
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("tr.change-row").Count));
        Assert.Equal("true", cut.Find("#change-pager").GetAttribute("data-total-known"));
        Assert.Contains("of 13", cut.Find("#change-pager").TextContent);
        Assert.Equal(2, Api.Count(Changes));
        Assert.Contains(Api.Requests, r => r.Contains("after=10"));
    }
}
