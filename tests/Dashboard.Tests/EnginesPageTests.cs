using Dashboard.Components.Layout;
using Dashboard.Components.Pages;

namespace Dashboard.Tests;

public sealed class EnginesPageTests : DashboardTestBase
{
    private const string Engines = "GET /api/engines";
    private const string LocalCounts = "GET /api/engines/local/pending-counts";

    private static string EnginesJson(long pending) => $$"""
        [{"name":"local","healthy":true,"serverVersion":"17.2","database":"splitgraph","trackedTables":60,"pendingChanges":{{pending}},"objectCount":0,"objectBytes":0,"error":null},
         {"name":"remote","healthy":false,"serverVersion":null,"database":"splitgraph","trackedTables":0,"pendingChanges":0,"objectCount":0,"objectBytes":0,"error":"connection refused"}]
        """;

    /// <summary>60 tracked tables (more than the old 50-table cap), table i with i+1 added rows (plus <paramref name="extra"/> on t0).</summary>
    private static string CountsJson(int extra) => "[" + string.Join(",", Enumerable.Range(0, 60).Select(i =>
        $$"""{"schema":"s","table":"t{{i:00}}","added":{{i + 1 + (i == 0 ? extra : 0)}},"removed":0,"updated":0}""")) + "]";

    [Fact]
    public void The_overview_reads_all_counts_in_one_call_per_engine_and_stays_live()
    {
        var interval = TimeSpan.FromSeconds(3);
        Api.Json(Engines, EnginesJson(1830));
        Api.Json(LocalCounts, CountsJson(0));
        Api.Json("GET /api/capabilities", """{"sqlConsole":false,"sqlConsoleSetting":"Engine:SqlConsole:Enabled","engines":[]}""");
        Render<MudBlazor.MudPopoverProvider>();

        var cut = Render<Engines>(p => p.Add(e => e.PollInterval, interval));

        // 1 + 2 + … + 60 = 1830 over all 60 tables, from one call; the down engine is not asked.
        cut.WaitForAssertion(() => Assert.Equal("1830", cut.Find("#pending-total").GetAttribute("data-total")));
        Assert.Equal(60, cut.FindAll(".pending-row").Count);
        Assert.Equal(1, Api.Count(LocalCounts));
        Assert.Equal(0, Api.Count("GET /api/engines/remote/"));
        Assert.Equal(0, Api.Count("GET /api/engines/local/schemas/"));
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll(".engine-sql")));
        Assert.Equal(["unknown", "unknown", "unknown", "unknown"],
            cut.FindAll(".engine-card[data-engine=remote] .stat-value").Select(v => v.TextContent.Trim()));

        // Writers add 40 rows to t00: the page shows them after one interval on its clock, without a reload.
        Api.Json(Engines, EnginesJson(1870));
        Api.Json(LocalCounts, CountsJson(40));
        Time.Advance(interval);
        cut.WaitForAssertion(() => Assert.Equal("1870", cut.Find("#pending-total").GetAttribute("data-total")));
        Assert.Equal("41", cut.Find(".pending-row[data-table='local:s.t00']").GetAttribute("data-total"));
        Assert.Equal(2, Api.Count(LocalCounts));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_navigation_offers_the_sql_console_only_when_the_api_has_it_on(bool on)
    {
        Api.Json(Engines, EnginesJson(0));
        Api.Json("GET /api/capabilities", $$"""{"sqlConsole":{{(on ? "true" : "false")}},"sqlConsoleSetting":"Engine:SqlConsole:Enabled","engines":[]}""");
        Render<MudBlazor.MudPopoverProvider>();

        var cut = Render<NavMenu>();

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("#nav-local-tables")));
        cut.WaitForAssertion(() => Assert.Equal(1, Api.Count("GET /api/capabilities")));
        cut.WaitForAssertion(() => Assert.Equal(on, cut.FindAll("#nav-local-sql").Count == 1));
    }
}
