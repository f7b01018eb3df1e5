using System.Runtime.InteropServices;

namespace Postgres.Launcher;

/// <summary>
/// PostgreSQL refuses to run as root: a root process runs its programs as the <c>postgres</c> user and gives it the
/// files they need.
/// </summary>
public static partial class PostgresUser
{
    public const string Name = "postgres";

    public static bool IsRoot => !OperatingSystem.IsWindows() && geteuid() == 0;

    /// <summary>Gives <paramref name="path"/> (not its contents) to the postgres user; nothing unless <paramref name="runAsPostgresUser"/>.</summary>
    public static void GiveTo(string path, bool runAsPostgresUser)
    {
        if (!runAsPostgresUser)
        {
            return;
        }

        var (uid, gid) = Ids.Value;
        if (chown(path, uid, gid) != 0)
        {
            throw new InvalidOperationException($"Could not give '{path}' to the postgres user (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>Sends a signal (2 SIGINT: fast shutdown, 3 SIGQUIT: immediate) to a process; false if it is gone.</summary>
    public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

    private static readonly Lazy<(uint Uid, uint Gid)> Ids = new(() =>
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length > 3 && fields[0] == Name)
            {
                return (uint.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture),
                    uint.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        throw new InvalidOperationException(
            "Running as root needs a 'postgres' system user to own the engine's data (install the 'postgresql' package, or run as a normal user).");
    });

    [LibraryImport("libc", SetLastError = true)]
    private static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
