using System.Text;
using SplitgraphAspire.Contracts;

namespace EndToEnd.Tests.Api;

/// <summary>
/// A download goes through postgres_fdw, whose user mapping is stored in the receiving engine: the remote's own
/// password must never be written there (catalogue heap, WAL), since those reach backups and replicas.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class RemotePasswordTests(TopologyFixture topology)
{
    [Fact]
    public async Task A_download_never_writes_the_remote_password_into_the_receiving_engine()
    {
        var schema = "pw_" + Guid.NewGuid().ToString("N")[..8];
        await topology.ExecAsync("local", $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (id int PRIMARY KEY, v text); INSERT INTO {schema}.t VALUES (1, 'a');");
        await ApiAssert.OkAsync<List<TableRef>>(await topology.Api.PostAsync("/api/engines/local/tracked-tables", new TablesRequest([new TableRef(schema, "t")])));
        await topology.ExecAsync("local", $"INSERT INTO {schema}.t VALUES (2, 'b')");
        var id = (await ApiAssert.OkAsync<CommitResult>(await topology.Api.PostAsync($"/api/engines/local/schemas/{schema}/tables/t/commit", new { }))).ObjectId!;
        await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/upload", new TransferRequest([id], "remote")));
        await ApiAssert.OkAsync<DeleteObjectsResult>(await topology.Api.PostAsync("/api/engines/local/objects/delete", new ObjectIdsRequest([id])));

        var download = await ApiAssert.OkAsync<TransferResult>(await topology.Api.PostAsync("/api/engines/local/objects/download", new TransferRequest([id], "remote")));
        Assert.Equal([id], download.Transferred);

        // Everything the local server has written: WAL and, after a checkpoint, the catalogue's heap files.
        await topology.ExecAsync("local", "CHECKPOINT");
        var password = new Npgsql.NpgsqlConnectionStringBuilder(await topology.App.GetConnectionStringAsync("remote")).Password;
        Assert.False(string.IsNullOrEmpty(password));
        var needle = Encoding.UTF8.GetBytes(password!);
        var dataDirectory = Path.Combine(topology.DataRoot, "local", "data");
        Assert.True(File.Exists(Path.Combine(dataDirectory, "PG_VERSION")), $"no local data folder at {dataDirectory}");
        var holding = Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories)
            .Where(file => Contains(file, needle))
            .Select(file => Path.GetRelativePath(dataDirectory, file))
            .ToList();
        Assert.True(holding.Count == 0, $"the remote's password is in the local engine's files: {string.Join(", ", holding)}");

        // The per-download role on the remote is gone again.
        Assert.Empty(await topology.RowsAsync("remote", "SELECT rolname FROM pg_roles WHERE rolname LIKE 'sg\\_xfer\\_%'"));
    }

    private static bool Contains(string file, byte[] needle)
    {
        try
        {
            return File.ReadAllBytes(file).AsSpan().IndexOf(needle) >= 0;
        }
        catch (IOException)
        {
            return false; // removed while we looked (a recycled WAL segment)
        }
    }
}
