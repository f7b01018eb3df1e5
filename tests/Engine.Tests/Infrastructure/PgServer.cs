using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Engine.Tests.Infrastructure;

/// <summary>
/// One throw-away PostgreSQL server for the whole test run: initdb into a fresh temporary folder (scram password),
/// started on a free port, stopped and deleted when the test process exits. As root, initdb and postgres run as the
/// <c>postgres</c> user through setpriv (they refuse root); setpriv execs in place, so the PID is the postmaster's.
/// </summary>
public sealed class PgServer
{
    private const string FolderPrefix = "sg-engine-tests-";
    private const string Superuser = "postgres";

    private static readonly Lazy<Task<PgServer>> Shared = new(StartAsync);

    private readonly Process _process;
    private readonly string _folder;
    private readonly StringBuilder _log = new();
    private int _stopped;

    private PgServer(Process process, string folder, int port, string password)
    {
        _process = process;
        _folder = folder;
        Port = port;
        Password = password;
    }

    /// <summary>The server of this test run, started on first use.</summary>
    public static Task<PgServer> InstanceAsync() => Shared.Value;

    public int Port { get; }

    public string Password { get; }

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Password = Password,
        Database = database,
        MaxPoolSize = 40,
    }.ConnectionString;

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

    private static bool IsRoot => Environment.UserName == "root" || geteuid() == 0;

    private static async Task<PgServer> StartAsync()
    {
        SweepDeadRuns();
        var bin = FindBinaries();
        var folder = Path.Combine(IsRoot ? "/tmp" : Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N")[..12]);
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "owner.pid"), Environment.ProcessId.ToString());
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var pwfile = Path.Combine(folder, "pwfile");
        await File.WriteAllTextAsync(pwfile, password + "\n");
        if (IsRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", folder]);
        }

        await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", Superuser, "--auth=scram-sha-256", $"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asPostgres: true);
        File.Delete(pwfile);

        var port = FreePort();
        var process = Start(Path.Combine(bin, "postgres"),
        [
            "-D", data, "-p", port.ToString(), "-k", folder, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]);
        var server = new PgServer(process, folder, port, password);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        StartWatchdog(process.Id, folder);

        await server.WaitUntilReadyAsync();
        return server;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            // Bounded: a chatty server must not grow the test host's memory.
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

    /// <summary>Stops the run's server if it was started (idempotent).</summary>
    public static void StopIfStarted()
    {
        if (Shared.IsValueCreated && Shared.Value.IsCompletedSuccessfully)
        {
            Shared.Value.Result.Stop();
        }
    }

    /// <summary>Fast shutdown (SIGINT), then the folder goes.</summary>
    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }


        try
        {
            if (!_process.HasExited)
            {
                _ = kill(_process.Id, 2);
                if (!_process.WaitForExit(10_000))
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

    /// <summary>
    /// A detached shell that outlives the test host: once this process is gone (ended or killed), it stops the
    /// server if still running and deletes the folder. The test host may be ended before in-process clean-up finishes.
    /// </summary>
    private static void StartWatchdog(int postmaster, string folder)
    {
        var script =
            $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 0.5; done; " +
            $"kill -INT {postmaster} 2>/dev/null; " +
            $"for i in $(seq 50); do kill -0 {postmaster} 2>/dev/null || break; sleep 0.2; done; " +
            $"rm -rf '{folder}'";
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script + " </dev/null >/dev/null 2>&1");
        Process.Start(info)?.Dispose();
    }

    /// <summary>Removes folders of earlier runs whose test process died without stopping its server.</summary>
    private static void SweepDeadRuns()
    {
        foreach (var root in new[] { "/tmp", Path.GetTempPath() }.Distinct())
        {
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var folder in Directory.GetDirectories(root, FolderPrefix + "*"))
            {
                try
                {
                    var ownerFile = Path.Combine(folder, "owner.pid");
                    if (File.Exists(ownerFile) && int.TryParse(File.ReadAllText(ownerFile), out var owner) && IsAlive(owner))
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

    private static string FindBinaries()
    {
        var configured = Environment.GetEnvironmentVariable("PG_BIN");
        var candidates = new List<string?> { configured };
        candidates.AddRange(Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0).Select(d => Path.Combine(d, "bin"))
            : []);
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(Path.Combine(c, "initdb")) && File.Exists(Path.Combine(c, "postgres")))
            ?? throw new InvalidOperationException("PostgreSQL binaries (initdb, postgres) not found: install postgresql or set PG_BIN.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Start(string file, IReadOnlyList<string> arguments, bool asPostgres = true)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
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

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, bool asPostgres = false)
    {
        using var process = Start(file, arguments, asPostgres);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed ({process.ExitCode}): {await output}{await error}");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc")]
    private static extern uint geteuid();
}
