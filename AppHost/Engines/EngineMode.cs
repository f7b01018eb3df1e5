namespace AppHost.Engines;

/// <summary>How the AppHost runs an engine's PostgreSQL server.</summary>
public enum EngineMode
{
    /// <summary>Container when a container runtime answers, otherwise local binaries.</summary>
    Auto,
    /// <summary>Aspire's PostgreSQL container (<c>AddPostgres</c>).</summary>
    Container,
    /// <summary>PostgreSQL from this machine's binaries, as an executable resource.</summary>
    Local,
}
