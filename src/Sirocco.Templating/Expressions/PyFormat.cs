using System.Globalization;
using System.Text;

namespace Sirocco.Templating.Expressions;

/// <summary>Python's two string formatting languages: <c>"%s" % x</c> and <c>"{}".format(x)</c>.</summary>
public static class PyFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary><c>format % args</c>.</summary>
    internal static string Percent(string format, object? args)
    {
        var positional = args is PyTuple t ? t.Items : [args];
        var mapping = args as PyDict;
        var next = 0;
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            CheckLength(sb);
            var c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }

            if (++i >= format.Length)
            {
                throw new PyException("incomplete format");
            }

            object? value = null;
            var haveValue = false;
            if (format[i] == '(')
            {
                var close = format.IndexOf(')', i);
                if (close < 0 || mapping is null)
                {
                    throw new PyException(close < 0 ? "incomplete format key" : "format requires a mapping");
                }

                var key = format[(i + 1)..close];
                value = mapping.TryGetValue(key, out var v) ? v : throw new PyException($"KeyError: {PyOps.Repr(key)}");
                haveValue = true;
                i = close + 1;
            }

            var flags = string.Empty;
            while (i < format.Length && "-+ 0#".Contains(format[i], StringComparison.Ordinal))
            {
                flags += format[i++];
            }

            var width = ReadInt(format, ref i);
            int? precision = null;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = ReadInt(format, ref i) ?? 0;
            }

            if (i >= format.Length)
            {
                throw new PyException("incomplete format");
            }

            var type = format[i];
            if (type == '%')
            {
                sb.Append('%');
                continue;
            }

            if (!haveValue)
            {
                if (next >= positional.Length)
                {
                    throw new PyException("not enough arguments for format string");
                }

                value = positional[next++];
            }

            var spec = new Spec
            {
                Fill = flags.Contains('0', StringComparison.Ordinal) && !flags.Contains('-', StringComparison.Ordinal) && type is not ('s' or 'r') ? '0' : ' ',
                Align = flags.Contains('-', StringComparison.Ordinal) ? '<' : '>',
                ZeroPad = flags.Contains('0', StringComparison.Ordinal) && !flags.Contains('-', StringComparison.Ordinal),
                Sign = flags.Contains('+', StringComparison.Ordinal) ? '+' : flags.Contains(' ', StringComparison.Ordinal) ? ' ' : '-',
                Width = width ?? 0,
                Precision = precision,
                Type = type switch
                {
                    'i' or 'u' => 'd',
                    _ => type,
                },
            };
            if (type == 'r')
            {
                sb.Append(Pad(PyOps.Repr(value), spec));
            }
            else if (type == 's')
            {
                var s = PyOps.Str(value);
                sb.Append(Pad(precision is { } p && p < s.Length ? s[..p] : s, spec));
            }
            else
            {
                if (type is 'd' or 'i' or 'u' && value is double dv)
                {
                    value = (long)Math.Truncate(dv);
                }

                if (!PyOps.IsNumber(value))
                {
                    throw new PyException($"%{type} format: a real number is required, not {PyOps.TypeName(value)}");
                }

                sb.Append(FormatNumber(value, spec));
            }
        }

        // CPython skips this check when the argument looks like a mapping (anything indexable but a tuple or str).
        if (next < positional.Length && args is not (PyDict or List<object?> or IPyIndexable))
        {
            throw new PyException("not all arguments converted during string formatting");
        }

        return sb.ToString();
    }

    private static void CheckLength(StringBuilder sb)
    {
        if (sb.Length > PyArith.MaxValueLength)
        {
            throw new PyException("string too long for a template");
        }
    }

    private static int? ReadInt(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        return i == start ? null : int.Parse(s.AsSpan(start, Math.Min(i - start, 6)), Inv);
    }

    /// <summary><c>format.format(*args, **kwargs)</c>.</summary>
    internal static string Format(string format, CallArgs args)
    {
        var sb = new StringBuilder();
        var auto = 0;
        for (var i = 0; i < format.Length; i++)
        {
            CheckLength(sb);
            var c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}')
                {
                    sb.Append('}');
                    i++;
                    continue;
                }

                throw new PyException("Single '}' encountered in format string");
            }

            if (c != '{')
            {
                sb.Append(c);
                continue;
            }

            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                sb.Append('{');
                i++;
                continue;
            }

            var close = format.IndexOf('}', i);
            if (close < 0)
            {
                throw new PyException("expected '}' before end of string");
            }

            var field = format[(i + 1)..close];
            i = close;
            string? spec = null;
            var colon = field.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                spec = field[(colon + 1)..];
                field = field[..colon];
            }

            char? conversion = null;
            var bang = field.IndexOf('!', StringComparison.Ordinal);
            if (bang >= 0)
            {
                conversion = bang + 1 < field.Length ? field[bang + 1] : throw new PyException("end of string while looking for conversion specifier");
                field = field[..bang];
            }

            var nameEnd = field.IndexOfAny(['.', '[']);
            var head = nameEnd >= 0 ? field[..nameEnd] : field;
            object? value;
            if (head.Length == 0)
            {
                value = args.Count > auto ? args.Positional[auto++] : throw new PyException("tuple index out of range");
            }
            else if (int.TryParse(head, NumberStyles.None, Inv, out var index))
            {
                value = index < args.Count ? args.Positional[index] : throw new PyException("tuple index out of range");
            }
            else
            {
                value = args.Has(-1, head) ? args.Get(-1, head) : throw new PyException(PyOps.Repr(head));
            }

            var rest = nameEnd >= 0 ? field[nameEnd..] : string.Empty;
            while (rest.Length > 0)
            {
                if (rest[0] == '.')
                {
                    var end = rest.IndexOfAny(['.', '['], 1);
                    var attr = end < 0 ? rest[1..] : rest[1..end];
                    value = PyOps.GetAttr(value, attr);
                    rest = end < 0 ? string.Empty : rest[end..];
                }
                else
                {
                    var end = rest.IndexOf(']', StringComparison.Ordinal);
                    if (end < 0)
                    {
                        throw new PyException("Missing ']' in format string");
                    }

                    var key = rest[1..end];
                    value = PyOps.GetItem(value, long.TryParse(key, NumberStyles.None, Inv, out var k) ? k : key);
                    rest = rest[(end + 1)..];
                }
            }

            PyOps.Check(value);
            if (conversion == 'r')
            {
                value = PyOps.Repr(value);
            }
            else if (conversion == 's')
            {
                value = PyOps.Str(value);
            }

            sb.Append(FormatValue(value, spec ?? string.Empty));
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>format(value, spec)</c>.</summary>
    public static string FormatValue(object? value, string spec)
    {
        if (value is PyDateTime dt)
        {
            return spec.Length == 0 ? dt.ToString() : dt.Strftime(spec);
        }

        if (spec.Length == 0)
        {
            return PyOps.Str(value);
        }

        var s = ParseSpec(spec);
        if (value is string str)
        {
            if (s.Type is not (null or 's'))
            {
                throw new PyException($"Unknown format code '{s.Type}' for object of type 'str'");
            }

            s.Align ??= '<';
            return Pad(s.Precision is { } p && p < str.Length ? str[..p] : str, s);
        }

        if (PyOps.IsNumber(value))
        {
            s.Align ??= '>';
            return FormatNumber(value is bool b ? (b ? 1L : 0L) : value, s);
        }

        throw new PyException($"unsupported format string passed to {PyOps.TypeName(value)}.__format__");
    }

    private sealed class Spec
    {
        public char Fill { get; set; } = ' ';

        public char? Align { get; set; }

        public char Sign { get; set; } = '-';

        public bool ZeroPad { get; set; }

        public int Width { get; set; }

        public bool Grouping { get; set; }

        public int? Precision { get; set; }

        public char? Type { get; set; }
    }

    private static Spec ParseSpec(string spec)
    {
        var s = new Spec();
        var i = 0;
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=')
        {
            s.Fill = spec[0];
            s.Align = spec[1];
            i = 2;
        }
        else if (spec.Length >= 1 && spec[0] is '<' or '>' or '^' or '=')
        {
            s.Align = spec[0];
            i = 1;
        }

        if (i < spec.Length && spec[i] is '+' or '-' or ' ')
        {
            s.Sign = spec[i++];
        }

        if (i < spec.Length && spec[i] == '0')
        {
            s.ZeroPad = true;
            if (s.Align is null)
            {
                s.Fill = '0';
                s.Align = '=';
            }

            i++;
        }

        s.Width = ReadInt(spec, ref i) ?? 0;
        if (i < spec.Length && spec[i] is ',' or '_')
        {
            s.Grouping = true;
            i++;
        }

        if (i < spec.Length && spec[i] == '.')
        {
            i++;
            s.Precision = ReadInt(spec, ref i) ?? throw new PyException("Format specifier missing precision");
        }

        if (i < spec.Length)
        {
            s.Type = spec[i++];
        }

        if (i != spec.Length)
        {
            throw new PyException("Invalid format specifier");
        }

        return s;
    }

    private static string FormatNumber(object? value, Spec s)
    {
        var type = s.Type;
        string body;
        bool negative;
        if (type is 'd' or 'x' or 'X' or 'o' or 'b' or 'c' || (type is null && value is long))
        {
            if (value is double)
            {
                throw new PyException($"Unknown format code '{type}' for object of type 'float'");
            }

            var l = PyOps.ToLong(value);
            negative = l < 0;
            var abs = negative ? (ulong)(-(l + 1)) + 1 : (ulong)l;
            body = type switch
            {
                'x' => abs.ToString("x", Inv),
                'X' => abs.ToString("X", Inv),
                'o' => Convert.ToString((long)abs, 8),
                'b' => Convert.ToString((long)abs, 2),
                'c' => ((char)abs).ToString(),
                _ => s.Grouping ? abs.ToString("#,0", Inv) : abs.ToString(Inv),
            };
        }
        else
        {
            var d = PyOps.ToDouble(value);
            negative = d < 0 || (d == 0 && double.IsNegative(d));
            var a = Math.Abs(d);
            var p = Math.Min(s.Precision ?? 6, 500);
            if (!double.IsFinite(a))
            {
                body = double.IsNaN(a) ? "nan" : "inf";
                if (type is 'F' or 'E' or 'G')
                {
                    body = body.ToUpperInvariant();
                }
            }
            else
            {
                body = type switch
                {
                    'f' or 'F' => Group(PyRound.Fixed(a, p), s.Grouping),
                    'e' or 'E' => Exponential(a, p, type.Value),
                    '%' => Group(PyRound.Fixed(a * 100, p), s.Grouping) + "%",
                    'g' or 'G' => General(a, s.Precision ?? 6, type == 'G'),
                    null when s.Precision is { } gp => General(a, gp, upper: false),
                    null => PyOps.FloatRepr(a),
                    _ => throw new PyException($"Unknown format code '{type}' for object of type 'float'"),
                };
            }
        }

        var sign = negative ? "-" : s.Sign is '+' or ' ' ? s.Sign.ToString() : string.Empty;
        if (s.Align == '=' || (s.ZeroPad && s.Align is null or '='))
        {
            var padded = body.PadLeft(Math.Max(0, s.Width - sign.Length), s.Fill == ' ' && s.ZeroPad ? '0' : s.Fill);
            return sign + padded;
        }

        return Pad(sign + body, s);
    }

    private static string Exponential(double a, int digits, char type)
    {
        var (mantissa, exponent) = PyRound.Scientific(a, digits);
        var text = mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", Inv);
        return type == 'E' ? text.ToUpperInvariant() : text;
    }

    /// <summary>Python's <c>g</c>: fixed or scientific by the exponent, trailing zeros removed.</summary>
    private static string General(double a, int precision, bool upper)
    {
        var p = precision == 0 ? 1 : precision;
        if (a == 0)
        {
            return "0";
        }

        var (_, exponent) = PyRound.Scientific(a, p - 1);
        string text;
        if (exponent >= -4 && exponent < p)
        {
            text = PyRound.Fixed(a, p - 1 - exponent);
            if (text.Contains('.', StringComparison.Ordinal))
            {
                text = text.TrimEnd('0').TrimEnd('.');
            }
        }
        else
        {
            var (mantissa, e) = PyRound.Scientific(a, p - 1);
            if (mantissa.Contains('.', StringComparison.Ordinal))
            {
                mantissa = mantissa.TrimEnd('0').TrimEnd('.');
            }

            text = mantissa + (upper ? "E" : "e") + (e < 0 ? "-" : "+") + Math.Abs(e).ToString("00", Inv);
        }

        return text;
    }

    /// <summary>Thousands separators in the integer part of a fixed-point number.</summary>
    private static string Group(string number, bool grouping)
    {
        if (!grouping)
        {
            return number;
        }

        var dot = number.IndexOf('.', StringComparison.Ordinal);
        var integer = dot >= 0 ? number[..dot] : number;
        var sb = new StringBuilder();
        for (var i = 0; i < integer.Length; i++)
        {
            if (i > 0 && (integer.Length - i) % 3 == 0)
            {
                sb.Append(',');
            }

            sb.Append(integer[i]);
        }

        return dot >= 0 ? sb + number[dot..] : sb.ToString();
    }

    private static string Pad(string text, Spec s)
    {
        if (text.Length >= s.Width)
        {
            return text;
        }

        var fill = s.Fill;
        var pad = s.Width - text.Length;
        return s.Align switch
        {
            '<' => text + new string(fill, pad),
            '^' => new string(fill, pad / 2) + text + new string(fill, pad - (pad / 2)),
            _ => new string(fill, pad) + text,
        };
    }
}
