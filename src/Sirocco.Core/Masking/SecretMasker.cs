namespace Sirocco.Masking;

/// <summary>
/// Replaces known secret values with <c>***</c> in text the product writes (CLI output, task logs, UI, API).
/// Secrets are registered as they are read: values of sensitive variables, connection passwords and sensitive extras.
/// Thread-safe; one instance per process is shared by every writer.
/// </summary>
public sealed class SecretMasker
{
    /// <summary>The replacement text.</summary>
    public const string Mask = "***";

    private static readonly string[] SensitiveWords =
    [
        "password", "secret", "passwd", "authorization", "api_key", "apikey", "access_token", "private_key", "token",
        "credential",
    ];

    private readonly Lock _lock = new();
    private string[] _secrets = [];

    /// <summary>Creates a masker that ignores secrets shorter than <paramref name="minLength"/> (Airflow's default is 5).</summary>
    public SecretMasker(int minLength = 5) => MinLength = Math.Max(1, minLength);

    /// <summary>Values shorter than this are not masked: masking "a" would destroy every log line.</summary>
    public int MinLength { get; }

    /// <summary>Whether a variable key, field or extra name marks its value as a secret (Airflow's list of words).</summary>
    public static bool IsSensitiveName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var word in SensitiveWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Registers a secret value; each line of a multi-line value is registered too.</summary>
    public void Add(string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            return;
        }

        var candidates = new List<string> { secret };
        if (secret.Contains('\n', StringComparison.Ordinal))
        {
            candidates.AddRange(secret.Split('\n').Select(l => l.TrimEnd('\r')));
        }

        lock (_lock)
        {
            var set = new HashSet<string>(_secrets, StringComparer.Ordinal);
            var changed = false;
            foreach (var c in candidates)
            {
                if (c.Length >= MinLength && set.Add(c))
                {
                    changed = true;
                }
            }

            if (changed)
            {
                // Longest first, so a secret that contains another is replaced whole.
                _secrets = [.. set.OrderByDescending(s => s.Length)];
            }
        }
    }

    /// <summary>Registers <paramref name="value"/> when <paramref name="name"/> is sensitive.</summary>
    public void AddIfSensitive(string name, string? value)
    {
        if (IsSensitiveName(name))
        {
            Add(value);
        }
    }

    /// <summary>The text with every registered secret replaced by <c>***</c>.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var secrets = Volatile.Read(ref _secrets);
        foreach (var s in secrets)
        {
            if (text.Contains(s, StringComparison.Ordinal))
            {
                text = text.Replace(s, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }
}
