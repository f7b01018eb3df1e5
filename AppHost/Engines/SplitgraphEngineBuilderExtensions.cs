using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AppHost.Engines;

/// <summary>
/// Adds Splitgraph engines (PostgreSQL databases managed by Engine.Api) to the application model.
/// </summary>
/// <remarks>
/// Configuration, all optional:
/// <list type="bullet">
/// <item><c>ConnectionStrings:&lt;name&gt;</c> — external mode: use an existing server; nothing is started.</item>
/// <item><c>Engines:Mode</c> — <c>auto</c> (default), <c>container</c> or <c>local</c>.</item>
/// <item><c>Engines:BinDirectory</c> — folder with <c>initdb</c>/<c>postgres</c> for local mode.</item>
/// <item><c>Engines:DataRoot</c> — where local servers keep their data; <c>Engines:Ephemeral=true</c> throws it away at exit.</item>
/// <item><c>Engines:&lt;name&gt;:FdwHost</c>/<c>FdwPort</c> — how other engines reach this one (external mode).</item>
/// <item><c>Engines:&lt;name&gt;:Port</c>, <c>Engines:FixedPorts</c> — the engine's host port (see <see cref="EnginePorts"/>).</item>
/// </list>
/// </remarks>
public static class SplitgraphEngineBuilderExtensions
{
    private const int PostgresContainerPort = 5432;

    /// <summary>
    /// Adds an engine called <paramref name="name"/>: a PostgreSQL database whose connection string reaches
    /// referencing projects as <c>ConnectionStrings__{name}</c>, with a health check so that <c>WaitFor</c>
    /// means "accepts connections".
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <param name="name">Engine name: lower case letters, digits and dashes.</param>
    /// <returns>A builder for the engine's connection-string resource.</returns>
    public static IResourceBuilder<IResourceWithConnectionString> AddSplitgraphEngine(this IDistributedApplicationBuilder builder, [ResourceName] string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        if (!string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name)))
        {
            return AddExternalEngine(builder, name);
        }

        return EngineModeResolver.Resolve(builder) switch
        {
            EngineMode.Container => AddContainerEngine(builder, name),
            _ => AddLocalEngine(builder, name),
        };
    }

    /// <summary>
    /// Gives <paramref name="project"/> the engine: its connection string, the address other engines use to reach it
    /// (<c>Engines__{name}__FdwHost</c>/<c>FdwPort</c>), and a wait until the engine is healthy.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithEngine(this IResourceBuilder<ProjectResource> project, IResourceBuilder<IResourceWithConnectionString> engine)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(engine);

        project.WithReference(engine).WaitFor(engine);
        if (engine.Resource.TryGetLastAnnotation<FdwAddressAnnotation>(out var fdw))
        {
            project.WithEnvironment($"Engines__{engine.Resource.Name}__FdwHost", fdw.Host)
                   .WithEnvironment($"Engines__{engine.Resource.Name}__FdwPort", fdw.Port);
        }

        return project;
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddExternalEngine(IDistributedApplicationBuilder builder, string name)
    {
        var engine = builder.AddConnectionString(name);
        var section = builder.Configuration.GetSection($"Engines:{name}");
        if (section["FdwHost"] is { Length: > 0 } host && section["FdwPort"] is { Length: > 0 } port)
        {
            engine.WithAnnotation(new FdwAddressAnnotation(ReferenceExpression.Create($"{host}"), ReferenceExpression.Create($"{port}")));
        }

        return engine;
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddContainerEngine(IDistributedApplicationBuilder builder, string name)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var serverName = $"{name}-server";
        var server = builder.AddPostgres(serverName, password: builder.CreateResourceBuilder(password), port: EnginePorts.For(builder, name));
        if (!EngineModeResolver.IsEphemeral(builder))
        {
            server.WithDataVolume();
        }

        // Other containers reach the server by its resource name on the Aspire network, on the container port.
        return server.AddDatabase(name, LocalPostgresResource.DatabaseName)
            .WithAnnotation(new FdwAddressAnnotation(ReferenceExpression.Create($"{serverName}"), ReferenceExpression.Create($"{PostgresContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}")));
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddLocalEngine(IDistributedApplicationBuilder builder, string name)
    {
        var binDirectory = PostgresBinaries.Find(builder.Configuration["Engines:BinDirectory"])
            ?? throw new DistributedApplicationException(EngineModeResolver.NoServerMessage);

        var layout = LocalDataFolders.For(builder, name, binDirectory);
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var (command, prefix) = PostgresCommand.Build(Path.Combine(layout.BinDirectory, "postgres"), [], layout.RunAsPostgresUser);
        var resource = new LocalPostgresResource(name, command, layout.SocketDirectory, password, layout);
        var port = EnginePorts.For(builder, name);

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new EngineHealthCheck(resource), failureStatus: null, tags: null));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(resource, (_, ct) => LocalPostgresInitializer.PrepareAsync(resource, ct));

        return builder.AddResource(resource)
            .WithEndpoint(name: LocalPostgresResource.EndpointName, scheme: "tcp", port: port, targetPort: port, isProxied: false)
            .WithArgs(context =>
            {
                foreach (var arg in prefix)
                {
                    context.Args.Add(arg);
                }

                context.Args.Add("-D");
                context.Args.Add(layout.DataDirectory);
                context.Args.Add("-p");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("-k");
                context.Args.Add(layout.SocketDirectory);
                foreach (var setting in ServerSettings(layout))
                {
                    context.Args.Add("-c");
                    context.Args.Add(setting);
                }
            })
            .WithHealthCheck(healthCheckKey)
            .WithAnnotation(new FdwAddressAnnotation(
                ReferenceExpression.Create($"127.0.0.1"),
                ReferenceExpression.Create($"{resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort)}")))
            .WithIconName("Database");
    }

    private static IEnumerable<string> ServerSettings(LocalPostgresLayout layout)
    {
        yield return "listen_addresses=127.0.0.1";
        yield return "max_connections=200";
        if (!layout.Persistent)
        {
            // Throw-away test servers: durability buys nothing and costs seconds per test run.
            yield return "fsync=off";
            yield return "synchronous_commit=off";
            yield return "full_page_writes=off";
        }
    }
}

/// <summary>Host and port at which other engines (postgres_fdw) reach an engine.</summary>
public sealed record FdwAddressAnnotation(ReferenceExpression Host, ReferenceExpression Port) : IResourceAnnotation;
