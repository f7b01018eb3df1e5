using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Bench;

/// <summary>
/// A throw-away PostgreSQL server with durable default settings (fsync on, synchronous_commit on, full_page_writes
/// on): initdb into a fresh folder under /tmp, started on a free port, stopped and deleted at exit. As root, initdb
/// and postgres run as the <c>postgres</c> user through setpriv (they refuse root); setpriv execs in place.
/// </summary>
public sealed class PgServer : IAsyncDisposable
{
    private const string FolderPrefix = "sg-bench-";
    public const string Superuser = "postgres";

    private readonly Process _process;
    private readonly string _folder;
    private readonly StringBuilder _log = new();
    private int _stopped;

    private PgServer(string name, Process process, string folder, int port, string password, string bin)
    {
        Name = name;
        _process = process;
        _folder = folder;
        Port = port;
        Password = password;
        BinDirectory = bin;
    }

    public string Name { get; }

    public int Port { get; }

    public string Password { get; }

    public string BinDirectory { get; }

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Password = Password,
        Database = database,
        MaxPoolSize = 50,
        CommandTimeout = 0,
        Timeout = 30,
    }.ConnectionString;

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

    public static async Task<PgServer> StartAsync(string name, string? configuredBin)
    {
        SweepDeadRuns();
        var bin = FindBinaries(configuredBin);
        var folder = Path.Combine(IsRoot ? "/tmp" : Path.GetTempPath(), FolderPrefix + name + "-" + Guid.NewGuid().ToString("N")[..10]);
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "owner.pid"), Environment.ProcessId.ToString());
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var pwfile = Path.Combine(folder, "pwfile");
        await File.WriteAllTextAsync(pwfile, password + "\n");
        if (IsRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", folder]);
            await RunAsync("chmod", ["0700", folder]);
        }

        // --no-sync only skips initdb's own final fsync; the server itself runs with durable defaults.
        await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", Superuser, "--auth=scram-sha-256", $"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asPostgres: true);
        File.Delete(pwfile);

        var port = FreePort();
        var process = Start(Path.Combine(bin, "postgres"),
            ["-D", data, "-p", port.ToString(), "-k", folder, "-c", "listen_addresses=127.0.0.1"], asPostgres: true);
        var server = new PgServer(name, process, folder, port, password, bin);
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

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 200_000)
            {
                _log.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
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

    private void Stop()
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

    /// <summary>A detached shell that stops the server and deletes its folder once this process is gone.</summary>
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

    /// <summary>Removes folders of earlier bench runs whose process died without stopping its server.</summary>
    private static void SweepDeadRuns()
    {
        var root = IsRoot ? "/tmp" : Path.GetTempPath();
        foreach (var folder in Directory.GetDirectories(root, FolderPrefix + "*"))
        {
            try
            {
                // Only server folders (they carry owner.pid); anything else with the prefix is not ours to judge.
                var ownerFile = Path.Combine(folder, "owner.pid");
                if (!File.Exists(ownerFile) || (int.TryParse(File.ReadAllText(ownerFile), out var owner) && IsAlive(owner)))
                {
                    continue;
                }

                var pidFile = Path.Combine(folder, "data", "postmaster.pid");
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var postmaster) && IsAlive(postmaster))
                {
                    _ = kill(postmaster, 3);
                    Thread.Sleep(500);
                }

                TryDelete(folder);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not ours to remove.
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

    public static string FindBinaries(string? configured)
    {
        var candidates = new List<string?> { configured, Environment.GetEnvironmentVariable("PG_BIN") };
        candidates.AddRange(Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0).Select(d => Path.Combine(d, "bin"))
            : []);
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(Path.Combine(c, "initdb")) && File.Exists(Path.Combine(c, "postgres")))
            ?? throw new InvalidOperationException("PostgreSQL binaries (initdb, postgres) not found: install postgresql, pass --pg-bin or set PG_BIN.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Start(string file, IReadOnlyList<string> arguments, bool asPostgres)
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

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
    }

    public static async Task<string> RunAsync(string file, IReadOnlyList<string> arguments, bool asPostgres = false, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo { FileName = file, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = asPostgres ? Start(file, arguments, true) : Start(info, arguments, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed ({process.ExitCode}): {await output}{await error}");
        }

        return await output + await error;
    }

    private static Process Start(ProcessStartInfo info, IReadOnlyList<string> arguments, IDictionary<string, string>? environment)
    {
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc")]
    private static extern uint geteuid();
}
