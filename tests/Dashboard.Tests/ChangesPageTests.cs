using Dashboard.Components.Pages;

namespace Dashboard.Tests;

public sealed class ChangesPageTests : DashboardTestBase
{
    private const string Changes = "GET /api/engines/local/schemas/s/tables/t/changes";

    [Fact]
    public void New_changes_are_announced_not_reloaded_until_the_reader_asks()
    {
        // One route serves both the counters (aggregate=true) and the grid's pages.
        var counts = """{"added":3,"removed":0,"updated":0}""";
        Api.Handle(Changes, request => Task.FromResult(request.RequestUri!.Query.Contains("aggregate=true")
            ? FakeApi.Response(System.Net.HttpStatusCode.OK, counts)
            : FakeApi.Response(System.Net.HttpStatusCode.OK, """
                {"entries":[{"eventId":1,"primaryKey":{"id":1},"upserted":true,"oldRow":null,"newRow":{"id":1}}],"nextAfter":null}
                """)));
        Render<MudBlazor.MudPopoverProvider>();

        var cut = Render<Dashboard.Components.Pages.Changes>(p => p.Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t"));
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("tr.change-row")));
        int GridReads() => Api.Requests.Count(r => r.StartsWith(Changes, StringComparison.Ordinal) && !r.Contains("aggregate=true"));
        Assert.Equal(1, GridReads());

        // Writers add 5 changes, then 2 more: two polls of the counters (1.5 s each on the page's clock).
        counts = """{"added":8,"removed":0,"updated":0}""";
        Time.Advance(TimeSpan.FromSeconds(1.5));
        cut.WaitForAssertion(() => Assert.Equal("5", cut.Find("#new-changes").GetAttribute("data-count")));
        counts = """{"added":8,"removed":1,"updated":1}""";
        Time.Advance(TimeSpan.FromSeconds(1.5));
        cut.WaitForAssertion(() => Assert.Equal("7", cut.Find("#new-changes").GetAttribute("data-count")));
        Assert.Contains("7 new changes", cut.Find("#new-changes").TextContent);
        Assert.Equal(1, GridReads());

        cut.Find("#new-changes-refresh").Click();
        // The read is counted when it is sent, the banner goes when its answer renders: wait for both.
        cut.WaitForAssertion(() =>
        {
            Assert.Equal(2, GridReads());
            Assert.Empty(cut.FindAll("#new-changes"));
        });
    }
}
