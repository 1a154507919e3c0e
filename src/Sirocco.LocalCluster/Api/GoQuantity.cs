using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// Resource quantities parsed and written exactly as the real server's <c>resource.Quantity</c> (v1.20) does: the
/// value kept exactly, the input string kept when it is already in canonical form, otherwise the canonical form
/// (<c>1000m</c> → <c>1</c>, <c>0.5</c> → <c>500m</c>, <c>1.5Gi</c> → <c>1536Mi</c>), and resource lists rounded up to milli-units.
/// </summary>
internal sealed class GoQuantity
{
    private static readonly Dictionary<string, int> DecimalSuffixes = new(StringComparer.Ordinal)
    {
        [""] = 0,
        ["n"] = -9,
        ["u"] = -6,
        ["m"] = -3,
        ["k"] = 3,
        ["M"] = 6,
        ["G"] = 9,
        ["T"] = 12,
        ["P"] = 15,
        ["E"] = 18,
    };

    private static readonly string[] BinarySuffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

    private GoQuantity(BigInteger unscaled, int scale, string format, string? cached, bool small)
    {
        Unscaled = unscaled;
        Scale = scale;
        Format = format;
        Cached = cached;
        Small = small;
    }

    /// <summary>The value is <c>Unscaled × 10^Scale</c>.</summary>
    public BigInteger Unscaled { get; private set; }

    public int Scale { get; private set; }

    /// <summary>DecimalSI, BinarySI or DecimalExponent.</summary>
    public string Format { get; }

    /// <summary>The input, kept as the written form when the real server keeps it.</summary>
    public string? Cached { get; private set; }

    /// <summary>Whether the real server holds the value as a small (int64) amount rather than an arbitrary decimal.</summary>
    public bool Small { get; }

    public int Sign => Unscaled.Sign;

    /// <summary>Whether the value is a whole number.</summary>
    public bool IsWhole => Scale >= 0 || Unscaled % BigInteger.Pow(10, -Scale) == 0;

    public int CompareTo(GoQuantity other)
    {
        var scale = Math.Min(Scale, other.Scale);
        return (Unscaled * BigInteger.Pow(10, Scale - scale)).CompareTo(other.Unscaled * BigInteger.Pow(10, other.Scale - scale));
    }

    /// <summary>The form the real server writes a quantity in: in a resource list (limits, requests), rounded up to milli-units.</summary>
    public static string? Canonical(string text, bool resourceList = false)
    {
        if (!TryParse(text, out var q))
        {
            return null;
        }

        if (resourceList)
        {
            q.RoundUpToMilli();
        }

        return q.ToString();
    }

    /// <summary>
    /// Writes the quantities of a decoded pod (container resources, overhead, emptyDir size limits) as the real server
    /// stores them, from the client's own text in <paramref name="input"/>; returns the text of the first value that is
    /// not a quantity (the real server answers 400 for it), or null.
    /// </summary>
    public static string? RewritePod(JsonObject input, JsonObject decoded)
    {
        if (input["spec"] is not JsonObject spec || decoded["spec"] is not JsonObject target)
        {
            return null;
        }

        foreach (var list in new[] { "containers", "initContainers" })
        {
            var from = spec[list] as JsonArray ?? [];
            var to = target[list] as JsonArray ?? [];
            for (var i = 0; i < Math.Min(from.Count, to.Count); i++)
            {
                foreach (var kind in new[] { "limits", "requests" })
                {
                    if (Rewrite(from[i]?["resources"]?[kind] as JsonObject, to[i]?["resources"]?[kind] as JsonObject, true) is { } bad)
                    {
                        return bad;
                    }
                }
            }
        }

        if (Rewrite(spec["overhead"] as JsonObject, target["overhead"] as JsonObject, true) is { } badOverhead)
        {
            return badOverhead;
        }

        var volumes = spec["volumes"] as JsonArray ?? [];
        var targetVolumes = target["volumes"] as JsonArray ?? [];
        for (var i = 0; i < Math.Min(volumes.Count, targetVolumes.Count); i++)
        {
            if (volumes[i]?["emptyDir"] is JsonObject emptyDir && targetVolumes[i]?["emptyDir"] is JsonObject targetDir
                && Rewrite(new JsonObject { ["sizeLimit"] = emptyDir["sizeLimit"]?.DeepClone() }, targetDir, false) is { } badSize)
            {
                return badSize;
            }
        }

        return null;
    }

