using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;

namespace AppHost.Engines;

/// <summary>Decides, once per AppHost, whether engines run in containers or from local binaries.</summary>
internal static class EngineModeResolver
{
    public const string NoServerMessage =
        "No way to run a PostgreSQL engine was found. Either start a container runtime (Docker or Podman) and set " +
        "Engines:Mode=container, or install PostgreSQL 15+ server binaries (Debian/Ubuntu: 'apt-get install postgresql'; " +
        "macOS: 'brew install postgresql'; or set Engines:BinDirectory to the folder holding initdb and postgres), " +
        "or give the engine an existing server with ConnectionStrings:<engine>.";

    // Probing a container runtime takes a process start: do it once per builder, not once per engine.
    private static readonly ConditionalWeakTable<IDistributedApplicationBuilder, StrongBox<EngineMode>> Resolved = [];

    public static EngineMode Resolve(IDistributedApplicationBuilder builder)
    {
        return Resolved.GetValue(builder, b => new StrongBox<EngineMode>(Decide(b.Configuration))).Value;
    }

    public static bool IsEphemeral(IDistributedApplicationBuilder builder) =>
        builder.Configuration.GetValue("Engines:Ephemeral", false);

    private static EngineMode Decide(IConfiguration configuration)
    {
        var configured = configuration["Engines:Mode"];
        var mode = string.IsNullOrWhiteSpace(configured)
            ? EngineMode.Auto
            : Enum.TryParse<EngineMode>(configured, ignoreCase: true, out var parsed)
                ? parsed
                : throw new DistributedApplicationException($"Engines:Mode '{configured}' is not one of auto, container, local.");

        if (mode != EngineMode.Auto)
        {
            return mode;
        }

        if (ContainerRuntimeProbe.IsAvailable(configuration["ASPIRE_CONTAINER_RUNTIME"]))
        {
            return EngineMode.Container;
        }

        return PostgresBinaries.Find(configuration["Engines:BinDirectory"]) is not null
            ? EngineMode.Local
            : throw new DistributedApplicationException(NoServerMessage);
    }
}
