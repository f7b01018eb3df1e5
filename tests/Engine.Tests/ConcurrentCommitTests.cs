using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Json;
using Engine.Tests.Infrastructure;
using Npgsql;

namespace Engine.Tests;

/// <summary>
/// Two commits of one table made to overlap on purpose — both take their snapshots, then queue behind a lock held by a
/// third connection, then run together when it is released — give one object and no error, through the API (whose
/// transaction behaviour retries the loser's serialization failure).
/// </summary>
public sealed class ConcurrentCommitTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.GeneratedNames)]
    public async Task Two_overlapping_commits_of_one_table_give_one_object_and_no_error(bool snapshot)
    {
        var schema = await Db.FruitsAsync(primaryKey: true);
        await Db.ExecAsync($"INSERT INTO {schema}.fruits VALUES (3, 'banana'); UPDATE {schema}.fruits SET name = 'pear' WHERE fruit_id = 1");
        var objectsBefore = await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects");
        await using var api = ApiHost.Start(("ConnectionStrings:db", Db.Endpoint.ConnectionString));
        using var client = api.Client();
        var url = $"/api/engines/db/schemas/{schema}/tables/fruits/commit?snapshot={(snapshot ? "true" : "false")}";

        Task<HttpResponseMessage> first, second;
        await using (var holder = await Db.DataSource.OpenConnectionAsync())
        {
            await using var hold = new NpgsqlCommand($"BEGIN; LOCK TABLE {schema}.fruits IN ACCESS EXCLUSIVE MODE", holder);
            await hold.ExecuteNonQueryAsync();
            first = client.PostAsync(url, null);
            second = client.PostAsync(url, null);
            await WaitUntilAsync(async () => await Db.ScalarAsync<long>(
                "SELECT count(*) FROM pg_locks WHERE relation = format('%I.fruits', $1::text)::regclass AND NOT granted", schema) == 2,
                "both commits waiting behind the held lock");
            await using var release = new NpgsqlCommand("COMMIT", holder);
            await release.ExecuteNonQueryAsync();
        }

        var responses = await Task.WhenAll(first, second);
        var results = new List<CommitResult>();
        foreach (var response in responses)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
            results.Add((await response.Content.ReadFromJsonAsync<CommitResult>())!);
        }

        var ids = results.Select(r => r.ObjectId).OfType<string>().Distinct().ToList();
        Assert.Single(ids);
        Assert.Equal(1, results.Count(r => r.Created));
        Assert.Equal(objectsBefore + 1, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_meta.objects"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname LIKE 'sg\\_staging\\_%'"));
        if (!snapshot)
        {
            Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = $1", schema));
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
