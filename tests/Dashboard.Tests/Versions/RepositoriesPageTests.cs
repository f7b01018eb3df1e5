using System.Net;
using Dashboard.Components.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using SplitgraphAspire.Contracts;
using static Dashboard.Tests.Versions.VersionsData;

namespace Dashboard.Tests.Versions;

public sealed class RepositoriesPageTests : DashboardTestBase
{
    private const string Repositories = "/api/engines/local/repositories";

    [Fact]
    public void Lists_repositories_with_head_images_tables_and_pending_state()
    {
        Api.Json($"GET {Repositories}", Json(new[]
        {
            new RepositoryInfo("shop", "acme", Second, Second, 2, ["items", "tags"], true),
            new RepositoryInfo("pushed", "", null, First, 1, ["items"], false),
        }));
        Api.Json("GET /api/engines", """[{"name":"local","healthy":true},{"name":"remote","healthy":true}]""");
        Render<MudPopoverProvider>();

        var cut = Render<Components.Pages.Repositories>(p => p.Add(r => r.Engine, "local"));

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("tr.repository-row").Count));
        var shop = cut.Find(".repository-link[data-schema='shop']");
        Assert.Contains("acme/", shop.TextContent);
        Assert.EndsWith("engines/local/repositories/shop", shop.GetAttribute("href"));
        var rows = cut.FindAll("tr.repository-row");
        Assert.Equal(Second, rows[0].QuerySelector(".repository-head")!.GetAttribute("title"));
        Assert.NotNull(rows[0].QuerySelector(".pending-chip"));
        Assert.Contains("not checked out", rows[1].TextContent);
        Assert.NotNull(rows[1].QuerySelector(".clean-chip"));
        Assert.False(cut.Find("#clone-button").HasAttribute("disabled"));
    }

    [Fact]
    public void Says_when_there_are_none_and_offers_no_clone_without_another_engine()
    {
        Api.Json($"GET {Repositories}", "[]");
        Api.Json("GET /api/engines", """[{"name":"local","healthy":true},{"name":"remote","healthy":false}]""");
        Render<MudPopoverProvider>();

        var cut = Render<Components.Pages.Repositories>(p => p.Add(r => r.Engine, "local"));

        cut.WaitForAssertion(() => Assert.Contains("No repositories on local yet", cut.Find("#no-repositories").TextContent));
        Assert.True(cut.Find("#clone-button").HasAttribute("disabled"));
    }

    [Fact]
    public void Init_offers_schemas_that_are_not_repositories_posts_the_choice_and_opens_the_new_repository()
    {
        Api.Json($"GET {Repositories}", Json(new[] { new RepositoryInfo("shop", "", Second, Second, 2, ["items"], false) }));
        Api.Json("GET /api/engines", """[{"name":"local","healthy":true}]""");
        Api.Json("GET /api/engines/local/tables", """
            [{"schema":"shop","table":"items","primaryKey":["id"],"rowEstimate":2,"tracked":true},
             {"schema":"sales","table":"orders","primaryKey":["id"],"rowEstimate":5,"tracked":false},
             {"schema":"sales","table":"lines","primaryKey":[],"rowEstimate":9,"tracked":false}]
            """);
        string? body = null;
        Api.Handle($"POST {Repositories}", async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.Created, Json(new RepositoryInfo("sales", "acme", First, First, 1, ["lines", "orders"], false)));
        });
        var popovers = Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        var cut = Render<Components.Pages.Repositories>(p => p.Add(r => r.Engine, "local"));
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("tr.repository-row")));

        cut.Find("#init-button").Click();
        dialogs.WaitForAssertion(() => Assert.NotNull(dialogs.Find("#init-schema-field")));
        // Only "sales" is offered: "shop" already is a repository.
        dialogs.Find("#init-schema-field .mud-select .mud-input-control").MouseDown();
        popovers.WaitForAssertion(() => Assert.Single(popovers.FindAll(".mud-list-item")));
        Assert.Contains("sales (2 tables)", popovers.Find(".mud-list-item").TextContent);
        popovers.Find(".mud-list-item").Click();
        dialogs.WaitForAssertion(() => Assert.Equal("sales", dialogs.Find("#init-schema-field").GetAttribute("data-schema")));
        dialogs.Find("input#init-namespace").Input("acme");
        dialogs.Find("#confirm-yes").Click();

        var navigation = Services.GetRequiredService<NavigationManager>();
        cut.WaitForAssertion(() => Assert.EndsWith("engines/local/repositories/sales", navigation.Uri));
        Assert.Contains("\"schema\":\"sales\"", body);
        Assert.Contains("\"namespace\":\"acme\"", body);
        Assert.Contains("\"message\":\"Initial import\"", body);
    }

    [Fact]
    public void A_refused_init_stays_open_with_the_problem()
    {
        Api.Json($"GET {Repositories}", "[]");
        Api.Json("GET /api/engines", """[{"name":"local","healthy":true}]""");
        Api.Json("GET /api/engines/local/tables", """[{"schema":"sales","table":"orders","primaryKey":["id"],"rowEstimate":5,"tracked":false}]""");
        Api.Problem($"POST {Repositories}", 400, "Table cannot be tracked", "sales.orders has a column of type xml.");
        var popovers = Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        var cut = Render<Components.Pages.Repositories>(p => p.Add(r => r.Engine, "local"));
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("#no-repositories")));

        cut.Find("#init-button").Click();
        dialogs.WaitForAssertion(() => Assert.NotNull(dialogs.Find("#init-schema-field")));
        dialogs.Find("#init-schema-field .mud-select .mud-input-control").MouseDown();
        popovers.WaitForAssertion(() => Assert.Single(popovers.FindAll(".mud-list-item")));
        popovers.Find(".mud-list-item").Click();
        dialogs.WaitForAssertion(() => Assert.False(dialogs.Find("#confirm-yes").HasAttribute("disabled")));
        dialogs.Find("#confirm-yes").Click();

        dialogs.WaitForAssertion(() => Assert.Contains("column of type xml", dialogs.Find("#init-error").TextContent));
        Assert.DoesNotContain("/repositories/", Services.GetRequiredService<NavigationManager>().Uri, StringComparison.Ordinal);
    }
}
