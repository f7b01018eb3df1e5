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
        PostgresUser.GiveTo(layout.SocketDirectory, layout.RunAsPostgresUser);

        if (File.Exists(Path.Combine(layout.DataDirectory, "PG_VERSION")))
        {
            await SetPasswordAsync(resource, password, cancellationToken);
            return;
        }

        Directory.CreateDirectory(layout.DataDirectory);
        PostgresUser.GiveTo(layout.DataDirectory, layout.RunAsPostgresUser);
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
        PostgresUser.GiveTo(passwordFile, layout.RunAsPostgresUser);
        try
        {
            await PostgresCommand.InitDbAsync(layout.BinDirectory, layout.DataDirectory, LocalPostgresResource.SuperUser,
                passwordFile, layout.RunAsPostgresUser, layout.SocketDirectory, cancellationToken);
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
        var layout = resource.Layout;
        return PostgresCommand.RunAsync(Path.Combine(layout.BinDirectory, "postgres"), ["--single", "-D", layout.DataDirectory, "postgres"],
            layout.RunAsPostgresUser, statement, layout.SocketDirectory, cancellationToken: cancellationToken);
    }
}
