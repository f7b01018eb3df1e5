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

/// <summary><c>GET /api/capabilities</c>: what this API offers, so a client shows only what works.</summary>
/// <param name="SqlConsole">Whether <c>POST …/sql</c> runs statements (off unless <c>Engine:SqlConsole:Enabled</c>).</param>
/// <param name="SqlConsoleSetting">The configuration key that turns the console on.</param>
public sealed record ApiCapabilities(bool SqlConsole, string SqlConsoleSetting, IReadOnlyList<EngineVersion> Engines);

/// <summary>An engine's PostgreSQL version; null when the engine cannot be reached right now.</summary>
public sealed record EngineVersion(string Name, string? ServerVersion);
