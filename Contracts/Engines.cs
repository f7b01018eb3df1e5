namespace SplitgraphAspire.Contracts;

/// <summary>One engine as <c>GET /api/engines</c> reports it.</summary>
/// <param name="Error">Why the engine is unhealthy; null when healthy.</param>
public sealed record EngineInfo(
    string Name,
    bool Healthy,
    string? ServerVersion,
    string? Database,
    int TrackedTables,
    long PendingChanges,
    int ObjectCount,
    long ObjectBytes,
    string? Error);
