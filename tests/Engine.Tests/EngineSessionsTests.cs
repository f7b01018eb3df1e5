using System.Data;
using Engine.Api.Infrastructure;
using Engine.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Engine.Tests;

/// <summary>
/// A request's unit of work (<see cref="EngineSessions"/>) across several engines: commits one engine after another,
/// so a failure leaves exactly the engines before it committed, and says so; an engine is never reopened at another
/// isolation. The engines are three names for the test database, each with its own connection and transaction.
/// </summary>
public sealed class EngineSessionsTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    private static readonly string[] Names = ["first", "second", "third"];

    private TestDatabase Db => fixture.Db;

    private EngineRegistry Registry(ServiceProvider services) =>
        new(new ConfigurationBuilder()
                .AddInMemoryCollection(Names.ToDictionary(n => $"ConnectionStrings:{n}", string? (_) => Db.Endpoint.ConnectionString))
                .Build(),
            services);

    private ServiceProvider Services()
    {
        // The registry asks for what the API registers: the keyed data sources, and logging.
        var services = new ServiceCollection().AddLogging();
        foreach (var name in Names)
        {
            // An instance registration: the provider does not dispose the fixture's data source.
            services.AddKeyedSingleton(name, Db.DataSource);
        }

        return services.BuildServiceProvider();
    }

    /// <summary>Tables a, b, c; b's key is checked only at commit, so a duplicate makes its engine's commit fail.</summary>
    private async Task<string> TablesAsync()
    {
        var schema = await Db.NewSchemaAsync("sessions");
        await Db.ExecAsync(
            $"CREATE TABLE {schema}.a (id int); CREATE TABLE {schema}.b (id int UNIQUE DEFERRABLE INITIALLY DEFERRED); CREATE TABLE {schema}.c (id int)");
        return schema;
    }

    private async Task<long[]> CountsAsync(string schema) =>
    [
        await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.a"),
        await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.b"),
        await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.c"),
    ];

    [Fact]
    public async Task A_commit_failing_after_another_engine_committed_names_both_sides_and_is_not_retried()
    {
        var schema = await TablesAsync();
        await using var services = Services();
        await using var sessions = new EngineSessions(Registry(services));
        await sessions.Open("first").ExecuteAsync($"INSERT INTO {schema}.a VALUES (1)");
        await sessions.Open("second").ExecuteAsync($"INSERT INTO {schema}.b VALUES (1), (1)");
        await sessions.Open("third").ExecuteAsync($"INSERT INTO {schema}.c VALUES (1)");

        var partial = await Assert.ThrowsAsync<PartialCommitException>(() => sessions.CommitAsync(CancellationToken.None));
        Assert.Equal(["first"], partial.Committed);
        Assert.Equal("second", partial.Failed);
        Assert.Equal(["third"], partial.NotCommitted);
        Assert.Equal(PostgresErrorCodes.UniqueViolation, Assert.IsType<PostgresException>(partial.InnerException).SqlState);
        Assert.Contains("'first'", partial.Message);
        Assert.Contains("'third'", partial.Message);
        Assert.Equal(500, partial.StatusCode);
        // Running the request again would apply the first engine's part twice.
        Assert.False(ConcurrentChangeException.IsRetryable(partial));

        await sessions.RollbackAsync();
        Assert.Equal(new long[] { 1, 0, 0 }, await CountsAsync(schema));
    }

    [Fact]
    public async Task A_commit_failing_on_the_first_engine_leaves_every_engine_unchanged()
    {
        var schema = await TablesAsync();
        await using var services = Services();
        await using (var sessions = new EngineSessions(Registry(services)))
        {
            await sessions.Open("second").ExecuteAsync($"INSERT INTO {schema}.b VALUES (2), (2)");
            await sessions.Open("first").ExecuteAsync($"INSERT INTO {schema}.a VALUES (2)");

            // Nothing committed yet: the engine's own error, which the pipeline may retry when it is a lost race.
            var error = await Assert.ThrowsAsync<PostgresException>(() => sessions.CommitAsync(CancellationToken.None));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
            await sessions.RollbackAsync();
        }

        Assert.Equal(new long[] { 0, 0, 0 }, await CountsAsync(schema));
    }

    /// <summary>
    /// An engine opened first but never used has no transaction: it commits nothing, so a failure on the next engine is
    /// that engine's own (retryable when it is a lost race) error, not a partial commit naming the unused one.
    /// </summary>
    [Fact]
    public async Task A_commit_failing_after_an_engine_that_was_opened_but_unused_is_not_a_partial_commit()
    {
        var schema = await TablesAsync();
        await using var services = Services();
        await using (var sessions = new EngineSessions(Registry(services)))
        {
            sessions.Open("first");
            await sessions.Open("second").ExecuteAsync($"INSERT INTO {schema}.b VALUES (5), (5)");
            await sessions.Open("third").ExecuteAsync($"INSERT INTO {schema}.c VALUES (5)");

            var error = await Assert.ThrowsAsync<PostgresException>(() => sessions.CommitAsync(CancellationToken.None));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
            await sessions.RollbackAsync();
        }

        Assert.Equal(new long[] { 0, 0, 0 }, await CountsAsync(schema));

        // Only the engines that committed a transaction are named as committed.
        await using (var sessions = new EngineSessions(Registry(services)))
        {
            sessions.Open("first");
            await sessions.Open("third").ExecuteAsync($"INSERT INTO {schema}.c VALUES (6)");
            await sessions.Open("second").ExecuteAsync($"INSERT INTO {schema}.b VALUES (6), (6)");

            var partial = await Assert.ThrowsAsync<PartialCommitException>(() => sessions.CommitAsync(CancellationToken.None));
            Assert.Equal(["third"], partial.Committed);
            Assert.Equal("second", partial.Failed);
            Assert.DoesNotContain("'first'", partial.Message);
            await sessions.RollbackAsync();
        }

        Assert.Equal(new long[] { 0, 0, 1 }, await CountsAsync(schema));
    }

    [Fact]
    public async Task Engines_commit_in_the_order_the_request_opened_them_and_all_of_them_commit()
    {
        var schema = await TablesAsync();
        await using var services = Services();
        await using (var sessions = new EngineSessions(Registry(services)))
        {
            await sessions.Open("third").ExecuteAsync($"INSERT INTO {schema}.c VALUES (3)");
            await sessions.Open("first").ExecuteAsync($"INSERT INTO {schema}.a VALUES (3)");
            await sessions.Open("second").ExecuteAsync($"INSERT INTO {schema}.b VALUES (3), (3)");

            var partial = await Assert.ThrowsAsync<PartialCommitException>(() => sessions.CommitAsync(CancellationToken.None));
            Assert.Equal(["third", "first"], partial.Committed);
            Assert.Empty(partial.NotCommitted);
            await sessions.RollbackAsync();
        }

        Assert.Equal(new long[] { 1, 0, 1 }, await CountsAsync(schema));

        await using (var sessions = new EngineSessions(Registry(services)))
        {
            await sessions.Open("first").ExecuteAsync($"INSERT INTO {schema}.a VALUES (4)");
            await sessions.Open("second").ExecuteAsync($"INSERT INTO {schema}.b VALUES (4)");
            await sessions.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(new long[] { 2, 1, 1 }, await CountsAsync(schema));
    }

    [Fact]
    public async Task An_engine_is_not_reopened_at_another_isolation()
    {
        await using var services = Services();
        await using var sessions = new EngineSessions(Registry(services));
        var commit = sessions.Open("first", TableCommitter.Isolation);
        Assert.Same(commit, sessions.Open("first", IsolationLevel.RepeatableRead));
        Assert.Equal("repeatable read", await commit.ScalarAsync<string>("SHOW transaction_isolation"));

        var refused = Assert.Throws<InvalidOperationException>(() => sessions.Open("first"));
        Assert.Contains("'first'", refused.Message);
        Assert.Contains(nameof(IsolationLevel.RepeatableRead), refused.Message);
        Assert.Contains(nameof(IsolationLevel.ReadCommitted), refused.Message);

        // Other engines are independent.
        Assert.Equal(IsolationLevel.ReadCommitted, sessions.Open("second").IsolationLevel);
    }
}
