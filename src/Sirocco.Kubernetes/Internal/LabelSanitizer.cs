using System.Security.Cryptography;
using System.Text;

namespace Sirocco.Kubernetes.Internal;

/// <summary>Makes pod names and label values acceptable to Kubernetes.</summary>
internal static class LabelSanitizer
{
    public const int MaxLength = 63;

    /// <summary>
    /// A label value: characters other than letters, digits, '-', '_' and '.' are dropped, as are non-alphanumeric
    /// characters at either end; when that changed the value or it is too long, the first 53 characters are kept and
    /// '-' plus 9 hex digits of a hash of the original are appended, so distinct values stay distinct. When nothing
    /// is left (an id made only of '_', '.' or '-', which Airflow allows), the value is the hash alone: a value must
    /// begin with a letter or digit.
    /// </summary>
    public static string LabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var kept = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            {
                kept.Append(c);
            }
        }

        var safe = TrimNonAlphanumeric(kept.ToString());
        if (safe.Length <= MaxLength && safe == value)
        {
            return safe;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..9];
        var head = safe.Length > MaxLength - 10 ? safe[..(MaxLength - 10)] : safe;
        return head.Length == 0 ? hash : head + "-" + hash;
    }

    /// <summary>Whether <paramref name="value"/> is a label value as it is (what <see cref="LabelValue"/> leaves unchanged).</summary>
    public static bool IsValidLabelValue(string value) => value.Length > 0 && LabelValue(value) == value;

    /// <summary>
    /// A DNS-1123 pod name from <paramref name="name"/>: lower-cased, other characters turned into '-', trimmed, and
    /// cut so that the suffix (when given) fits within 63 characters.
    /// </summary>
    /// <exception cref="SiroccoException">Nothing usable is left of the name.</exception>
    public static string PodName(string name, string? suffix)
    {
        ArgumentNullException.ThrowIfNull(name);
        var chars = name.ToLowerInvariant().Select(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' ? c : '-').ToArray();
        var text = TrimNonAlphanumeric(new string(chars));
        var room = suffix is null ? MaxLength : MaxLength - suffix.Length - 1;
        if (text.Length > room)
        {
            text = TrimNonAlphanumeric(text[..room]);
        }

        if (text.Length == 0)
        {
            throw new SiroccoException($"invalid pod name '{name}': it must contain at least one letter or digit");
        }

        return suffix is null ? text : text + "-" + suffix;
    }

    /// <summary>8 characters from [a-z0-9], the same for every attempt to run one try (a hash of its identity).</summary>
    public static string TrySuffix(string dagId, string taskId, string runId, int mapIndex, int tryNumber)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var hash = System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(string.Join('\u001f', dagId, taskId, runId, mapIndex.ToString(System.Globalization.CultureInfo.InvariantCulture), tryNumber.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Span<char> chars = stackalloc char[8];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[hash[i] % Alphabet.Length];
        }

        return new string(chars);
    }

    /// <summary>8 random characters from [a-z0-9].</summary>
    public static string RandomSuffix()
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        Span<char> chars = stackalloc char[8];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return new string(chars);
    }

    private static string TrimNonAlphanumeric(string s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && !char.IsAsciiLetterOrDigit(s[start]))
        {
            start++;
        }

        while (end > start && !char.IsAsciiLetterOrDigit(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }
}
