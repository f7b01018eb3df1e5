using System.Net;
using System.Text;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests.Api;

/// <summary>Bad input gets a 4xx ProblemDetails answer and changes nothing in any engine (spec scenario 17).</summary>
[Collection(TopologyCollection.Name)]
public sealed class BadInputApiTests(TopologyFixture topology)
{
    private const string Injection = "x\"; drop table y; --";

    /// <summary>A fingerprint of both engines' catalogues: every relation, trigger and object.</summary>
    private async Task<string> FingerprintAsync()
    {
        const string sql = """
            SELECT (SELECT string_agg(n.nspname || '.' || c.relname, ',' ORDER BY n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg_%' AND n.nspname <> 'information_schema'),
                   (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal),
                   (SELECT count(*) FROM splitgraph_meta.objects)
            """;
        return string.Join("/", await topology.RowsAsync("local", sql)) + "//" + string.Join("/", await topology.RowsAsync("remote", sql));
    }

    public static TheoryData<string, string, string?> Requests => new()
    {
        // method, path, JSON body
        { "GET", $"/api/engines/local/schemas/{Uri.EscapeDataString(Injection)}/tables/y/changes?aggregate=true", null },
        { "GET", $"/api/engines/local/schemas/public/tables/{Uri.EscapeDataString(Injection)}/dump", null },
        { "POST", "/api/engines/local/tracked-tables", $$"""{"tables":[{"schema":"{{Injection.Replace("\"", "\\\"")}}","table":"y"}]}""" },
        { "POST", "/api/engines/local/tracked-tables", """{"tables":[]}""" },
        { "POST", "/api/engines/local/tracked-tables/untrack", """{"tables":[]}""" },
        { "POST", "/api/engines/local/tracked-tables", """{"tables":"not a list"}""" },
        { "POST", "/api/engines/local/tracked-tables", """{"tables":[{"schema":"public","table":"no_such_table"}]}""" },
        { "POST", "/api/engines/local/tracked-tables", "{not json" },
        { "GET", "/api/engines/local/objects/o123", null },
        { "GET", "/api/engines/local/objects/o123/schema", null },
        { "GET", $"/api/engines/local/objects/o{new string('0', 62)}", null },
        { "POST", "/api/engines/local/objects/delete", """{"objectIds":[]}""" },
        { "POST", "/api/engines/local/objects/delete", """{"objectIds":["o123"]}""" },
        { "POST", "/api/engines/local/objects/apply", """{"objectIds":[],"targetSchema":"public","targetTable":"t"}""" },
        { "POST", "/api/engines/local/objects/upload", """{"objectIds":["o123"],"remote":"remote"}""" },
        { "POST", "/api/engines/local/objects/upload", $$"""{"objectIds":["o{{new string('1', 62)}}"],"remote":"nowhere"}""" },
        { "POST", "/api/engines/local/objects/upload", $$"""{"objectIds":["o{{new string('1', 62)}}"],"remote":"local"}""" },
        { "POST", "/api/engines/local/objects/download", """{"objectIds":[],"remote":"remote"}""" },
        { "GET", "/api/engines/nowhere/objects", null },
        { "GET", "/api/engines/local/schemas/public/tables/t/changes?limit=-1", null },
        { "GET", "/api/engines/local/schemas/public/tables/t/changes?limit=100000000", null },
        { "GET", "/api/engines/local/schemas/public/tables/t/changes?after=abc", null },
        { "POST", $"/api/engines/local/schemas/{Uri.EscapeDataString(Injection)}/tables/y/commit", "{}" },
        { "DELETE", $"/api/engines/local/schemas/{new string('s', 64)}/changes", null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Is_answered_with_a_4xx_problem_and_changes_nothing(string method, string path, string? body)
    {
        var before = await FingerprintAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await topology.Api.SendAsync(request);

        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status is >= 400 and < 500, $"{method} {path} → {status}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"detail\"", text);
        Assert.Equal(before, await FingerprintAsync());
    }

    [Fact]
    public async Task Apply_onto_a_table_with_other_columns_is_a_409_and_leaves_it_unchanged()
    {
        var schema = "bad_" + Guid.NewGuid().ToString("N")[..8];
        await topology.ExecAsync("local", $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.a (id int PRIMARY KEY, v text); INSERT INTO {schema}.a VALUES (1, 'x');" +
                                          $"CREATE TABLE {schema}.b (id int PRIMARY KEY, w int); INSERT INTO {schema}.b VALUES (7, 7);");
        var commit = await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"/api/engines/local/schemas/{schema}/tables/a/commit?snapshot=true", new { }));

        var response = await topology.Api.PostAsync("/api/engines/local/objects/apply", new ApplyRequest([commit.ObjectId!], schema, "b", null));

        var problem = await ApiAssert.ProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("columns", problem.Detail);
        Assert.Equal(["7|7"], await topology.RowsAsync("local", $"SELECT * FROM {schema}.b"));
    }
}
