using System.Globalization;

namespace Sirocco.LocalCluster.Api;

/// <summary>Timestamps in the forms Kubernetes writes them.</summary>
internal static class Time
{
    /// <summary>RFC 3339 to the second, UTC (metav1.Time).</summary>
    public static string Seconds(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>RFC 3339 with microseconds (metav1.MicroTime).</summary>
    public static string Micro(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>RFC 3339 with nanoseconds, trailing zeros dropped (Go's RFC3339Nano), as in log timestamps.</summary>
    /// <summary>RFC 3339 with nanoseconds in a fixed width (the kubelet's RFC3339NanoFixed), as a log line's timestamp.</summary>
    public static string NanoFixed(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "00Z";

    public static string Nano(DateTimeOffset t)
    {
        var fraction = t.UtcDateTime.ToString("fffffff", CultureInfo.InvariantCulture) + "00";
        fraction = fraction.TrimEnd('0');
        return t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + (fraction.Length > 0 ? "." + fraction : "") + "Z";
    }

    public static DateTimeOffset? Parse(string? text) =>
        text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}
