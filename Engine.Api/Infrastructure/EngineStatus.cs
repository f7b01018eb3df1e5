using System.Collections.Concurrent;

namespace Engine.Api.Infrastructure;

/// <summary>Why each engine's last initialisation failed (absent once it succeeded), for <c>GET /api/engines</c>.</summary>
public sealed class EngineStatus
{
    private readonly ConcurrentDictionary<string, string> _initializationErrors = new(StringComparer.Ordinal);

    public void Initialized(string engine) => _initializationErrors.TryRemove(engine, out _);

    public void Failed(string engine, string reason) => _initializationErrors[engine] = reason;

    public string? InitializationError(string engine) => _initializationErrors.GetValueOrDefault(engine);
}
