using System.Text;

namespace Postgres.Launcher;

/// <summary>
/// Files that hold secrets: created new (never through an existing file or link someone planted) and readable by
/// the owner only from the first byte, not made private after being written.
/// </summary>
public static class PrivateFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> with mode 0600; fails if anything already exists there.</summary>
    public static FileStream Create(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        return new FileStream(path, options);
    }

    public static async Task WriteAllTextAsync(string path, string text, CancellationToken cancellationToken)
    {
        await using var stream = Create(path);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
    }
}
