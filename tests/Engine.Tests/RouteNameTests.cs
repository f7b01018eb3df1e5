using System.Net;
using System.Net.Http.Json;
using Engine.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Engine.Tests;

/// <summary>
/// Issue 15: route parameters that are valid PostgreSQL names are accepted whatever characters they contain. Through
/// a real Kestrel server (it decodes paths differently from the in-memory test server): names with '/', '%', '?', '#'
/// sent URL-encoded reach the commit route, and a table literally named "a%2Fb" is not confused with "a/b".
/// </summary>
public sealed class RouteNameTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private const string ApiKey = "route-name-test-key";

    [Fact]
    public async Task Names_with_reserved_url_characters_reach_the_commit_route()
    {
        var db = fixture.Db;
        var schema = "s/%?#" + Guid.NewGuid().ToString("N")[..6];
        string[] tables = ["a/b", "a%2Fb", "50%", "what?", "#hash", "a%b/c?d#e"];
        await db.ExecAsync($"CREATE SCHEMA \"{schema}\"");
        for (var i = 0; i < tables.Length; i++)
        {
            await db.ExecAsync($"CREATE TABLE \"{schema}\".\"{tables[i]}\" (id int PRIMARY KEY)");
            await Objects.TrackAsync(db, schema, tables[i]);
            // Table i gets i + 1 rows, so each commit shows which table it reached.
            await db.ExecAsync($"INSERT INTO \"{schema}\".\"{tables[i]}\" SELECT generate_series(1, {i + 1})");
        }

        await using var factory = new ApiFactory([("ConnectionStrings:local", db.Endpoint.ConnectionString), ("Engine:ApiKey", ApiKey)]);
        factory.UseKestrel(0);
        factory.StartServer();
        using var api = factory.CreateClient();
        api.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);

        for (var i = 0; i < tables.Length; i++)
        {
            var response = await api.PostAsync(
                $"/api/engines/local/schemas/{Uri.EscapeDataString(schema)}/tables/{Uri.EscapeDataString(tables[i])}/commit", null);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{tables[i]}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var result = await response.Content.ReadFromJsonAsync<CommitResult>();
            Assert.Equal(i + 1L, result!.Upserts);
        }
    }
}
