namespace AppHost.Engines;

/// <summary>
/// A PostgreSQL server started from this machine's binaries. Its connection string points at the
/// <c>splitgraph</c> database, which Engine.Api creates on first start.
/// </summary>
public sealed class LocalPostgresResource(string name, string command, string workingDirectory, ParameterResource password, LocalPostgresLayout layout)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    internal const string EndpointName = "tcp";
    internal const string SuperUser = "postgres";
    internal const string DatabaseName = "splitgraph";

    private EndpointReference? _primaryEndpoint;

    public ParameterResource PasswordParameter { get; } = password;

    public LocalPostgresLayout Layout { get; } = layout;

    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, EndpointName);

    /// <summary>Always 127.0.0.1: the server listens on IPv4 loopback only, and "localhost" may resolve to ::1 first.</summary>
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={SuperUser};Password={PasswordParameter};Database={DatabaseName}");
}

/// <summary>Where a local server keeps its files, and whether they outlive the AppHost.</summary>
/// <param name="BinDirectory">Folder holding <c>initdb</c> and <c>postgres</c>.</param>
/// <param name="DataDirectory">PGDATA.</param>
/// <param name="SocketDirectory">Unix socket folder (short path: sockets are limited to ~107 characters).</param>
/// <param name="Persistent">True for <c>dotnet run</c> (work survives restarts), false for tests (thrown away).</param>
/// <param name="RunAsPostgresUser">True when the AppHost runs as root: PostgreSQL refuses to.</param>
public sealed record LocalPostgresLayout(string BinDirectory, string DataDirectory, string SocketDirectory, bool Persistent, bool RunAsPostgresUser);
