using System.Runtime.InteropServices;

namespace AppHost.Engines;

/// <summary>File ownership helpers for running PostgreSQL as the <c>postgres</c> user when the AppHost is root.</summary>
internal static partial class Owner
{
    public static bool IsRoot => !OperatingSystem.IsWindows() && geteuid() == 0;

    public static void GiveToPostgres(string path, bool runAsPostgresUser)
    {
        if (!runAsPostgresUser)
        {
            return;
        }

        var (uid, gid) = PostgresUser.Value;
        if (chown(path, uid, gid) != 0)
        {
            throw new InvalidOperationException($"Could not give '{path}' to the postgres user (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    private static readonly Lazy<(uint Uid, uint Gid)> PostgresUser = new(() =>
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length > 3 && fields[0] == "postgres")
            {
                return (uint.Parse(fields[2]), uint.Parse(fields[3]));
            }
        }

        throw new InvalidOperationException(
            "Running as root needs a 'postgres' system user to own the engine's data (install the 'postgresql' package, or run as a normal user).");
    });

    [LibraryImport("libc", SetLastError = true)]
    private static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);
}
