namespace Engine.Api.Engine;

/// <summary>A failure the caller can act on; <see cref="StatusCode"/> says how the API reports it.</summary>
public abstract class EngineException(string title, string message, int statusCode, Exception? inner = null) : Exception(message, inner)
{
    public string Title { get; } = title;

    public int StatusCode { get; } = statusCode;
}

public sealed class UnknownEngineException(string engine)
    : EngineException("Unknown engine", $"There is no engine called '{engine}'.", 404);

public sealed class EngineNotInitializedException(string engine, Exception? inner = null)
    : EngineException("Engine not initialised", $"Engine '{engine}' has not been initialised: POST /api/engines/{engine}/initialize.", 409, inner);

public sealed class EngineUnavailableException(string engine, Exception inner)
    : EngineException("Engine unavailable", $"Engine '{engine}' cannot be reached: {inner.Message}", 503, inner);

public sealed class TableNotFoundException(string schema, string table)
    : EngineException("Table not found", $"Table \"{schema}\".\"{table}\" does not exist.", 404);

public sealed class TableNotTrackedException(string schema, string table)
    : EngineException("Table not tracked", $"Table \"{schema}\".\"{table}\" is not tracked.", 409);

public sealed class ObjectNotFoundException(IReadOnlyCollection<string> objectIds)
    : EngineException("Object not found", $"No object {string.Join(", ", objectIds)} on this engine.", 404);

public sealed class InvalidInputException(string title, string message)
    : EngineException(title, message, 400);

public sealed class ConflictException(string title, string message)
    : EngineException(title, message, 409);

/// <summary>
/// A serialization failure (40001) or deadlock (40P01): the transaction lost a race and changed nothing, so the whole
/// request may be run again (<see cref="Behaviors.TransactionBehavior{TRequest,TResponse}"/> does, a few times).
/// </summary>
public sealed class ConcurrentChangeException(string engine, Npgsql.PostgresException inner)
    : EngineException("Concurrent change", $"Engine '{engine}': {inner.MessageText}. Retry the request.", 409, inner)
{
    public static bool IsRetryable(Exception ex) =>
        ex is ConcurrentChangeException
        || ex is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.SerializationFailure or Npgsql.PostgresErrorCodes.DeadlockDetected };
}

/// <summary>
/// A request's changes reached some engines but not all: those in <see cref="Committed"/> kept theirs, <see cref="Failed"/>
/// could not commit, and those in <see cref="NotCommitted"/> were rolled back. Never retried (that would apply the
/// committed part twice); the client has to look before repeating anything.
/// </summary>
public sealed class PartialCommitException(IReadOnlyList<string> committed, string failed, IReadOnlyList<string> notCommitted, Exception inner)
    : EngineException(
        "Partly committed",
        $"Committed on {Names(committed)}; engine '{failed}' failed to commit ({inner.Message}); not committed: {(notCommitted.Count == 0 ? "none" : Names(notCommitted))}.",
        500,
        inner)
{
    public IReadOnlyList<string> Committed { get; } = committed;

    public string Failed { get; } = failed;

    public IReadOnlyList<string> NotCommitted { get; } = notCommitted;

    private static string Names(IEnumerable<string> engines) => string.Join(", ", engines.Select(e => $"'{e}'"));
}

/// <summary>A statement the engine rejected (development SQL console, filters on wrong types).</summary>
public sealed class SqlRejectedException(string message, Exception inner)
    : EngineException("Statement rejected", message, 400, inner);

/// <summary>An object whose catalogue entry (schema spec) does not resolve on the engine that would receive it.</summary>
public sealed class InvalidObjectSpecException(string objectId, string reason)
    : EngineException("Invalid object spec", $"Object {objectId} was refused: {reason}", 422);

/// <summary>A route named a schema that holds no user tables (system catalogue, the engine's own schemas).</summary>
public sealed class NotUserSchemaException(string schema)
    : EngineException("Not a user schema", $"Schema \"{schema}\" is a system or engine schema; only user tables are served.", 403);

public sealed class TransferStalledException(TimeSpan stallTimeout, Exception? inner = null)
    : EngineException("Transfer stalled", $"The transfer made no progress for {stallTimeout} (Limits:TransferStallTimeout) and was stopped.", 504, inner);
