using System.Net.Http.Json;
using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EndToEnd.Tests;

/// <summary>
/// Starts the real AppHost once for every test in the "topology" collection: two throw-away engines from local
/// PostgreSQL binaries (always, even where a container runtime answers), Engine.Api and the Dashboard.
/// </summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The topology has not started.");

    public HttpClient Api { get; private set; } = default!;

    /// <summary>The key the AppHost gives the API and the Dashboard in this run.</summary>
    public static string ApiKey { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    /// <summary>The Dashboard's login token in this run (the AppHost's <c>dashboard-token</c> parameter).</summary>
    public static string DashboardToken { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    /// <summary>The folder the AppHost keeps its throw-away engines in.</summary>
    public string DataRoot { get; } = Path.Combine(Path.GetTempPath(), $"sga-{Environment.ProcessId}-e2e{Guid.NewGuid():N}"[..28]);

    public async Task InitializeAsync()
    {
        _app = await StartAsync(DataRoot);
        Api = _app.CreateHttpClient("engine-api");
        Api.Timeout = TimeSpan.FromMinutes(5);
        Api.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
            await _app.DisposeAsync();
        }
    }

    /// <summary>Builds and starts the AppHost with throw-away engines under <paramref name="dataRoot"/>.</summary>
    public static async Task<DistributedApplication> StartAsync(string dataRoot, params string[] extraArgs)
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            // Pinned to local binaries: a machine where `docker info` answers must not switch these tests to containers.
            ["--Engines:Mode=local", "--Engines:Ephemeral=true", $"--Engines:DataRoot={dataRoot}", "--Engine:SqlConsole:Enabled=true",
             $"--Parameters:api-key={ApiKey}", $"--Parameters:dashboard-token={DashboardToken}", .. extraArgs], cts.Token);
        builder.Services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddFilter("Aspire.Hosting.Dcp", LogLevel.Error);
            // Engines report unhealthy until they accept connections: expected noise while the topology starts.
            logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        });
        var app = await builder.BuildAsync(cts.Token).WaitAsync(StartTimeout, cts.Token);
        await app.StartAsync(cts.Token).WaitAsync(StartTimeout, cts.Token);
        return app;
    }

    /// <summary>A direct connection to an engine, for setting up and checking data behind the API's back.</summary>
    public async Task<NpgsqlConnection> ConnectAsync(string engine)
    {
        var connectionString = await App.GetConnectionStringAsync(engine)
            ?? throw new InvalidOperationException($"No connection string for {engine}.");
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs SQL on an engine directly.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Test helper: runs statement text that its calling test wrote (fixed SQL with names the test generated); no outside input reaches it.")]
    public async Task ExecAsync(string engine, string sql)
    {
        await using var connection = await ConnectAsync(engine);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Reads rows of a query as text, one string per row, in the query's order.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Test helper: runs statement text that its calling test wrote (fixed SQL with names the test generated); no outside input reaches it.")]
    public async Task<List<string>> RowsAsync(string engine, string sql)
    {
        await using var connection = await ConnectAsync(engine);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    public async Task<T> GetJsonAsync<T>(string path) =>
        (await Api.GetFromJsonAsync<T>(path))!;
}

[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<TopologyFixture>
{
    public const string Name = "topology";
}
