using System.Security.Cryptography;

namespace Engine.Api.Engine;

/// <summary>
/// The login a download's postgres_fdw uses on the remote. postgres_fdw keeps a user mapping's password in the
/// receiving engine's catalogue (<c>pg_user_mapping</c>, so its WAL, backups and replicas), so the remote's own
/// credentials never go there: each download creates a role on the remote that may only read the objects being
/// transferred, with a random secret, valid for an hour at most, and drops it when the download ends. What stays in
/// the receiving engine is a secret for a role that no longer exists.
/// </summary>
public sealed class TransferCredential : IAsyncDisposable
{
    private const string RolePrefix = "sg_xfer_";
    private const string GrantLock = "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('splitgraph.transfer-roles'))";

    private readonly EngineEndpoint _remote;
    private readonly bool _temporary;
    private readonly string[] _objectIds;

    private TransferCredential(EngineEndpoint remote, string username, string password, bool temporary, string[] objectIds)
    {
        _remote = remote;
        _objectIds = objectIds;
        Username = username;
        Password = password;
        _temporary = temporary;
    }

    public string Username { get; }

    public string Password { get; }

    /// <summary>
    /// A role on <paramref name="remote"/> that can read <paramref name="objectIds"/> only. When the remote's user may not
    /// create roles (no CREATEROLE), the configured credentials are used, as before (README, Security).
    /// </summary>
    public static async Task<TransferCredential> CreateAsync(EngineEndpoint remote, IReadOnlyCollection<string> objectIds, CancellationToken cancellationToken)
    {
        await using var engine = new SqlEngine(remote);
        var mayCreateRoles = await engine.ScalarAsync<bool>(
            "SELECT rolcreaterole OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", null, cancellationToken);
        if (!mayCreateRoles)
        {
            return new TransferCredential(remote, remote.Username, remote.Password ?? string.Empty, temporary: false, []);
        }

        var role = RolePrefix + Guid.NewGuid().ToString("N");
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        // Utility statements take no parameters: the server quotes the values (format %I/%L), nothing is spliced here.
        var create = await engine.ScalarAsync<string>(
            "SELECT pg_catalog.format('CREATE ROLE %I LOGIN NOINHERIT PASSWORD %L VALID UNTIL %L', $1::text, $2::text, (pg_catalog.now() + interval '1 hour')::text)",
            [role, secret], cancellationToken);
        // Concurrent downloads grant and revoke on the same tables, whose ACL rows PostgreSQL updates without waiting
        // ("tuple concurrently updated"): one at a time per remote, until each transaction ends.
        await engine.ExecuteAsync(GrantLock, null, cancellationToken);
        await engine.ExecuteAsync(create, null, cancellationToken);
        var tables = string.Join(", ", objectIds.Select(id => Identifiers.Qualify(ObjectEngine.MetaSchema, Identifiers.ValidateObjectId(id))));
        await engine.ExecuteAsync(
            $"GRANT USAGE ON SCHEMA {Identifiers.Quote(ObjectEngine.MetaSchema)} TO {Identifiers.Quote(role)}; " +
            (tables.Length > 0 ? $"GRANT SELECT ON {tables} TO {Identifiers.Quote(role)};" : string.Empty),
            null, cancellationToken);
        await engine.CommitAsync(cancellationToken);
        return new TransferCredential(remote, role, secret, temporary: true, [.. objectIds]);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_temporary)
        {
            return;
        }

        // If this fails (remote down), VALID UNTIL has already bounded the secret's use.
        try
        {
            await using var engine = new SqlEngine(_remote);
            await engine.ExecuteAsync(GrantLock);
            // Revoke what was granted (as its grantor; DROP OWNED would need membership in the role), on the tables still there.
            var tables = (await engine.QueryAsync(
                "SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2)",
                [ObjectEngine.MetaSchema, _objectIds], r => Identifiers.Qualify(ObjectEngine.MetaSchema, r.GetString(0)))).ToList();
            var role = Identifiers.Quote(Username);
            await engine.ExecuteAsync(
                (tables.Count > 0 ? $"REVOKE ALL ON {string.Join(", ", tables)} FROM {role}; " : string.Empty) +
                $"REVOKE ALL ON SCHEMA {Identifiers.Quote(ObjectEngine.MetaSchema)} FROM {role}; DROP ROLE {role}");
            await engine.CommitAsync();
        }
        catch (Exception ex) when (ex is EngineException or Npgsql.NpgsqlException)
        {
            // Best effort: the role expires by itself.
        }
    }
}
