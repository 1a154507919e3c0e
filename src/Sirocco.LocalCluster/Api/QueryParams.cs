using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// Query parameters read as the real API server decodes its options objects (ListOptions, DeleteOptions,
/// PodLogOptions, PodExecOptions) from a URL: only the first of repeated values counts, unknown parameters are ignored,
/// a boolean is false only for "0" and "false" in any case (so <c>True</c>, <c>1</c>, an empty value or even
/// <c>yes</c> mean true, as measured on the real server), and an integer must be what Go's <c>strconv.ParseInt</c>
/// accepts or the request fails with its message.
/// </summary>
internal static class QueryParams
{
    /// <summary>A string option: the first of its values (the real server ignores the rest); absent is null.</summary>
    public static string? Text(IQueryCollection query, string name) => query[name] is { Count: > 0 } values ? values[0] : null;

    /// <summary>A boolean option; absent is false.</summary>
    public static bool Bool(IQueryCollection query, string name)
    {
        var values = query[name];
        if (values.Count == 0)
        {
            return false;
        }

        var first = values[0] ?? "";
        return !(first == "0" || first.Equals("false", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>ListOptions' integers, decoded before anything else is looked at, as the real server does.</summary>
    public static (long? Limit, long? TimeoutSeconds) ListIntegers(IQueryCollection query) =>
        (Int(query, "limit"), Int(query, "timeoutSeconds"));

    /// <summary>A 64-bit integer option; absent is null, anything ParseInt refuses is a 400 with Go's message.</summary>
    public static long? Int(IQueryCollection query, string name)
    {
        var values = query[name];
        if (values.Count == 0)
        {
            return null;
        }

        var text = values[0] ?? "";
        var digits = text.Length > 0 && text[0] is '+' or '-' ? text.AsSpan(1) : text.AsSpan();
        if (digits.Length == 0 || digits.ContainsAnyExceptInRange('0', '9'))
        {
            throw ApiException.BadRequest($"strconv.ParseInt: parsing {Quote(text)}: invalid syntax");
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw ApiException.BadRequest($"strconv.ParseInt: parsing {Quote(text)}: value out of range");
        }

        return value;
    }

    /// <summary>A time option in RFC 3339 (<c>sinceTime</c>); absent is null, a bad one a 400 worded as Go's time.Parse.</summary>
    public static DateTimeOffset? Time(IQueryCollection query, string name)
    {
        var values = query[name];
        if (values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return null;
        }

        var text = values[0]!;
        if (DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            && (text.EndsWith('Z') || text.Length > 6 && text[^6] is '+' or '-'))
        {
            return t;
        }

        throw ApiException.BadRequest(RfcTimeError(text));
    }

    /// <summary>
    /// Go's message for a value that does not match the layout <c>2006-01-02T15:04:05Z07:00</c>: the rest of the value
    /// from the first element that fails, and that element.
    /// </summary>
    private static string RfcTimeError(string text)
    {
        (string Element, int Length, bool Digits)[] layout =
        [
            ("2006", 4, true), ("-", 1, false), ("01", 2, true), ("-", 1, false), ("02", 2, true), ("T", 1, false),
            ("15", 2, true), (":", 1, false), ("04", 2, true), (":", 1, false), ("05", 2, true),
        ];
        var at = 0;
        foreach (var (element, length, digits) in layout)
        {
            var rest = text[at..];
            var ok = rest.Length >= length && (digits ? rest[..length].All(char.IsAsciiDigit) : rest.StartsWith(element, StringComparison.Ordinal));
            if (!ok)
            {
                return $"parsing time {Quote(text)} as \"2006-01-02T15:04:05Z07:00\": cannot parse {Quote(rest)} as {Quote(element)}";
            }

            at += length;
        }

        foreach (var (start, max, what) in new[] { (5, 12, "month"), (8, 31, "day"), (11, 23, "hour"), (14, 59, "minute"), (17, 59, "second") })
        {
            var n = int.Parse(text.AsSpan(start, 2), CultureInfo.InvariantCulture);
            if (n > max || (n == 0 && what is "month" or "day"))
            {
                return $"parsing time {Quote(text)}: {what} out of range";
            }
        }

        if (at < text.Length && text[at] == '.')
        {
            at++;
            while (at < text.Length && char.IsAsciiDigit(text[at]))
            {
                at++;
            }
        }

        return $"parsing time {Quote(text)} as \"2006-01-02T15:04:05Z07:00\": cannot parse {Quote(text[at..])} as \"Z07:00\"";
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
