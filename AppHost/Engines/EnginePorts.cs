using Microsoft.Extensions.Configuration;

namespace AppHost.Engines;

/// <summary>
/// The host port of an engine started by the AppHost. Fixed by default, so saved <c>psql</c> commands and client
/// settings keep working across restarts: <c>Engines:&lt;name&gt;:Port</c> chooses it; without it <c>local</c> gets
/// 15432, <c>remote</c> 15433 and any other engine a port derived from its name. Ephemeral runs (tests, which start
/// several topologies at once) and <c>Engines:FixedPorts=false</c> take a free port instead.
/// </summary>
public static class EnginePorts
{
    private const int First = 15432;

    public static int? For(IDistributedApplicationBuilder builder, string name)
    {
        if (int.TryParse(builder.Configuration[$"Engines:{name}:Port"], out var configured))
        {
            return configured;
        }

        if (EngineModeResolver.IsEphemeral(builder) || !builder.Configuration.GetValue("Engines:FixedPorts", true))
        {
            return null;
        }

        return name switch
        {
            "local" => First,
            "remote" => First + 1,
            _ => First + 2 + (int)(StableHash(name) % 60),
        };
    }

    /// <summary>FNV-1a: the same on every run (string.GetHashCode is randomised per process).</summary>
    private static uint StableHash(string text)
    {
        var hash = 2166136261;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return hash;
    }
}
