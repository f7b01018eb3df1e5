using Dashboard.Components.Parts;

namespace Dashboard.Tests;

public sealed class ChangeCountersTests : DashboardTestBase
{
    private const string Aggregate = "GET /api/engines/local/schemas/s/tables/t/changes";

    [Fact]
    public void Shows_the_counters_and_follows_them_live()
    {
        Api.Json(Aggregate, """{"added":0,"removed":0,"updated":0}""");
        var changed = 0;

        var cut = Render<ChangeCounters>(p => p
            .Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t")
            .Add(c => c.Interval, TimeSpan.FromMilliseconds(50))
            .Add(c => c.OnChanged, _ => changed++));

        cut.WaitForAssertion(() => Assert.Equal("0", cut.Find("#counter-added").TextContent));
        Assert.Contains("aggregate=true", Api.Requests.First());

        // Rows are written elsewhere: the next poll shows them without any re-render from outside.
        Api.Json(Aggregate, """{"added":5,"removed":2,"updated":3}""");

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("5", cut.Find("#counter-added").TextContent);
            Assert.Equal("2", cut.Find("#counter-removed").TextContent);
            Assert.Equal("3", cut.Find("#counter-updated").TextContent);
        }, TimeSpan.FromSeconds(5));
        cut.WaitForAssertion(() => Assert.Equal(1, changed));
    }

    [Fact]
    public async Task Stops_polling_when_disposed()
    {
        Api.Json(Aggregate, """{"added":1,"removed":0,"updated":0}""");
        var cut = Render<ChangeCounters>(p => p
            .Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t")
            .Add(c => c.Interval, TimeSpan.FromMilliseconds(30)));
        cut.WaitForAssertion(() => Assert.True(Api.Count("GET /api/engines/local/schemas/s/tables/t/changes") >= 3), TimeSpan.FromSeconds(5));

        await DisposeComponentsAsync();
        await Task.Delay(100);
        var afterDispose = Api.Count("GET /api/engines/local/schemas/s/tables/t/changes");
        await Task.Delay(300);

        Assert.Equal(afterDispose, Api.Count("GET /api/engines/local/schemas/s/tables/t/changes"));
    }

    [Fact]
    public void Shows_the_problem_detail_when_the_table_is_not_tracked()
    {
        Api.Problem(Aggregate, 409, "Table not tracked", "Table \\\"s\\\".\\\"t\\\" is not tracked.");

        var cut = Render<ChangeCounters>(p => p
            .Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t"));

        cut.WaitForAssertion(() => Assert.Contains("is not tracked", cut.Find("#counters-error").TextContent));
        Assert.Equal("–", cut.Find("#counter-added").TextContent);
    }
}
