using System.Diagnostics;

namespace Postgres.Launcher;

/// <summary>Finds the folder holding <c>initdb</c> and <c>postgres</c> on this machine.</summary>
public static class PostgresBinaries
{
    public const string NotFoundMessage =
        "PostgreSQL binaries (initdb, postgres) not found: install postgresql, set PG_BIN, or configure the binaries folder.";

    /// <summary>
    /// A configured folder is the only candidate (a wrong setting fails rather than silently using other binaries).
    /// Otherwise, in order: <c>PG_BIN</c>, <c>pg_config --bindir</c>, PATH, then the newest
    /// <c>/usr/lib/postgresql/&lt;version&gt;/bin</c> (Debian/Ubuntu keep the server binaries off PATH).
    /// </summary>
    public static string? Find(string? configuredDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configuredDirectory))
        {
            return HasServer(configuredDirectory) ? configuredDirectory : null;
        }

        return Candidates().FirstOrDefault(c => !string.IsNullOrEmpty(c) && HasServer(c));
    }

    /// <summary>As <see cref="Find"/>, but throws when there are none.</summary>
    public static string Require(string? configuredDirectory) =>
        Find(configuredDirectory) ?? throw new InvalidOperationException(NotFoundMessage);

    private static IEnumerable<string?> Candidates()
    {
        yield return Environment.GetEnvironmentVariable("PG_BIN");
        yield return PgConfigBinDir();
        var initdb = ExecutableLocator.FindOnPath("initdb");
        yield return initdb is null ? null : Path.GetDirectoryName(initdb);

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            foreach (var version in Directory.GetDirectories(debianRoot)
                         .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            {
                yield return Path.Combine(version, "bin");
            }
        }
    }

    private static bool HasServer(string directory) =>
        File.Exists(Path.Combine(directory, "postgres")) && File.Exists(Path.Combine(directory, "initdb"));

    private static string? PgConfigBinDir()
    {
        var pgConfig = ExecutableLocator.FindOnPath("pg_config");
        if (pgConfig is null)
        {
            return null;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(pgConfig, "--bindir")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
