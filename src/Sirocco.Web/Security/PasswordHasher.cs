using System.Globalization;
using System.Security.Cryptography;

namespace Sirocco.Web.Security;

/// <summary>
/// Salted, slow password hashes for users in the metadata store: PBKDF2-SHA256 with 210,000 iterations and a 16-byte
/// salt, written as <c>pbkdf2-sha256$iterations$saltBase64$hashBase64</c> (the format <c>sirocco standalone</c> writes).
/// </summary>
public static class PasswordHasher
{
    /// <summary>The iteration count of new hashes (OWASP's 2023 figure for PBKDF2-SHA256).</summary>
    public const int Iterations = 210_000;

    private const string Scheme = "pbkdf2-sha256";

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt.</summary>
    public static string Create(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, 32);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>
    /// Whether <paramref name="password"/> matches <paramref name="stored"/> (compared in constant time). A malformed
    /// stored hash never matches.
    /// </summary>
    public static bool Verify(string password, string stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(stored);
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            if (expected.Length == 0)
            {
                return false;
            }

            var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(expected, actual);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
