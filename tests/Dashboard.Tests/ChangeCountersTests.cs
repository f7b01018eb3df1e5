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
        var interval = TimeSpan.FromSeconds(2);

        var cut = Render<ChangeCounters>(p => p
            .Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t")
            .Add(c => c.Interval, interval)
            .Add(c => c.OnChanged, _ => changed++));

        cut.WaitForAssertion(() => Assert.Equal("0", cut.Find("#counter-added").TextContent));
        Assert.Contains("aggregate=true", Api.Requests.First());
        Assert.Equal(1, Api.Count(Aggregate));

        // Rows are written elsewhere: nothing is read until the interval passes, then the poll shows them without any
        // re-render from outside.
        Api.Json(Aggregate, """{"added":5,"removed":2,"updated":3}""");
        Time.Advance(interval);

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("5", cut.Find("#counter-added").TextContent);
            Assert.Equal("2", cut.Find("#counter-removed").TextContent);
            Assert.Equal("3", cut.Find("#counter-updated").TextContent);
        });
        cut.WaitForAssertion(() => Assert.Equal(1, changed));
        Assert.Equal(2, Api.Count(Aggregate));
    }

    [Fact]
    public async Task Stops_polling_when_disposed()
    {
        Api.Json(Aggregate, """{"added":1,"removed":0,"updated":0}""");
        var interval = TimeSpan.FromSeconds(1);
        var cut = Render<ChangeCounters>(p => p
            .Add(c => c.Engine, "local").Add(c => c.Schema, "s").Add(c => c.Table, "t")
            .Add(c => c.Interval, interval));
        cut.WaitForAssertion(() => Assert.Equal(1, Api.Count(Aggregate)));
        for (var tick = 2; tick <= 3; tick++)
        {
            Time.Advance(interval);
            var expected = tick;
            cut.WaitForAssertion(() => Assert.Equal(expected, Api.Count(Aggregate)));
        }

        await DisposeComponentsAsync();
        var afterDispose = Api.Count(Aggregate);
        // Ten more intervals pass on the component's clock: a live loop would have polled ten times.
        for (var tick = 0; tick < 10; tick++)
        {
            Time.Advance(interval);
        }

        Assert.Equal(afterDispose, Api.Count(Aggregate));
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
