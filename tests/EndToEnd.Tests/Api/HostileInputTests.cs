using System.Text;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Api;

/// <summary>
/// Every route, a corpus of hostile inputs in every slot: the API answers 4xx ProblemDetails only, and no engine
/// changes (catalogue and a sentinel table's checksum compared before and after).
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class HostileInputTests(TopologyFixture topology, ITestOutputHelper output)
{
    /// <summary>Names and IDs that must never reach SQL text unquoted, and must never match anything.</summary>
    private static readonly string[] Corpus =
    [
        "'", "\"", "''", "\"\"", ";", "--", "/*", "*/", "x\"; drop table y; --", "'; DROP TABLE fruits; --", "a' OR '1'='1",
        "\") ; select pg_sleep(5); --", "$1", "$$", "$$; drop schema public cascade; $$", "\\", "\\\\'", "%", "_", "*", "?", "#",
        "a\0b", "\0", "nul\u0000; drop", "ｓｅｌｅｃｔ", "раssword", "tаble", "ﬁle", "\u202Eevil", "e\u0301", "😀", "\t", " ", "\r\n",
        new string('a', 64), new string('b', 200), new string('é', 40), "o123", "O" + new string('A', 62), "o" + new string('g', 62),
        "o" + new string('0', 61), "o" + new string('0', 63), "null", "true", "-1", "0", "9999999999999999999999", "{}", "[]",
        "splitgraph_meta\"; --", "pg_catalog\".\"pg_class", "public\".\"x", "local; drop", "remote'--",
    ];

    private static readonly string[] Engines = ["local", "remote"];

    private async Task<string> FingerprintAsync()
    {
        const string sql = """
            SELECT (SELECT md5(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY n.nspname, c.relname)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg_%'),
                   (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal),
                   (SELECT md5(coalesce(string_agg(object_id, ',' ORDER BY object_id), '')) FROM splitgraph_meta.objects),
                   (SELECT count(*) FROM splitgraph_audit.logged_actions),
                   (SELECT count(*) FROM pg_foreign_server),
                   (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM hostile_sentinel.fruits t)
            """;
        var parts = new List<string>();
        foreach (var engine in Engines)
        {
            parts.AddRange(await topology.RowsAsync(engine, sql));
        }

        return string.Join(" / ", parts);
    }

    private static string P(string value) => Uri.EscapeDataString(value);

    private static string J(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>(method, path, body) for every route with <paramref name="x"/> in each slot.</summary>
    private static IEnumerable<(string Method, string Path, string? Body)> Requests(string x)
    {
        var pathSafe = !x.Contains("..", StringComparison.Ordinal) && x.Trim().Length > 0;
        const string e = "/api/engines/local";
        if (pathSafe)
        {
            yield return ("GET", $"/api/engines/{P(x)}/tracked-tables", null);
            yield return ("POST", $"/api/engines/{P(x)}/initialize", null);
            yield return ("GET", $"{e}/schemas/{P(x)}/changes", null);
            yield return ("DELETE", $"{e}/schemas/{P(x)}/changes", null);
            yield return ("GET", $"{e}/schemas/{P(x)}/tables/fruits/changes?aggregate=true", null);
            yield return ("GET", $"{e}/schemas/hostile_sentinel/tables/{P(x)}/changes", null);
            yield return ("GET", $"{e}/schemas/hostile_sentinel/tables/{P(x)}/dump", null);
            yield return ("POST", $"{e}/schemas/hostile_sentinel/tables/{P(x)}/commit", "{}");
            yield return ("POST", $"{e}/schemas/{P(x)}/tables/fruits/commit?snapshot=true", "{}");
            yield return ("GET", $"{e}/objects/{P(x)}", null);
            yield return ("GET", $"{e}/objects/{P(x)}/schema", null);
            yield return ("GET", $"{e}/objects/{P(x)}/size", null);
            yield return ("GET", $"{e}/objects/{P(x)}/dump", null);
        }

        yield return ("GET", $"{e}/tables?schema={P(x)}", null);
        yield return ("DELETE", $"{e}/schemas/hostile_sentinel/changes?table={P(x)}", null);
        yield return ("GET", $"{e}/schemas/hostile_sentinel/tables/fruits/changes?limit={P(x)}", null);
        yield return ("GET", $"{e}/schemas/hostile_sentinel/tables/fruits/changes?after={P(x)}", null);
        yield return ("POST", $"{e}/tracked-tables", $$"""{"tables":[{"schema":{{J(x)}},"table":"fruits"}]}""");
        yield return ("POST", $"{e}/tracked-tables", $$"""{"tables":[{"schema":"hostile_sentinel","table":{{J(x)}}}]}""");
        yield return ("POST", $"{e}/tracked-tables/untrack", $$"""{"tables":[{"schema":{{J(x)}},"table":{{J(x)}}}]}""");
        yield return ("POST", $"{e}/objects/delete", $$"""{"objectIds":[{{J(x)}}]}""");
        yield return ("POST", $"{e}/objects/apply", $$"""{"objectIds":[{{J(x)}}],"targetSchema":"hostile_sentinel","targetTable":"fruits"}""");
        yield return ("POST", $"{e}/objects/apply", $$"""{"objectIds":["o{{new string('1', 62)}}"],"targetSchema":{{J(x)}},"targetTable":{{J(x)}}}""");
        yield return ("POST", $"{e}/objects/upload", $$"""{"objectIds":[{{J(x)}}],"remote":"remote"}""");
        yield return ("POST", $"{e}/objects/download", $$"""{"objectIds":["o{{new string('2', 62)}}"],"remote":{{J(x)}}}""");
    }

    /// <summary>Bodies of the wrong shape or size.</summary>
    private static IEnumerable<(string Method, string Path, string? Body)> MalformedBodies()
    {
        string[] bodies = ["", "null", "[]", "\"tables\"", "{", "{\"tables\":\"x\"}", "{\"tables\":[1,2]}", "{\"tables\":[{\"schema\":1,\"table\":2}]}",
            "{\"tables\":[null]}", "{\"tables\":{}}", "{\"objectIds\":\"x\"}", "{\"objectIds\":[null]}", "{\"objectIds\":[1]}", "{\"objectIds\":[],\"remote\":5}",
            "{\"tables\":[]}", "{\"objectIds\":[]}", "{\"filter\":7}", "\u0000", new string('[', 5000) + new string(']', 5000)];
        string[] routes = ["/tracked-tables", "/tracked-tables/untrack", "/objects/delete", "/objects/apply", "/objects/upload", "/objects/download"];
        foreach (var route in routes)
        {
            foreach (var body in bodies)
            {
                yield return ("POST", "/api/engines/local" + route, body);
            }
        }

        var huge = "{\"tables\":[" + string.Join(",", Enumerable.Repeat("{\"schema\":\"s\",\"table\":\"t\"}", 60_000)) + "]}";
        yield return ("POST", "/api/engines/local/tracked-tables", huge);
        yield return ("GET", "/api/engines/local/schemas/hostile_sentinel/tables/fruits/changes?limit=0", null);
        yield return ("GET", "/api/engines/local/schemas/hostile_sentinel/tables/fruits/changes?after=-5", null);
        yield return ("GET", "/api/engines/local/schemas/hostile_sentinel/tables/fruits/changes?net=maybe", null);
    }

    [Fact]
    public async Task Every_route_answers_hostile_input_with_4xx_problems_and_changes_nothing()
    {
        foreach (var engine in Engines)
        {
            await topology.ExecAsync(engine, "CREATE SCHEMA IF NOT EXISTS hostile_sentinel; CREATE TABLE IF NOT EXISTS hostile_sentinel.fruits (id int PRIMARY KEY, name text); " +
                                             "INSERT INTO hostile_sentinel.fruits VALUES (1, 'apple'), (2, 'orange') ON CONFLICT DO NOTHING;");
        }

        var before = await FingerprintAsync();
        var requests = Corpus.SelectMany(Requests).Concat(MalformedBodies()).ToList();
        var failures = new List<string>();
        foreach (var (method, path, body) in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                // Lets the server refuse an oversized body before the client sends it, as a careful client would.
                request.Headers.ExpectContinue = body.Length > 1_000_000;
            }

            using var response = await topology.Api.SendAsync(request);
            var status = (int)response.StatusCode;
            var problem = response.Content.Headers.ContentType?.MediaType == "application/problem+json";
            // Kestrel itself rejects a NUL in the path with a bare 400 before any application code runs.
            var rejectedByServer = status == 400 && path.Split('?')[0].Contains("%00", StringComparison.Ordinal);
            if (status is < 400 or >= 500 || (!problem && !rejectedByServer))
            {
                var text = await response.Content.ReadAsStringAsync();
                failures.Add($"{method} {path} {Truncate(body)} → {status} {response.Content.Headers.ContentType?.MediaType}: {Truncate(text)}");
            }
        }

        output.WriteLine($"Hostile inputs: {Corpus.Length} strings, {requests.Count} requests, {failures.Count} failures.");
        Assert.True(requests.Count >= 200, $"Only {requests.Count} requests were tried.");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(40)));
        Assert.Equal(before, await FingerprintAsync());
    }

    private static string Truncate(string? text) => text is null ? "" : text.Length > 160 ? text[..160] + "…" : text;
}
