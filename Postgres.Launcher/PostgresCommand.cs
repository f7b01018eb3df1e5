using System.Diagnostics;
using System.Text;

namespace Postgres.Launcher;

/// <summary>Runs PostgreSQL programs, through <c>setpriv</c> as the postgres user when asked (i.e. when root).</summary>
public static class PostgresCommand
{
    public const string SetPriv = "/usr/bin/setpriv";

    /// <summary>
    /// The command line for <paramref name="file"/>; as the postgres user, setpriv execs in place, so the process a
    /// caller watches is the program itself (for <c>postgres</c>, the postmaster).
    /// </summary>
    public static (string File, IReadOnlyList<string> Arguments) Build(string file, IReadOnlyList<string> arguments, bool runAsPostgresUser) =>
        runAsPostgresUser
            ? (SetPriv, ["--reuid=postgres", "--regid=postgres", "--init-groups", file, .. arguments])
            : (file, arguments);

    /// <summary>Starts a program with its output redirected (the caller reads it).</summary>
    public static Process Start(string file, IReadOnlyList<string> arguments, bool runAsPostgresUser,
        string? workingDirectory = null, bool redirectInput = false, IDictionary<string, string>? environment = null)
    {
        var (program, args) = Build(file, arguments, runAsPostgresUser);
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
    }

    /// <summary>
    /// Runs a program to completion and returns its output; throws with the output on a non-zero exit.
    /// <paramref name="standardInput"/> is written to the program (a secret there never reaches a command line).
    /// </summary>
    public static async Task<string> RunAsync(string file, IReadOnlyList<string> arguments, bool runAsPostgresUser = false,
        string? standardInput = null, string? workingDirectory = null, IDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default)
    {
        using var process = Start(file, arguments, runAsPostgresUser, workingDirectory, standardInput is not null, environment);
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed with exit code {process.ExitCode}: {output}");
        }

        return output;
    }

    /// <summary>
    /// initdb into <paramref name="dataDirectory"/> with a scram-protected superuser whose password is read from
    /// <paramref name="passwordFile"/> (never a command line); <c>--no-sync</c> only skips initdb's own final fsync.
    /// </summary>
    public static Task InitDbAsync(string binDirectory, string dataDirectory, string superuser, string passwordFile,
        bool runAsPostgresUser, string? workingDirectory = null, CancellationToken cancellationToken = default) =>
        RunAsync(Path.Combine(binDirectory, "initdb"),
            ["-D", dataDirectory, "-U", superuser, "--pwfile", passwordFile, "--auth=scram-sha-256", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            runAsPostgresUser, workingDirectory: workingDirectory, cancellationToken: cancellationToken);
}
