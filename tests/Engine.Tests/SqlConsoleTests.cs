using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engine.Tests.Infrastructure;

namespace Engine.Tests;

/// <summary>
/// The development SQL console runs exactly one statement per request: text holding more is refused with a 400 and
/// runs nothing; semicolons inside literals, dollar quotes and comments are not separators (the server decides).
/// </summary>
public sealed class SqlConsoleTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private async Task<(HttpResponseMessage Response, string Schema)> RunAsync(Func<string, string> statement)
    {
        var schema = await fixture.Db.NewSchemaAsync("console");
        await fixture.Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t VALUES (1, 1)");
        await using var api = ApiHost.Start(("ConnectionStrings:db", fixture.Db.Endpoint.ConnectionString), ("Engine:SqlConsole:Enabled", "true"));
        using var client = api.Client();
        var response = await client.PostAsJsonAsync("/api/engines/db/sql", new { statement = statement(schema) });
        await response.Content.LoadIntoBufferAsync();
        return (response, schema);
    }

    [Theory]
    [InlineData("SELECT 1; UPDATE {0}.t SET v = 2")]
    [InlineData("SELECT 1;;UPDATE {0}.t SET v = 2;")]
    [InlineData("UPDATE {0}.t SET v = 2; SELECT 1")]
    [InlineData("SELECT ';'; UPDATE {0}.t SET v = 2")]
    [InlineData("SELECT $x$;$x$ /* ; */; UPDATE {0}.t SET v = 2 -- ;")]
    public async Task More_than_one_statement_is_refused_and_runs_nothing(string text)
    {
        var (response, schema) = await RunAsync(s => string.Format(text, s));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("exactly one statement", problem.GetProperty("detail").GetString());
        Assert.Equal(1, await fixture.Db.ScalarAsync<int>($"SELECT v FROM {schema}.t WHERE id = 1"));
    }

    [Theory]
    [InlineData("SELECT 'a;b' AS x", "a;b")]
    [InlineData("SELECT $q$x; UPDATE t SET v = 2$q$ AS x", "x; UPDATE t SET v = 2")]
    [InlineData("SELECT /* ; UPDATE t SET v = 2; */ 'c' AS x;", "c")]
    [InlineData("SELECT 'd' AS x -- ; UPDATE t SET v = 2", "d")]
    [InlineData("SELECT E'\\';' AS x ;  ", "';")]
    public async Task Semicolons_inside_literals_and_comments_do_not_split(string statement, string expected)
    {
        var (response, _) = await RunAsync(_ => statement);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var rows = JsonDocument.Parse(text).RootElement.GetProperty("rows");
        Assert.Equal(expected, rows[0][0].GetString());
    }

    [Fact]
    public async Task One_statement_with_a_trailing_semicolon_runs()
    {
        var (response, schema) = await RunAsync(s => $"UPDATE {s}.t SET v = 3;");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal(3, await fixture.Db.ScalarAsync<int>($"SELECT v FROM {schema}.t WHERE id = 1"));
    }
}
