using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

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

    private const string OwnerFile = "owner.pid";

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

    private static bool IsRoot => geteuid() == 0;

    private static string Root => IsRoot ? "/tmp" : Path.GetTempPath();

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
        SweepDeadRuns(options.FolderPrefix);
        var bin = FindBinaries(options.BinDirectory);
        var id = Guid.NewGuid().ToString("N")[..12];
        var folder = Path.Combine(Root, options.FolderPrefix + (options.Name is null ? id : $"{options.Name}-{id}"));
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(folder);
        // Written whole, then renamed into place, so a concurrent sweep never reads it half-written.
        await File.WriteAllTextAsync(Path.Combine(folder, OwnerFile + ".tmp"), Environment.ProcessId.ToString());
        File.Move(Path.Combine(folder, OwnerFile + ".tmp"), Path.Combine(folder, OwnerFile));
        var password = options.Password ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var pwfile = Path.Combine(folder, "pwfile");
        await File.WriteAllTextAsync(pwfile, password + "\n");
        if (IsRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", folder]);
            await RunAsync("chmod", ["0700", folder]);
        }

        // --no-sync only skips initdb's own final fsync; the server's durability follows options.Fast.
        await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", Superuser, "--auth=scram-sha-256", $"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asPostgres: true);
        File.Delete(pwfile);

        var port = options.Port ?? FreePort();
        List<string> arguments = ["-D", data, "-p", port.ToString(), "-k", folder, "-c", "listen_addresses=127.0.0.1"];
        IEnumerable<string> settings = options.Fast ? ["fsync=off", "synchronous_commit=off", "full_page_writes=off", .. options.Settings] : options.Settings;
        foreach (var setting in settings)
        {
            arguments.Add("-c");
            arguments.Add(setting);
        }

        var process = Start(Path.Combine(bin, "postgres"), arguments, asPostgres: true);
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
                _ = kill(_process.Id, 2); // SIGINT: fast shutdown
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

        TryDelete(_folder);
    }

    /// <summary>First of PG_BIN-style candidates holding initdb and postgres: the configured folder, PG_BIN, the newest /usr/lib/postgresql, PATH.</summary>
    public static string FindBinaries(string? configured)
    {
        var candidates = new List<string?> { configured, Environment.GetEnvironmentVariable("PG_BIN") };
        candidates.AddRange(Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0).Select(d => Path.Combine(d, "bin"))
            : []);
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(Path.Combine(c, "initdb")) && File.Exists(Path.Combine(c, "postgres")))
            ?? throw new InvalidOperationException("PostgreSQL binaries (initdb, postgres) not found: install postgresql, set PG_BIN or configure the binaries folder (bench: --pg-bin).");
    }

    /// <summary>Runs a program to completion (as the postgres user if asked and root) and returns its output; throws on a non-zero exit.</summary>
    public static async Task<string> RunAsync(string file, IReadOnlyList<string> arguments, bool asPostgres = false, IDictionary<string, string>? environment = null)
    {
        using var process = Start(file, arguments, asPostgres, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed ({process.ExitCode}): {await output}{await error}");
        }

        return await output + await error;
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

    /// <summary>
    /// Removes folders with this prefix whose owning process died without stopping its server (the watchdog can be
    /// killed too). Per prefix, so the bench and the tests never sweep each other's live servers.
    /// </summary>
    private static void SweepDeadRuns(string prefix)
    {
        foreach (var root in new[] { "/tmp", Path.GetTempPath() }.Distinct())
        {
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var folder in Directory.GetDirectories(root, prefix + "*"))
            {
                try
                {
                    // Only server folders whose owner is known and dead: a folder without a readable owner.pid is
                    // another server being set up right now (two servers start at once), or not ours to judge.
                    var ownerFile = Path.Combine(folder, OwnerFile);
                    if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var owner) || IsAlive(owner))
                    {
                        continue;
                    }

                    var pidFile = Path.Combine(folder, "data", "postmaster.pid");
                    if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var postmaster) && IsAlive(postmaster))
                    {
                        _ = kill(postmaster, 3); // SIGQUIT: immediate shutdown, the data is thrown away anyway
                        Thread.Sleep(500);
                    }

                    TryDelete(folder);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Someone else's folder: leave it.
                }
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            return !Process.GetProcessById(pid).HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string folder)
    {
        for (var attempt = 0; attempt < 5 && Directory.Exists(folder); attempt++)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(200);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Start(string file, IReadOnlyList<string> arguments, bool asPostgres, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (IsRoot && asPostgres)
        {
            info.FileName = "/usr/bin/setpriv";
            foreach (var argument in new[] { "--reuid=postgres", "--regid=postgres", "--init-groups", file })
            {
                info.ArgumentList.Add(argument);
            }
        }
        else
        {
            info.FileName = file;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc")]
    private static extern uint geteuid();
}
