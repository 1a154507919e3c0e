using System.Globalization;

namespace Sirocco.LocalCluster.Api;

/// <summary>Kubernetes resource quantities (<c>500m</c>, <c>10Gi</c>, <c>1e3</c>) as decimal numbers.</summary>
internal static class Quantity
{
    private static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024),
        ("Pi", 1024m * 1024 * 1024 * 1024 * 1024), ("Ei", 1024m * 1024 * 1024 * 1024 * 1024 * 1024),
        ("n", 0.000000001m), ("u", 0.000001m), ("m", 0.001m), ("k", 1000m), ("M", 1_000_000m),
        ("G", 1_000_000_000m), ("T", 1_000_000_000_000m), ("P", 1_000_000_000_000_000m), ("E", 1_000_000_000_000_000_000m),
    ];

    /// <summary>The value of a quantity; throws <see cref="FormatException"/> when it is not one.</summary>
    public static decimal Parse(string text)
    {
        text = text.Trim();
        foreach (var (suffix, factor) in Suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && text.Length > suffix.Length)
            {
                return decimal.Parse(text[..^suffix.Length], NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) * factor;
            }
        }

        return decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
