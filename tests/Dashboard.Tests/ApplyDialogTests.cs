using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components;
using System.Net;
using Dashboard.Components.Parts;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using SplitgraphAspire.Contracts;

namespace Dashboard.Tests;

public sealed class ApplyDialogTests : DashboardTestBase
{
    private const string Apply = "POST /api/engines/remote/objects/apply";

    [Fact]
    public async Task Applies_in_commit_order_whatever_order_the_objects_were_picked_in()
    {
        var at = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var baseSnapshot = new ObjectInfo("o" + new string('a', 62), "FRAG", 10, 8192, at);
        var delta1 = new ObjectInfo("o" + new string('c', 62), "FRAG", 3, 8192, at.AddMinutes(1));
        var delta2 = new ObjectInfo("o" + new string('b', 62), "FRAG", 2, 8192, at.AddMinutes(2));
        string? body = null;
        Api.Json("GET /api/engines/remote/tables", "[]");
        Api.Handle(Apply, async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            // The API's words: upserts written and rows deleted, per fragment (an update inside is not a delete+insert).
            return FakeApi.Response(HttpStatusCode.OK, $$"""
                {"upserted":15,"deleted":1,"fragments":[
                  {"objectId":"{{baseSnapshot.ObjectId}}","upserted":10,"deleted":0},
                  {"objectId":"{{delta1.ObjectId}}","upserted":3,"deleted":1},
                  {"objectId":"{{delta2.ObjectId}}","upserted":2,"deleted":0}]}
                """);
        });

        Render<MudPopoverProvider>();
        var provider = Render<MudDialogProvider>();
        var parameters = new DialogParameters<ApplyDialog>
        {
            { d => d.Engine, "remote" },
            // As a list shows them (newest first), with the base picked last.
            { d => d.Objects, new[] { delta2, delta1, baseSnapshot } },
        };
        await provider.InvokeAsync(() => Services.GetRequiredService<IDialogService>().ShowAsync<ApplyDialog>("Apply", parameters));

        provider.WaitForAssertion(() => Assert.Equal(3, provider.FindAll("#apply-order .apply-object").Count));
        Assert.Equal([baseSnapshot.ObjectId, delta1.ObjectId, delta2.ObjectId],
            provider.FindAll("#apply-order .apply-object").Select(li => li.GetAttribute("data-object")));

        await provider.Find("input#apply-schema").InputAsync(new ChangeEventArgs { Value = "s" });
        await provider.Find("input#apply-table").InputAsync(new ChangeEventArgs { Value = "t" });
        await provider.Find("#apply-start").ClickAsync(new MouseEventArgs());

        provider.WaitForAssertion(() => Assert.NotNull(provider.Find("#apply-result")));
        Assert.Contains("Applied to s.t: 15 rows upserted, 1 deleted", provider.Find("#apply-result").TextContent);
        Assert.Equal(["10/0", "3/1", "2/0"],
            provider.FindAll("#apply-result .apply-fragment-result").Select(li => $"{li.GetAttribute("data-upserted")}/{li.GetAttribute("data-deleted")}"));
        Assert.DoesNotContain("inserted", provider.Find("#apply-result").TextContent);
        Assert.Contains($"\"objectIds\":[\"{baseSnapshot.ObjectId}\",\"{delta1.ObjectId}\",\"{delta2.ObjectId}\"]", body);
    }

    [Fact]
    public async Task Offers_to_create_a_missing_table_from_the_objects_schema()
    {
        var snapshot = new ObjectInfo("o" + new string('a', 62), "FRAG", 2, 8192, new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        string? body = null;
        Api.Json("GET /api/engines/remote/tables", """[{"schema":"s","table":"other","primaryKey":["id"],"tracked":false,"rowEstimate":0}]""");
        Api.Handle(Apply, async request =>
        {
            body = await request.Content!.ReadAsStringAsync();
            return FakeApi.Response(HttpStatusCode.OK, $$"""
                {"upserted":2,"deleted":0,"fragments":[{"objectId":"{{snapshot.ObjectId}}","upserted":2,"deleted":0}],"createdTable":true}
                """);
        });

        Render<MudPopoverProvider>();
        var provider = Render<MudDialogProvider>();
        var parameters = new DialogParameters<ApplyDialog> { { d => d.Engine, "remote" }, { d => d.Objects, new[] { snapshot } } };
        await provider.InvokeAsync(() => Services.GetRequiredService<IDialogService>().ShowAsync<ApplyDialog>("Apply", parameters));
        provider.WaitForAssertion(() => Assert.Equal(1, Api.Count("GET /api/engines/remote/tables")));

        // An existing table: nothing to offer.
        await provider.Find("input#apply-schema").InputAsync(new ChangeEventArgs { Value = "s" });
        await provider.Find("input#apply-table").InputAsync(new ChangeEventArgs { Value = "other" });
        Assert.Empty(provider.FindAll("#apply-create"));

        await provider.Find("input#apply-table").InputAsync(new ChangeEventArgs { Value = "made" });
        provider.WaitForAssertion(() => Assert.Contains("s.made does not exist", provider.Find("#apply-create").TextContent));
        await provider.Find("#apply-create input").ChangeAsync(new ChangeEventArgs { Value = true });
        await provider.Find("#apply-start").ClickAsync(new MouseEventArgs());

        provider.WaitForAssertion(() => Assert.NotNull(provider.Find("#apply-created")));
        Assert.Contains("\"createTable\":true", body);
        Assert.Contains("\"targetTable\":\"made\"", body);
    }
}
