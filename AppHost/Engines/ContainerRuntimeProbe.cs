using System.Diagnostics;

namespace AppHost.Engines;

/// <summary>
/// Answers "can this machine run containers?" before the model is built: a container resource
/// on a machine without one never turns healthy and everything waiting for it hangs.
/// </summary>
internal static class ContainerRuntimeProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static bool IsAvailable(string? configuredRuntime)
    {
        var candidates = string.IsNullOrWhiteSpace(configuredRuntime) ? ["docker", "podman"] : new[] { configuredRuntime };
        return candidates.Any(Answers);
    }

    private static bool Answers(string runtime)
    {
        var executable = ExecutableLocator.FindOnPath(runtime);
        if (executable is null)
        {
            return false;
        }

        // A docker client without a daemon is common: skip the slow round trip when no socket can answer.
        if (runtime == "docker" && Environment.GetEnvironmentVariable("DOCKER_HOST") is null && !File.Exists("/var/run/docker.sock")
            && !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS())
        {
            return false;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(executable, "info")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return false;
            }

            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