    private static string? Rewrite(JsonObject? from, JsonObject? to, bool resourceList)
    {
        if (from is null || to is null)
        {
            return null;
        }

        foreach (var (key, value) in from)
        {
            if (value is not JsonValue v || !to.ContainsKey(key))
            {
                continue;
            }

            // The real server reads a quantity from a JSON string or number, spaces around it trimmed.
            var text = (v.TryGetValue<string>(out var s) ? s : v.ToJsonString()).Trim();
            if (Canonical(text, resourceList) is not { } canonical)
            {
                return text;
            }

            to[key] = canonical;
        }

        return null;
    }

    public static bool TryParse(string str, out GoQuantity quantity)
    {
        quantity = new GoQuantity(0, 0, "DecimalSI", "0", true);
        if (str.Length == 0)
        {
            return false;
        }

        if (str == "0")
        {
            return true;
        }

        if (!Split(str, out var positive, out var value, out var num, out var denom, out var suffix) || !Interpret(suffix, out var binary, out var exponent, out var format))
        {
            return false;
        }

        // The fast path: small values held as an int64 and a power of ten, the input kept when canonical.
        int precision;
        var scale = 0;
        BigInteger mantissa = 1;
        if (!binary)
        {
            scale = exponent;
            precision = 18 - (num.Length + denom.Length);
        }
        else if (exponent >= 0 && denom.Length == 0)
        {
            mantissa = BigInteger.One << exponent;
            precision = 15 - num.Length - (int)(exponent * 3f / 10) - 1;
        }
        else
        {
            precision = -1;
        }

        if (precision >= 0)
        {
            scale -= denom.Length;
            var shifted = num + denom;
            if (scale >= -9 && long.TryParse(shifted, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                var result = parsed * mantissa;
                if (result <= long.MaxValue)
                {
                    if (!positive)
                    {
                        result = -result;
                    }

                    var canonical = binary
                        ? exponent % 10 == 0 && (parsed & 0x07) != 0
                        : scale % 3 == 0 && !shifted.EndsWith("000", StringComparison.Ordinal) && shifted[0] != '0';
                    quantity = new GoQuantity(result, scale, format, canonical ? str : null, true);
                    return true;
                }
            }
        }

        // The slow path: an exact decimal, rounded up (away from zero) to nano-units.
        var digits = value.TrimStart('+', '-');
        var dot = digits.IndexOf('.', StringComparison.Ordinal);
        var fraction = dot < 0 ? "" : digits[(dot + 1)..];
        var whole = dot < 0 ? digits : digits[..dot];
        if (!BigInteger.TryParse("0" + whole + fraction, NumberStyles.None, CultureInfo.InvariantCulture, out var unscaled))
        {
            return false;
        }

        var decScale = -fraction.Length;
        if (binary)
        {
            unscaled *= BigInteger.One << exponent;
        }
        else
        {
            decScale += exponent;
        }

        if (decScale < -9 && !unscaled.IsZero)
        {
            var divisor = BigInteger.Pow(10, -9 - decScale);
            unscaled = BigInteger.DivRem(unscaled, divisor, out var remainder) + (remainder.IsZero ? 0 : 1);
            decScale = -9;
        }

        var slowFormat = binary && unscaled > 0 && unscaled * BigInteger.Pow(10, Math.Max(0, decScale)) < BigInteger.Pow(10, Math.Max(0, -decScale)) ? "DecimalSI" : format;
        quantity = new GoQuantity(value.StartsWith('-') ? -unscaled : unscaled, decScale, slowFormat, null, false);
        return true;
    }

    /// <summary>What defaulting does to every quantity of a resource list: rounds it up to milli-units.</summary>
    public void RoundUpToMilli()
    {
        if (Small && Scale >= -3)
        {
            return;
        }

        Cached = null;
        if (Scale >= -3)
        {
            return;
        }

        var divisor = BigInteger.Pow(10, -3 - Scale);
        var quotient = BigInteger.DivRem(BigInteger.Abs(Unscaled), divisor, out var remainder);
        if (!remainder.IsZero)
        {
            quotient++;
        }

        Unscaled = Unscaled.Sign < 0 ? -quotient : quotient;
        Scale = -3;
    }

    public override string ToString()
    {
        if (Cached is not null)
        {
            return Cached;
        }

        if (Unscaled.IsZero)
        {
            return "0";
        }

        var format = Format;
        if (format == "BinarySI")
        {
            var small = BigInteger.Abs(Unscaled) * BigInteger.Pow(10, Math.Max(0, Scale)) < 1024 * BigInteger.Pow(10, Math.Max(0, -Scale));
            var whole = Scale >= 0 || Unscaled % BigInteger.Pow(10, -Scale) == 0;
            if (small || !whole)
            {
                format = "DecimalSI";
            }
        }

        if (format == "BinarySI")
        {
            var value = Scale >= 0 ? Unscaled * BigInteger.Pow(10, Scale) : Unscaled / BigInteger.Pow(10, -Scale);
            var power = 0;
            while (power < BinarySuffixes.Length - 1 && value % 1024 == 0)
            {
                value /= 1024;
                power++;
            }

            return value.ToString(CultureInfo.InvariantCulture) + BinarySuffixes[power];
        }

        var amount = Unscaled;
        var exponent = Scale;
        while (amount % 10 == 0)
        {
            amount /= 10;
            exponent++;
        }

        while (exponent % 3 != 0)
        {
            amount *= 10;
            exponent--;
        }

        var number = amount.ToString(CultureInfo.InvariantCulture);
        if (format == "DecimalExponent")
        {
            return exponent == 0 ? number : number + "e" + exponent.ToString(CultureInfo.InvariantCulture);
        }

        return number + (DecimalSuffixes.FirstOrDefault(s => s.Value == exponent).Key ?? "");
    }

    /// <summary>Go's %#v of the quantity, as some Invalid messages show it.</summary>
    public string GoSyntax()
    {
        var amount = Small ? $"i:resource.int64Amount{{value:{Unscaled}, scale:{Scale}}}, d:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}" : "i:resource.int64Amount{value:0, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(0xc000000000)}";
        return $"resource.Quantity{{{amount}, s:{Validation.GoQuote(Cached ?? "")}, Format:\"{Format}\"}}";
    }

    /// <summary>Go's parseQuantityString: sign, digits, fraction and suffix.</summary>
    private static bool Split(string str, out bool positive, out string value, out string num, out string denom, out string suffix)
    {
        positive = true;
        value = num = denom = suffix = "";
        var pos = 0;
        var end = str.Length;
        if (str[0] is '-' or '+')
        {
            positive = str[0] == '+';
            pos++;
        }

        while (pos < end && str[pos] == '0')
        {
            pos++;
        }

        if (pos >= end)
        {
            num = value = "0";
            return true;
        }

        var start = pos;
        while (pos < end && char.IsAsciiDigit(str[pos]))
        {
            pos++;
        }

        num = pos == start ? "0" : str[start..pos];
        if (pos >= end)
        {
            value = str;
            return true;
        }

        if (str[pos] == '.')
        {
            start = ++pos;
            while (pos < end && char.IsAsciiDigit(str[pos]))
            {
                pos++;
            }

            denom = str[start..pos];
            if (pos >= end)
            {
                value = str;
                return true;
            }
        }

        value = str[..pos];
        var suffixStart = pos;
        while (pos < end && "eEinumkKMGTP".Contains(str[pos], StringComparison.Ordinal))
        {
            pos++;
        }

        if (pos < end && str[pos] is '-' or '+')
        {
            pos++;
        }

        while (pos < end && char.IsAsciiDigit(str[pos]))
        {
            pos++;
        }

        suffix = str[suffixStart..];
        return pos >= end;
    }

    private static bool Interpret(string suffix, out bool binary, out int exponent, out string format)
    {
        binary = false;
        format = "DecimalSI";
        if (DecimalSuffixes.TryGetValue(suffix, out exponent))
        {
            return true;
        }

        var index = Array.IndexOf(BinarySuffixes, suffix);
        if (index > 0)
        {
            binary = true;
            exponent = index * 10;
            format = "BinarySI";
            return true;
        }

        format = "DecimalExponent";
        return suffix.Length > 1 && suffix[0] is 'e' or 'E' && int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent);
    }
}
