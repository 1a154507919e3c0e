using System.Globalization;

namespace Sirocco;

/// <summary>Date formats as Airflow prints them (Python's <c>isoformat</c>), used in run ids and templates.</summary>
public static class AirflowTime
{
    /// <summary>
    /// Python's <c>datetime.isoformat()</c> of an aware datetime: <c>2024-01-01T00:00:00+00:00</c>, with
    /// <c>.ffffff</c> only when there are microseconds.
    /// </summary>
    public static string IsoFormat(DateTimeOffset value)
    {
        var micro = (value.Ticks % TimeSpan.TicksPerSecond) / 10;
        var text = value.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        if (micro != 0)
        {
            text += "." + micro.ToString("D6", CultureInfo.InvariantCulture);
        }

        var offset = value.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        return text + sign + offset.Hours.ToString("D2", CultureInfo.InvariantCulture) + ":"
            + offset.Minutes.ToString("D2", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Parses an ISO-8601 date or date-time as the CLI and API accept it; a value without offset is UTC.
    /// The error names the value.
    /// </summary>
    public static DateTimeOffset Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (DateTimeOffset.TryParse(
                text,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces,
                out var value))
        {
            return value;
        }

        throw new SiroccoException($"invalid date '{text}': expected ISO 8601, e.g. 2024-01-31 or 2024-01-31T12:00:00+00:00");
    }
}
