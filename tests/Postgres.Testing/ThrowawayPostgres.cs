using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Postgres.Launcher;

namespace Postgres.Testing;

/// <summary>
/// A throw-away PostgreSQL server from local binaries: initdb into a fresh folder under the temp folder (scram
/// password), started on a free port, stopped and deleted on <see cref="Stop"/>, at process exit, or by a watchdog if
/// the process is killed. As root, initdb and postgres run as the <c>postgres</c> user through setpriv (they refuse
/// root); setpriv execs in place, so the PID is the postmaster's. Shared by the engine tests and the bench so both
/// start, watch and clean up servers the same way.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    public const string Superuser = "postgres";

    private readonly Process _process;
    private readonly string _folder;
    private readonly Action<NpgsqlConnectionStringBuilder>? _configureConnection;
    private readonly StringBuilder _log = new();
    private int _stopped;

    private ThrowawayPostgres(ThrowawayPostgresOptions options, Process process, string folder, int port, string password, string bin)
    {
        Name = options.Name;
        _configureConnection = options.ConfigureConnection;
        _process = process;
        _folder = folder;
        Port = port;
        Password = password;
        BinDirectory = bin;
    }

    public string? Name { get; }

    public int Port { get; }

    public string Password { get; }

    /// <summary>Where initdb and postgres were found (neighbouring tools such as pgbench live there too).</summary>
    public string BinDirectory { get; }

    /// <summary>Server log so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public string ConnectionString(string database)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = Superuser,
            Password = Password,
            Database = database,
        };
        _configureConnection?.Invoke(builder);
        return builder.ConnectionString;
    }

    /// <summary>Sweeps dead runs of the same prefix, then starts a server and waits until it accepts connections.</summary>
    public static async Task<ThrowawayPostgres> StartAsync(ThrowawayPostgresOptions options)
    {
        RunFolders.SweepDead(options.FolderPrefix);
        var bin = PostgresBinaries.Find(options.BinDirectory)
            ?? throw new InvalidOperationException(PostgresBinaries.NotFoundMessage + " (bench: --pg-bin)");
        var id = Guid.NewGuid().ToString("N")[..12];
        var folder = Path.Combine(RunFolders.TempRoot, options.FolderPrefix + (options.Name is null ? id : $"{options.Name}-{id}"));
        var data = Path.Combine(folder, "data");
        RunFolders.CreateOwned(folder);
        var password = options.Password ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var pwfile = Path.Combine(folder, "pwfile");
        await PrivateFile.WriteAllTextAsync(pwfile, password, CancellationToken.None);
        var asPostgres = PostgresUser.IsRoot;
        PostgresUser.GiveTo(folder, asPostgres);
        PostgresUser.GiveTo(pwfile, asPostgres);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        // The server's durability follows options.Fast.
        await PostgresCommand.InitDbAsync(bin, data, Superuser, pwfile, asPostgres);
        File.Delete(pwfile);

        var port = options.Port ?? FreePort();
        List<string> arguments = ["-D", data, "-p", port.ToString(), "-k", folder, "-c", "listen_addresses=127.0.0.1"];
        IEnumerable<string> settings = options.Fast ? ["fsync=off", "synchronous_commit=off", "full_page_writes=off", .. options.Settings] : options.Settings;
        foreach (var setting in settings)
        {
            arguments.Add("-c");
            arguments.Add(setting);
        }

        var process = PostgresCommand.Start(Path.Combine(bin, "postgres"), arguments, asPostgres);
        var server = new ThrowawayPostgres(options, process, folder, port, password, bin);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        StartWatchdog(process.Id, folder);
        await server.WaitUntilReadyAsync();
        return server;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    /// <summary>Fast shutdown (SIGINT), then the folder goes. Idempotent, so exit handlers may call it again.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            if (!_process.HasExited)
            {
                _ = PostgresUser.Signal(_process.Id, 2); // SIGINT: fast shutdown
                if (!_process.WaitForExit(15_000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5_000);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        RunFolders.TryDelete(_folder);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            // Bounded: a chatty server must not grow the host's memory.
            if (_log.Length < 200_000)
            {
                _log.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        // Bounds a broken start only: a busy machine can take long to start a server.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with code {_process.ExitCode}:\n{Log}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false;Timeout=2");
                await connection.OpenAsync();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// A detached shell that outlives this process: once it is gone (ended or killed, possibly before in-process
    /// clean-up finished), it stops the server if still running and deletes the folder.
    /// </summary>
    private static void StartWatchdog(int postmaster, string folder)
    {
        var script =
            $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 0.5; done; " +
            $"kill -INT {postmaster} 2>/dev/null; " +
            $"for i in $(seq 75); do kill -0 {postmaster} 2>/dev/null || break; sleep 0.2; done; " +
            $"rm -rf '{folder}'";
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script + " </dev/null >/dev/null 2>&1");
        Process.Start(info)?.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
