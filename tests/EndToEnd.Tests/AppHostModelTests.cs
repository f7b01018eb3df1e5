using Aspire.Hosting;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;

namespace EndToEnd.Tests;

/// <summary>How the AppHost chooses a mode for each engine, checked on the model (nothing is started).</summary>
public sealed class AppHostModelTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task An_engine_with_a_connection_string_is_external_and_nothing_is_started_for_it()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Engines:Ephemeral=true", "--ConnectionStrings:remote=Host=db.example.com;Port=6543;Username=u;Password=p;Database=splitgraph",
             "--Engines:remote:FdwHost=10.0.0.7", "--Engines:remote:FdwPort=5433"]).WaitAsync(Timeout);

        var remote = Assert.Single(builder.Resources, r => r.Name == "remote");
        Assert.IsNotType<ExecutableResource>(remote, exactMatch: false);
        Assert.IsAssignableFrom<IResourceWithConnectionString>(remote);
        var local = Assert.Single(builder.Resources, r => r.Name == "local");
        Assert.IsAssignableFrom<ExecutableResource>(local);

        // The API is given both engines and the address other engines use to reach the external one.
        var api = (IResourceWithEnvironment)Assert.Single(builder.Resources, r => r.Name == "engine-api");
#pragma warning disable CS0618 // The replacement (ExecutionConfigurationBuilder) needs a running app; this reads the model only.
        var environment = await api.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618
        Assert.Equal("10.0.0.7", environment["Engines__remote__FdwHost"]);
        Assert.Equal("5433", environment["Engines__remote__FdwPort"]);
        Assert.True(environment.ContainsKey("ConnectionStrings__remote"));
        Assert.True(environment.ContainsKey("ConnectionStrings__local"));
    }

    [Fact]
    public async Task No_way_to_run_an_engine_fails_at_once_with_a_message_that_says_how_to_get_one()
    {
        var error = await Assert.ThrowsAnyAsync<DistributedApplicationException>(async () =>
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
                ["--Engines:Mode=local", "--Engines:BinDirectory=/nonexistent/postgres/bin"]).WaitAsync(Timeout);
            await using var app = await builder.BuildAsync().WaitAsync(Timeout);
        });

        var message = error.ToString();
        Assert.Contains("apt-get install postgresql", message);
        Assert.Contains("Engines:BinDirectory", message);
        Assert.Contains("ConnectionStrings:<engine>", message);
    }

    [Fact]
    public void No_launch_profile_opens_the_Aspire_dashboard_to_anonymous_visitors()
    {
        // The Aspire dashboard shows every resource's environment (connection strings with passwords, the API key):
        // its browser-token login stays on unless someone opts out on purpose (README, Security).
        var path = Path.Combine(Projects.AppHost.ProjectPath, "Properties", "launchSettings.json");
        using var settings = JsonDocument.Parse(File.ReadAllText(path));

        var profiles = settings.RootElement.GetProperty("profiles").EnumerateObject().ToList();
        Assert.NotEmpty(profiles);
        foreach (var profile in profiles)
        {
            var anonymous = profile.Value.TryGetProperty("environmentVariables", out var variables)
                && variables.TryGetProperty("ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS", out var value)
                && string.Equals(value.GetString(), "true", StringComparison.OrdinalIgnoreCase);
            Assert.False(anonymous, $"Launch profile '{profile.Name}' turns the Aspire dashboard's login off.");
        }
    }

    [Theory]
    [InlineData(new string[0], 15432, 15433)]
    [InlineData(new[] { "--Engines:local:Port=16001", "--Engines:remote:Port=16002" }, 16001, 16002)]
    [InlineData(new[] { "--Engines:FixedPorts=false" }, null, null)]
    [InlineData(new[] { "--Engines:Ephemeral=true" }, null, null)]
    public async Task Engine_ports_are_fixed_by_default_configurable_and_free_for_throw_away_runs(string[] settings, int? localPort, int? remotePort)
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), "sg-model-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Engines:Mode=local", $"--Engines:DataRoot={dataRoot}", .. settings]).WaitAsync(Timeout);

        foreach (var (name, port) in new[] { ("local", localPort), ("remote", remotePort) })
        {
            var endpoint = Assert.Single(Assert.Single(builder.Resources, r => r.Name == name).Annotations.OfType<EndpointAnnotation>());
            Assert.Equal(port, endpoint.Port);
            Assert.Equal(port, endpoint.TargetPort);
        }
    }
}
