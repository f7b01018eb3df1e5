using System.Diagnostics;
using System.Globalization;

namespace Postgres.Launcher;

/// <summary>
/// Throw-away server folders under the temp folder: each names its owning process in <c>owner.pid</c>, so a later
/// run can sweep the folders (and stop the servers) of owners that died before they could clean up.
/// </summary>
public static class RunFolders
{
    public const string OwnerFile = "owner.pid";

    /// <summary>Where throw-away folders go: /tmp as root (traversable by the postgres user), else the user's temp folder.</summary>
    public static string TempRoot => PostgresUser.IsRoot ? "/tmp" : Path.GetTempPath();

    /// <summary>Creates <paramref name="folder"/> owned by this process (owner.pid written whole, then renamed into place, so a concurrent sweep never reads it half-written).</summary>
    public static void CreateOwned(string folder)
    {
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, OwnerFile + ".tmp");
        File.WriteAllText(temporary, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        File.Move(temporary, Path.Combine(folder, OwnerFile), overwrite: true);
    }

    /// <summary>
    /// Removes folders starting with <paramref name="prefix"/> whose owner is known and dead, stopping any server
    /// still running from them. Per prefix, so users (AppHost, tests, bench) never sweep each other's live servers;
    /// a folder without a readable owner.pid is being set up right now, or not ours to judge.
    /// </summary>
    public static void SweepDead(string prefix)
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
                    var ownerFile = Path.Combine(folder, OwnerFile);
                    if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var owner) || IsAlive(owner))
                    {
                        continue;
                    }

                    var stopped = false;
                    foreach (var postmaster in LiveServers(folder))
                    {
                        stopped |= PostgresUser.Signal(postmaster, 3); // SIGQUIT: immediate shutdown, the data is thrown away anyway
                    }

                    if (stopped)
                    {
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

    /// <summary>Postmasters still running from data folders under <paramref name="folder"/> (postmaster.pid stays behind when a server is killed, so the process is checked).</summary>
    public static IReadOnlyList<int> LiveServers(string folder)
    {
        var live = new List<int>();
        if (!Directory.Exists(folder))
        {
            return live;
        }

        foreach (var pidFile in Directory.EnumerateFiles(folder, "postmaster.pid", SearchOption.AllDirectories))
        {
            try
            {
                if (int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) && IsAlive(pid))
                {
                    live.Add(pid);
                }
            }
            catch (IOException)
            {
                // Removed while we read it: that server is gone.
            }
        }

        return live;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Best effort, a few attempts (a server shutting down may still be writing); the next sweep retries.</summary>
    public static void TryDelete(string folder)
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
}
