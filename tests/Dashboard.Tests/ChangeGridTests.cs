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

        Assert.Contains(Api.Requests, r => r.Contains("net=false") && r.Contains("offset=0") && r.Contains("limit=25"));
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
    public void The_raw_log_pages_by_offset_with_its_exact_total_and_a_reload_goes_back_to_page_1()
    {
        NetView(13);
        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t").Add(c => c.PageSize, 10));

        cut.WaitForAssertion(() => Assert.Contains("1–10 of 13", cut.Find("#change-pager").TextContent));
        Assert.Equal("true", cut.Find("#change-pager").GetAttribute("data-total-known"));

        // Next: one request at offset 10.
        cut.Find("#change-pager button[aria-label='Next page']").Click();
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("tr.change-row").Count));
        Assert.Contains("11–13 of 13", cut.Find("#change-pager").TextContent);
        Assert.Equal(2, Api.Count(Changes));
        Assert.Contains(Api.Requests, r => r.Contains("net=false") && r.Contains("offset=10"));

        // A reload (the reader's refresh) goes back to page 1 in one request.
        cut.InvokeAsync(() => cut.Instance.ReloadAsync());
        cut.WaitForAssertion(() => Assert.Equal(10, cut.FindAll("tr.change-row").Count));
        Assert.Equal(3, Api.Count(Changes));
        Assert.Contains("1–10 of 13", cut.Find("#change-pager").TextContent);
    }

    /// <summary>A fake view (net or raw) of <paramref name="total"/> upserts with keys 1…total, paged by offset, found by key.</summary>
    private void NetView(int total)
    {
        static string Entries(int from, int count) => string.Join(",", Enumerable.Range(from, count).Select(i =>
            $$$"""{"eventId":{{{i}}},"primaryKey":{"id":{{{i}}}},"upserted":true,"oldRow":null,"newRow":{"id":{{{i}}}}}"""));
        Api.Handle(Changes, request =>
        {
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
            var limit = int.Parse(query["limit"]!, System.Globalization.CultureInfo.InvariantCulture);
            var offset = query["key"] is { } key ? (int.Parse(key, System.Globalization.CultureInfo.InvariantCulture) - 1) / limit * limit
                : int.Parse(query["offset"]!, System.Globalization.CultureInfo.InvariantCulture);
            var count = Math.Max(0, Math.Min(limit, total - offset));
            var next = offset + count < total ? (offset + count).ToString(System.Globalization.CultureInfo.InvariantCulture) : "null";
            return Task.FromResult(FakeApi.Response(System.Net.HttpStatusCode.OK,
                $$"""{"entries":[{{Entries(offset + 1, count)}}],"nextAfter":{{next}},"total":{{total}},"offset":{{offset}}}"""));
        });
    }

    [Fact]
    public void The_net_pager_knows_the_total_from_the_first_page_and_any_page_is_one_request()
    {
        NetView(137);
        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t").Add(c => c.Net, true).Add(c => c.PageSize, 10));

        cut.WaitForAssertion(() => Assert.Contains("1–10 of 137", cut.Find("#change-pager").TextContent));
        Assert.Equal("true", cut.Find("#change-pager").GetAttribute("data-total-known"));
        Assert.Equal(1, Api.Count(Changes));

        // Last page: one request at its offset, no walk through the pages before it.
        cut.Find("#change-pager button[aria-label='Last page']").Click();
        cut.WaitForAssertion(() => Assert.Contains("131–137 of 137", cut.Find("#change-pager").TextContent));
        Assert.Equal(7, cut.FindAll("tr.change-row").Count);
        Assert.Equal(2, Api.Count(Changes));
        Assert.Contains(Api.Requests, r => r.Contains("net=true") && r.Contains("offset=130") && r.Contains("limit=10"));
    }

    [Fact]
    public void Jump_to_key_shows_the_page_that_holds_it_with_its_row_marked()
    {
        NetView(137);
        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t").Add(c => c.Net, true).Add(c => c.PageSize, 10));
        cut.WaitForAssertion(() => Assert.Contains("1–10 of 137", cut.Find("#change-pager").TextContent));

        cut.Find("#jump-key").Input("47");
        cut.Find("#jump-button").Click();

        cut.WaitForAssertion(() => Assert.Contains("41–50 of 137", cut.Find("#change-pager").TextContent));
        var marked = Assert.Single(cut.FindAll("tr.change-row.jumped-to"));
        Assert.Equal("47", marked.QuerySelector(".diff-cell[data-column='id']")!.TextContent);
        Assert.Contains(Api.Requests, r => r.Contains("key=47"));
        // The jump's own answer is the page shown: first page + jump, nothing more.
        Assert.Equal(2, Api.Count(Changes));
    }

    [Fact]
    public void Jump_to_a_key_without_a_change_says_so()
    {
        NetView(5);
        Api.Handle(Changes, request => Task.FromResult(request.RequestUri!.Query.Contains("key=")
            ? FakeApi.Response(System.Net.HttpStatusCode.NotFound, """{"title":"Key not among the changes","status":404,"detail":"No net change of \"s\".\"t\" has the key 99."}""", "application/problem+json")
            : FakeApi.Response(System.Net.HttpStatusCode.OK, """{"entries":[],"nextAfter":null,"total":0,"offset":0}""")));
        var cut = Render<ChangeGrid>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t").Add(c => c.Net, true));
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("#no-changes")));

        cut.Find("#jump-key").Input("99");
        cut.Find("#jump-button").Click();
        cut.WaitForAssertion(() => Assert.Contains("has the key 99", cut.Find("#change-grid-error").TextContent));
    }
}
