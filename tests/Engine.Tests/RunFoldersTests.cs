using System.Diagnostics;
using Postgres.Launcher;

namespace Engine.Tests;

/// <summary>The launcher's one rule for throw-away folders: swept when their owner is dead, kept while it lives or is unknown.</summary>
public sealed class RunFoldersTests : IDisposable
{
    private readonly string _prefix = $"sg-sweep-test-{Guid.NewGuid():N}"[..24] + "-";
    private readonly List<string> _folders = [];

    [Fact]
    public void A_sweep_removes_folders_of_dead_owners_and_keeps_live_and_unowned_ones()
    {
        var dead = Folder("dead", DeadPid());
        var live = Folder("live", Environment.ProcessId);
        var unowned = Folder("unowned", null);

        RunFolders.SweepDead(_prefix);

        Assert.False(Directory.Exists(dead), "the dead owner's folder stayed");
        Assert.True(Directory.Exists(live), "the live owner's folder was swept");
        Assert.True(Directory.Exists(unowned), "a folder being set up (no owner.pid yet) was swept");
    }

    [Fact]
    public void A_folder_created_owned_names_this_process()
    {
        var folder = Path.Combine(RunFolders.TempRoot, _prefix + "mine");
        _folders.Add(folder);
        RunFolders.CreateOwned(folder);

        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            File.ReadAllText(Path.Combine(folder, RunFolders.OwnerFile)));
        RunFolders.SweepDead(_prefix);
        Assert.True(Directory.Exists(folder));
    }

    public void Dispose()
    {
        foreach (var folder in _folders)
        {
            RunFolders.TryDelete(folder);
        }
    }

    private string Folder(string name, int? owner)
    {
        var folder = Path.Combine(RunFolders.TempRoot, _prefix + name);
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        if (owner is { } pid)
        {
            File.WriteAllText(Path.Combine(folder, RunFolders.OwnerFile), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        _folders.Add(folder);
        return folder;
    }

    /// <summary>The PID of a process that has exited (PIDs are not reused this quickly).</summary>
    private static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
