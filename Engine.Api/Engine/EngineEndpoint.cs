using Npgsql;

namespace Engine.Api.Engine;

/// <summary>Everything needed to reach one engine: its pooled data source and the address other engines use.</summary>
/// <param name="Name">Engine name from configuration (<c>ConnectionStrings:&lt;name&gt;</c>).</param>
/// <param name="DataSource">Pooled connections to the engine's database.</param>
/// <param name="ConnectionString">The configured connection string (with credentials; never logged).</param>
/// <param name="FdwHost">Host at which other engines reach this one (postgres_fdw).</param>
/// <param name="FdwPort">Port at which other engines reach this one.</param>
public sealed record EngineEndpoint(string Name, NpgsqlDataSource DataSource, string ConnectionString, string FdwHost, int FdwPort)
{
    // Parsed once: transfers read the parts on every call.
    private readonly NpgsqlConnectionStringBuilder _parsed = new(ConnectionString);

    private NpgsqlConnectionStringBuilder Parsed => _parsed;

    /// <summary>Where the engine's built SQL is logged (see <see cref="ChangeLogSql.Build"/>); silent unless set.</summary>
    public ILogger Log { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public string Database => Parsed.Database ?? "postgres";

    public string Username => Parsed.Username ?? "postgres";

    public string? Password => Parsed.Password;

    /// <summary>Bulk insert logging thresholds installed by <see cref="SqlEngine.InitializeAsync"/>.</summary>
    public BulkLogging BulkLogging { get; init; } = BulkLogging.Default;

    /// <summary>Same server, maintenance database: for CREATE/DROP DATABASE.</summary>
    public string AdminConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
}
