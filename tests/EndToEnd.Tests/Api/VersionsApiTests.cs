using System.Net;
using System.Text.Json;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests.Api;

/// <summary>
/// Issue 18's story through the running topology: init → changes → commit twice → diff → push to remote → checkout the
/// first image on remote → its tables equal the first version → a commit there is pulled back.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class VersionsApiTests(TopologyFixture topology)
{
    private readonly string _schema = "ver_" + Guid.NewGuid().ToString("N")[..8];

    private string Repo(string engine) => $"/api/engines/{engine}/repositories/{_schema}";

    private Task<List<string>> ContentAsync(string engine) =>
        topology.RowsAsync(engine, $"SELECT 'fruits', f::text FROM {_schema}.fruits f UNION ALL SELECT 'notes', n::text FROM {_schema}.notes n ORDER BY 1, 2");

    [Fact]
    public async Task Init_commit_twice_diff_push_checkout_on_remote_and_pull_back()
    {
        await topology.ExecAsync("local",
            $"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.fruits (fruit_id int PRIMARY KEY, name text); INSERT INTO {_schema}.fruits VALUES (1, 'apple'), (2, 'orange');" +
            $"CREATE TABLE {_schema}.notes (note text); INSERT INTO {_schema}.notes VALUES ('a'), ('a')");
        var init = await topology.Api.PostAsync("/api/engines/local/repositories", new InitRepositoryRequest(_schema, Message: "initial"));
        Assert.Equal(HttpStatusCode.Created, init.StatusCode);
        Assert.Equal(["fruits", "notes"], (await ApiAssert.OkAsync<RepositoryInfo>(init)).Tables);

        await topology.ExecAsync("local", $"INSERT INTO {_schema}.fruits VALUES (3, 'mayonnaise'); UPDATE {_schema}.fruits SET name = 'banana' WHERE fruit_id = 2");
        var status = await topology.GetJsonAsync<RepositoryStatus>($"{Repo("local")}/status");
        Assert.Equal(new TableStatus("fruits", "modified", 1, 0, 1), status.Tables.Single(t => t.Table == "fruits"));
        var first = (await ApiAssert.OkAsync<CommitImageResult>(await topology.Api.PostAsync($"{Repo("local")}/commit", new CommitImageRequest("first", "story")))).Image;
        var firstVersion = await ContentAsync("local");

        await topology.ExecAsync("local", $"DELETE FROM {_schema}.fruits WHERE fruit_id = 1; UPDATE {_schema}.fruits SET name = 'kiwi' WHERE fruit_id = 3; INSERT INTO {_schema}.notes VALUES ('b')");
        var second = (await ApiAssert.OkAsync<CommitImageResult>(await topology.Api.PostAsync($"{Repo("local")}/commit", new CommitImageRequest("second", "story")))).Image;
        Assert.Equal(first.ImageHash, second.ParentId);
        var log = await topology.GetJsonAsync<List<ImageInfo>>($"{Repo("local")}/log");
        Assert.Equal(["second", "first", "initial"], log.Select(i => i.Comment));

        var diff = await topology.GetJsonAsync<VersionDiff>($"{Repo("local")}/diff?from={first.ImageHash}&to={second.ImageHash}");
        Assert.Equal(new TableDiff("fruits", "modified", 0, 1, 1, false), diff.Tables.Single(t => t.Table == "fruits"));
        Assert.Equal(new TableDiff("notes", "modified", 1, 0, 0, false), diff.Tables.Single(t => t.Table == "notes"));
        var rows = await topology.GetJsonAsync<ChangePage>($"{Repo("local")}/diff/tables/fruits?from={first.ImageHash[..8]}&to=HEAD");
        Assert.Equal(["-1 apple→", "+3 mayonnaise→kiwi"], rows.Entries.Select(Describe));

        var pushId = Guid.NewGuid();
        var push = await ApiAssert.OkAsync<VersionTransferResult>(await topology.Api.PostAsync($"{Repo("local")}/push?transferId={pushId}", new VersionTransferRequest("remote")));
        Assert.Equal(3, push.Images.Count);
        var progress = await topology.GetJsonAsync<JsonElement>($"/api/transfers/{pushId}");
        Assert.Equal("push", progress.GetProperty("direction").GetString());
        Assert.True(progress.GetProperty("finished").GetBoolean());
        Assert.Equal(push.Objects.Transferred.Count + push.Objects.Skipped.Count, progress.GetProperty("progress").GetProperty("objectsDone").GetInt32());

        var checkout = await ApiAssert.OkAsync<CheckoutResult>(await topology.Api.PostAsync($"{Repo("remote")}/checkout", new CheckoutRequest(first.ImageHash)));
        Assert.Equal(["fruits", "notes"], checkout.CreatedTables);
        Assert.Equal(firstVersion, await ContentAsync("remote"));

        // A commit on the remote, on top of the first image, comes back with pull (and is checked out here).
        await topology.ExecAsync("remote", $"INSERT INTO {_schema}.fruits VALUES (4, 'lime')");
        var onRemote = (await ApiAssert.OkAsync<CommitImageResult>(await topology.Api.PostAsync($"{Repo("remote")}/commit", new CommitImageRequest("on remote")))).Image;
        Assert.Equal(first.ImageHash, onRemote.ParentId);
        var pull = await ApiAssert.OkAsync<VersionTransferResult>(await topology.Api.PostAsync($"{Repo("local")}/pull", new VersionTransferRequest("remote", Checkout: true)));
        Assert.Equal([onRemote.ImageHash], pull.Images);
        Assert.Equal(onRemote.ImageHash, pull.Checkout!.Image.ImageHash);
        Assert.Equal(await ContentAsync("remote"), await ContentAsync("local"));

        // No merge: a local commit the remote lacks makes the next pull a 409 that says so.
        await topology.ExecAsync("local", $"INSERT INTO {_schema}.fruits VALUES (5, 'fig')");
        await ApiAssert.OkAsync<CommitImageResult>(await topology.Api.PostAsync($"{Repo("local")}/commit", new CommitImageRequest("local only")));
        var refused = await ApiAssert.ProblemAsync(await topology.Api.PostAsync($"{Repo("local")}/pull", new VersionTransferRequest("remote")), HttpStatusCode.Conflict);
        Assert.Equal("Newer local commits", refused.Title);
    }

    private static string Describe(ChangeEntry entry) =>
        $"{(entry.Upserted ? "+" : "-")}{entry.PrimaryKey.GetProperty("fruit_id").GetInt32()} " +
        $"{(entry.OldRow is { } old ? old.GetProperty("name").GetString() : "")}→{(entry.NewRow is { } row ? row.GetProperty("name").GetString() : "")}";
}
