using Dashboard.Components.Parts;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

public sealed class EngineCardTests : DashboardTestBase
{
    [Fact]
    public void An_unhealthy_engine_shows_its_counts_as_unknown_not_zero()
    {
        var cut = Render<EngineCard>(p => p.Add(c => c.Engine,
            new EngineInfo("remote", false, null, "splitgraph", 0, 0, 0, 0, "connection refused")));

        Assert.Equal(["unknown", "unknown", "unknown", "unknown"], cut.FindAll(".stat-value").Select(v => v.TextContent.Trim()));
        Assert.Contains("connection refused", cut.Find(".engine-error").TextContent);
    }

    [Fact]
    public void A_healthy_engine_shows_its_counts()
    {
        var cut = Render<EngineCard>(p => p.Add(c => c.Engine,
            new EngineInfo("local", true, "17.2", "splitgraph", 2, 85, 3, 2048, null)));

        Assert.Equal(["2", "85", "3", "2.0 KiB"], cut.FindAll(".stat-value").Select(v => v.TextContent.Trim()));
    }
}
