using System.Security.Cryptography;
using System.Text;

namespace Dashboard.Login;

/// <summary>
/// The secret that signs a browser in (<c>Dashboard:LoginToken</c>, the AppHost's <c>dashboard-token</c> parameter).
/// Compared in constant time on fixed-length hashes, so neither the content nor the length leaks through timing.
/// </summary>
public sealed class LoginToken
{
    public const string ConfigurationKey = "Dashboard:LoginToken";

    private readonly byte[] _hash;

    public LoginToken(string token)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length < 16)
        {
            throw new InvalidOperationException(
                $"The Dashboard needs a login token of at least 16 characters in {ConfigurationKey} " +
                "(the AppHost passes its 'dashboard-token' parameter).");
        }

        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    public static LoginToken FromConfiguration(IConfiguration configuration) =>
        new(configuration[ConfigurationKey] ?? string.Empty);

    public bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(candidate)));
}
