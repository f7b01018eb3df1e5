using Engine.Api.Engine;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Engine.Api.Infrastructure;

/// <summary>
/// The engines this API serves: every <c>ConnectionStrings:&lt;name&gt;</c> in configuration, so adding an engine in
/// the AppHost needs no change here. Other engines reach an engine at <c>Engines:&lt;name&gt;:FdwHost</c>/<c>FdwPort</c>,
/// defaulting to its connection string's host and port.
/// </summary>
public sealed class EngineRegistry
{
    private readonly Dictionary<string, EngineEndpoint> _engines;

    public EngineRegistry(IConfiguration configuration, IServiceProvider services)
    {
        var limits = services.GetService<IOptions<LimitsOptions>>()?.Value ?? new LimitsOptions();
        var bulk = BulkLogging.From(limits);
        _engines = Discover(configuration).ToDictionary(name => name, name =>
        {
            var connectionString = configuration.GetConnectionString(name)!;
            var parsed = new NpgsqlConnectionStringBuilder(connectionString);
            var section = configuration.GetSection($"Engines:{name}");
            return new EngineEndpoint(
                name,
                services.GetRequiredKeyedService<NpgsqlDataSource>(name),
                connectionString,
                section["FdwHost"] is { Length: > 0 } host ? host : parsed.Host ?? "localhost",
                int.TryParse(section["FdwPort"], out var port) ? port : parsed.Port)
            {
                Log = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChangeLogSql).FullName!),
                BulkLogging = bulk,
            };
        }, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<string> Names => _engines.Keys;

    /// <summary>The engine called <paramref name="name"/>, or a 404.</summary>
    public EngineEndpoint Get(string name) =>
        _engines.TryGetValue(name, out var engine) ? engine : throw new UnknownEngineException(Identifiers.Printable(name));

    public bool Contains(string name) => _engines.ContainsKey(name);

    /// <summary>Engine names from configuration: connection strings whose names are valid engine names.</summary>
    public static IReadOnlyList<string> Discover(IConfiguration configuration) =>
        configuration.GetSection("ConnectionStrings").GetChildren()
            .Where(c => !string.IsNullOrWhiteSpace(c.Value) && Identifiers.IsEngineName(c.Key))
            .Select(c => c.Key)
            .Order(StringComparer.Ordinal)
            .ToList();
}
