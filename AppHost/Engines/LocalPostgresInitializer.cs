using System.Diagnostics;
using System.Text;

namespace AppHost.Engines;

/// <summary>
/// Prepares a local server's data folder before each start: <c>initdb</c> with a scram password on first start;
/// on later starts, re-applies the current password (so a changed secret cannot lock the AppHost out).
/// </summary>
internal static class LocalPostgresInitializer
{
    public static async Task PrepareAsync(LocalPostgresResource resource, CancellationToken cancellationToken)
    {
        var layout = resource.Layout;
        var password = await resource.PasswordParameter.GetValueAsync(cancellationToken)
            ?? throw new InvalidOperationException($"The password parameter of engine '{resource.Name}' has no value.");

        Directory.CreateDirectory(layout.SocketDirectory);
        Owner.GiveToPostgres(layout.SocketDirectory, layout.RunAsPostgresUser);

        if (File.Exists(Path.Combine(layout.DataDirectory, "PG_VERSION")))
        {
            await SetPasswordAsync(resource, password, cancellationToken);
            return;
        }

        Directory.CreateDirectory(layout.DataDirectory);
        Owner.GiveToPostgres(layout.DataDirectory, layout.RunAsPostgresUser);
        if (!OperatingSystem.IsWindows())
        {
            // PostgreSQL refuses a data folder that others can read.
            File.SetUnixFileMode(layout.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        // The password goes through a file readable only by the server's user, never on a command line.
        // Created 0600 from the start, so there is no moment in which others could open it.
        var passwordFile = Path.Combine(layout.SocketDirectory, ".pwfile");
        File.Delete(passwordFile); // a leftover of a crashed start; CreateNew refuses anything still there
        await PrivateFile.WriteAllTextAsync(passwordFile, password, cancellationToken);
        Owner.GiveToPostgres(passwordFile, layout.RunAsPostgresUser);
        try
        {
            await RunAsync(layout, "initdb",
                ["-D", layout.DataDirectory, "-U", LocalPostgresResource.SuperUser, "--pwfile", passwordFile,
                 "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                standardInput: null, cancellationToken);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private static Task SetPasswordAsync(LocalPostgresResource resource, string password, CancellationToken cancellationToken)
    {
        // Single-user mode reads commands from stdin; the password never reaches a command line or a log.
        var literal = "'" + password.Replace("'", "''") + "'";
        var statement = $"ALTER ROLE {LocalPostgresResource.SuperUser} PASSWORD {literal};\n";
        return RunAsync(resource.Layout, "postgres", ["--single", "-D", resource.Layout.DataDirectory, "postgres"],
            statement, cancellationToken);
    }

    private static async Task RunAsync(LocalPostgresLayout layout, string program, IReadOnlyList<string> arguments,
        string? standardInput, CancellationToken cancellationToken)
    {
        var (file, args) = LocalPostgresCommand.Build(layout, program, arguments);
        var startInfo = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = layout.SocketDirectory,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {program}.");
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
            throw new InvalidOperationException($"{program} failed with exit code {process.ExitCode}: {output}");
        }
    }
}

/// <summary>Builds the command line for a PostgreSQL program, through <c>setpriv</c> when running as root.</summary>
internal static class LocalPostgresCommand
{
    public const string SetPriv = "/usr/bin/setpriv";

    public static (string File, IReadOnlyList<string> Arguments) Build(LocalPostgresLayout layout, string program, IReadOnlyList<string> arguments)
    {
        var binary = Path.Combine(layout.BinDirectory, program);
        if (!layout.RunAsPostgresUser)
        {
            return (binary, arguments);
        }

        // setpriv execs in place, so the process Aspire watches is PostgreSQL itself.
        return (SetPriv, ["--reuid=postgres", "--regid=postgres", "--init-groups", binary, .. arguments]);
    }
}
