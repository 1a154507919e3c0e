using System.Globalization;
using System.Text.RegularExpressions;

namespace Sirocco.Testing;

/// <summary>Reads samples out of a Prometheus text exposition (what a <c>/metrics</c> endpoint answers).</summary>
public static class PrometheusText
{
    /// <summary>
    /// The value of the first sample of <paramref name="metric"/> whose labels contain every one of
    /// <paramref name="labels"/> (each written <c>name="value"</c>); fails the test, showing the text, when none does.
    /// </summary>
    public static long Value(string text, string metric, params string[] labels)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(labels);
        foreach (Match m in Regex.Matches(text, "(?m)^" + Regex.Escape(metric) + @"(\{(?<l>[^}]*)\})? (?<v>[0-9.e+]+)( \d+)?$"))
        {
            if (labels.All(l => m.Groups["l"].Value.Contains(l, StringComparison.Ordinal)))
            {
                return (long)double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no {metric}{{{string.Join(',', labels)}}} in:\n{text}");
    }
}
