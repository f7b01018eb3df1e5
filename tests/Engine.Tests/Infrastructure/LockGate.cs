using System.Diagnostics.CodeAnalysis;
using Npgsql;

namespace Engine.Tests.Infrastructure;

/// <summary>
/// A lock held from a connection of its own, so that the operation under test stops at a known statement: a fault test
/// then acts on a backend that is provably in flight instead of hoping to catch it running. Disposing releases the lock.
/// </summary>
public sealed class LockGate : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction? _transaction;

    private LockGate(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        _connection = connection;
        _transaction = transaction;
    }

    /// <summary>Holds <c>LOCK TABLE <paramref name="table"/> IN <paramref name="mode"/> MODE</c> in an open transaction.</summary>
    [SuppressMessage(ReviewedSql.Category, ReviewedSql.Rule, Justification = ReviewedSql.Helper)]
    public static async Task<LockGate> TableAsync(TestDatabase db, string table, string mode)
    {
        var connection = await db.DataSource.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand($"LOCK TABLE {table} IN {mode} MODE", connection, transaction);
        await command.ExecuteNonQueryAsync();
        return new LockGate(connection, transaction);
    }

    /// <summary>Holds the session advisory lock on <c>hashtext(<paramref name="key"/>)</c>, the engine's per-object lock.</summary>
    public static async Task<LockGate> AdvisoryAsync(TestDatabase db, string key)
    {
        var connection = await db.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext($1))", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await command.ExecuteNonQueryAsync();
        return new LockGate(connection, null);
    }

    /// <summary>
    /// Waits until a backend of <paramref name="database"/> other than the gate's waits on a lock of the given kind
    /// (<c>advisory</c>, <c>relation</c>, …) and returns its process ID. The timeout only bounds a broken test.
    /// </summary>
    public static async Task<int> WaitForWaiterAsync(TestDatabase observer, string database, string waitEvent)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var pid = await observer.ScalarAsync<int?>(
                """
                SELECT pid FROM pg_stat_activity
                WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = $2 AND pid <> pg_backend_pid()
                ORDER BY backend_start LIMIT 1
                """, database, waitEvent);
            if (pid is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                var activity = await observer.ScalarAsync<string>(
                    "SELECT string_agg(format('%s %s %s/%s: %s', pid, state, wait_event_type, wait_event, left(query, 120)), E'\n') FROM pg_stat_activity WHERE datname = $1",
                    database);
                throw new TimeoutException($"No backend of {database} waited on a {waitEvent} lock. Activity:\n{activity}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Terminates a backend, as a crash or restart of its server looks to the client.</summary>
    public static async Task TerminateAsync(TestDatabase observer, int pid) =>
        Assert.True(await observer.ScalarAsync<bool>("SELECT pg_terminate_backend($1)", pid), $"backend {pid} was not terminated");

    public async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.RollbackAsync();
        }
        else
        {
            // A session lock outlives the connection's return to the pool: release it explicitly.
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", _connection);
            await unlock.ExecuteNonQueryAsync();
        }

        await _connection.DisposeAsync();
    }
}
