using Dashboard.Components.Pages;

namespace Dashboard.Tests;

public sealed class SqlConsoleTests : DashboardTestBase
{
    private const string Sql = "POST /api/engines/local/sql";

    [Fact]
    public void A_disabled_console_shows_the_notice_and_how_to_turn_it_on()
    {
        Api.Problem(Sql, 409, "SQL console disabled", "The SQL console is off. Start the AppHost with Engine:SqlConsole:Enabled=true.");
        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<SqlConsole>(p => p.Add(c => c.Engine, "local"));

        cut.Find("#sql-run").Click();

        cut.WaitForAssertion(() => Assert.Contains("SQL console disabled", cut.Find("#sql-disabled").TextContent));
        Assert.Contains("Engine:SqlConsole:Enabled", cut.Find("#sql-disabled").TextContent);
        Assert.Empty(cut.FindAll("#sql-error"));
        Assert.Empty(cut.FindAll("#sql-result"));
        Assert.Equal(1, Api.Count(Sql));
    }

    [Fact]
    public void An_enabled_console_shows_the_result_table()
    {
        Api.Json(Sql, """{"columns":["answer"],"rows":[[42]],"recordsAffected":-1}""");
        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<SqlConsole>(p => p.Add(c => c.Engine, "local"));

        cut.Find("#sql-run").Click();

        cut.WaitForAssertion(() => Assert.Contains("answer", cut.Find("#sql-result").TextContent));
        Assert.Contains("42", cut.Find("#sql-result").TextContent);
        Assert.Empty(cut.FindAll("#sql-disabled"));
    }

    [Fact]
    public void The_capabilities_say_the_console_is_off_before_anything_is_run()
    {
        Api.Json("GET /api/capabilities", """{"sqlConsole":false,"sqlConsoleSetting":"Engine:SqlConsole:Enabled","engines":[{"name":"local","serverVersion":"17.2"}]}""");
        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<SqlConsole>(p => p.Add(c => c.Engine, "local"));

        cut.WaitForAssertion(() => Assert.Contains("SQL console disabled", cut.Find("#sql-disabled").TextContent));
        Assert.Equal("dotnet run --project AppHost -- --Engine:SqlConsole:Enabled=true", cut.Find("#sql-enable-command").TextContent.Trim());
        Assert.True(cut.Find("#sql-run").HasAttribute("disabled"));
        Assert.Equal(0, Api.Count(Sql));
    }

    [Fact]
    public void Another_conflict_is_the_statements_error_not_a_disabled_console()
    {
        Api.Json("GET /api/capabilities", """{"sqlConsole":true,"sqlConsoleSetting":"Engine:SqlConsole:Enabled","engines":[]}""");
        Api.Problem(Sql, 409, "Conflict", "The table is locked by another transaction.");
        Render<MudBlazor.MudPopoverProvider>();
        var cut = Render<SqlConsole>(p => p.Add(c => c.Engine, "local"));
        cut.WaitForAssertion(() => Assert.Equal(1, Api.Count("GET /api/capabilities")));

        cut.Find("#sql-run").Click();

        cut.WaitForAssertion(() => Assert.Contains("locked by another transaction", cut.Find("#sql-error").TextContent));
        Assert.Empty(cut.FindAll("#sql-disabled"));
        Assert.False(cut.Find("#sql-run").HasAttribute("disabled"));
    }
}
