using System.Net;

namespace EndToEnd.Tests.Api;

/// <summary>
/// Routes that name a schema or table serve user tables only: <c>pg_authid</c> (password verifiers), the catalogue,
/// <c>information_schema</c> and the engine's own schemas answer 403 problems, and no secret leaves.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class SystemTablesApiTests(TopologyFixture topology)
{
    public static TheoryData<string, string> Requests => new()
    {
        { "GET", "/api/engines/local/schemas/pg_catalog/tables/pg_authid/dump" },
        { "GET", "/api/engines/remote/schemas/pg_catalog/tables/pg_authid/dump" },
        { "GET", "/api/engines/local/schemas/pg_catalog/tables/pg_class/dump" },
        { "GET", "/api/engines/local/schemas/information_schema/tables/sql_features/dump" },
        { "GET", "/api/engines/local/schemas/splitgraph_meta/tables/objects/dump" },
        { "GET", "/api/engines/local/schemas/splitgraph_audit/tables/logged_actions/dump" },
        { "GET", "/api/engines/local/schemas/pg_catalog/tables/pg_authid/changes?aggregate=true" },
        { "GET", "/api/engines/local/schemas/pg_catalog/changes" },
        { "DELETE", "/api/engines/local/schemas/splitgraph_audit/changes" },
        { "POST", "/api/engines/local/schemas/pg_catalog/tables/pg_authid/commit?snapshot=true" },
        { "GET", "/api/engines/local/tables?schema=pg_catalog" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task System_and_engine_tables_are_refused_with_403(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await topology.Api.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("SCRAM-SHA-256", body);
        var problem = await ApiAssert.ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("only user tables", problem.Detail);
    }

    [Fact]
    public async Task Tracking_a_system_table_is_refused_and_installs_nothing()
    {
        var response = await topology.Api.PostAsync("/api/engines/local/tracked-tables",
            new { tables = new[] { new { schema = "pg_catalog", table = "pg_authid" } } });
        await ApiAssert.ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal(["0"], await topology.RowsAsync("local",
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'pg_catalog'::regnamespace AND NOT t.tgisinternal"));
    }
}
