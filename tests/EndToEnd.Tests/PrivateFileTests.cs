using Postgres.Launcher;

namespace EndToEnd.Tests;

/// <summary>The initdb password file (local-binaries mode) is private from its creation, not chmod-ed afterwards.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrivateFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sga-private-").FullName;

    [Fact]
    public void A_secret_file_is_owner_only_before_anything_is_written_to_it()
    {
        var path = Path.Combine(_folder, ".pwfile");
        using (var stream = PrivateFile.Create(path))
        {
            // The file exists and is still empty: this is the moment a chmod-afterwards file is world-readable.
            Assert.Equal(0, stream.Length);
            Assert.Equal(PrivateFile.OwnerOnly, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public async Task Writing_a_secret_keeps_mode_0600_and_the_content()
    {
        var path = Path.Combine(_folder, ".pwfile");
        await PrivateFile.WriteAllTextAsync(path, "s3cret", CancellationToken.None);

        Assert.Equal(PrivateFile.OwnerOnly, File.GetUnixFileMode(path));
        Assert.Equal("s3cret", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task A_planted_file_or_link_is_never_written_through()
    {
        var target = Path.Combine(_folder, "elsewhere");
        await File.WriteAllTextAsync(target, "untouched");
        var link = Path.Combine(_folder, ".pwfile");
        File.CreateSymbolicLink(link, target);

        await Assert.ThrowsAsync<IOException>(() => PrivateFile.WriteAllTextAsync(link, "s3cret", CancellationToken.None));
        Assert.Equal("untouched", await File.ReadAllTextAsync(target));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
