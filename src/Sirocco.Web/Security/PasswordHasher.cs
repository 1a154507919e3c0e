using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Sirocco.Web.Security;

/// <summary>
/// Salted, slow password hashes for users in the metadata store: ASP.NET Core Identity's password hasher (format v3,
/// PBKDF2-HMAC-SHA512, 210,000 iterations, 16-byte salt). Hashes written by earlier versions
/// (<c>pbkdf2-sha256$iterations$salt$hash</c>) still verify, and are replaced at the next login.
/// </summary>
public static class PasswordHasher
{
    /// <summary>The iteration count of new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA512).</summary>
    public const int Iterations = 210_000;

    private const string LegacyScheme = "pbkdf2-sha256";

    private static readonly PasswordHasher<string> Hasher = new(Options.Create(new PasswordHasherOptions
    {
        CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
        IterationCount = Iterations,
    }));

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt.</summary>
    public static string Create(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return Hasher.HashPassword(string.Empty, password);
    }

    /// <summary>
    /// Whether <paramref name="password"/> matches <paramref name="stored"/> (compared in constant time). A malformed
    /// stored hash never matches.
    /// </summary>
    public static bool Verify(string password, string stored) => Check(password, stored) != PasswordVerificationResult.Failed;

    /// <summary>Checks a password; <c>SuccessRehashNeeded</c> when the stored hash is weaker than what is written today.</summary>
    internal static PasswordVerificationResult Check(string password, string stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.StartsWith(LegacyScheme + "$", StringComparison.Ordinal))
        {
            return VerifyLegacy(password, stored) ? PasswordVerificationResult.SuccessRehashNeeded : PasswordVerificationResult.Failed;
        }

        try
        {
            return Hasher.VerifyHashedPassword(string.Empty, stored, password);
        }
        catch (FormatException)
        {
            return PasswordVerificationResult.Failed;
        }
    }

    private static bool VerifyLegacy(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4
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
