using System.Globalization;
using System.Text;

namespace Sirocco.Templating.Expressions;

/// <summary>
/// The escapes of a Python string literal, decoded once for both front ends (a template's string literals, which
/// Jinja decodes with Python's <c>unicode-escape</c> rules, and a DAG file's): <c>\n \t \r \a \b \f \v \\ \' \"</c>,
/// octal <c>\ooo</c>, <c>\xhh</c>, <c>\uXXXX</c>, <c>\UXXXXXXXX</c> (a lone surrogate stays one, as in Python), a
/// backslash before a newline joins the lines, <c>\r\n</c> reads as <c>\n</c>, and any other escape is kept as written.
/// </summary>
public static class PyStringLiteral
{
    /// <summary>Decodes <c>text[start..end]</c>; <paramref name="error"/> makes the exception for a bad escape at an offset of <paramref name="text"/>.</summary>
    public static string Decode(string text, int start, int end, Func<string, int, Exception> error)
    {
        if (text.AsSpan(start, end - start).IndexOfAny('\\', '\r') < 0)
        {
            return text[start..end];
        }

        var sb = new StringBuilder(end - start);
        var i = start;
        while (i < end)
        {
            var c = text[i++];
            if (c == '\r' && i < end && text[i] == '\n')
            {
                continue;
            }

            if (c != '\\' || i >= end)
            {
                sb.Append(c);
                continue;
            }

            var e = text[i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '\n': break;
                case '\r':
                    if (i < end && text[i] == '\n')
                    {
                        i++;
                    }

                    break;
                case >= '0' and <= '7':
                    var code = e - '0';
                    for (var k = 0; k < 2 && i < end && text[i] is >= '0' and <= '7'; k++)
                    {
                        code = (code * 8) + (text[i++] - '0');
                    }

                    sb.Append((char)code);
                    break;
                case 'x' or 'u' or 'U':
                    var n = e switch
                    {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    if (i + n > end || !int.TryParse(text.AsSpan(i, n), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cp))
                    {
                        throw error($"truncated \\{e} escape", i - 2);
                    }

                    if (cp > 0x10FFFF)
                    {
                        throw error($"illegal Unicode character in \\{e} escape", i - 2);
                    }

                    if (cp is >= 0xD800 and <= 0xDFFF)
                    {
                        sb.Append((char)cp);
                    }
                    else
                    {
                        sb.Append(char.ConvertFromUtf32(cp));
                    }

                    i += n;
                    break;
                case 'N':
                    throw error("\\N{...} escapes are not supported", i - 2);
                default:
                    sb.Append('\\').Append(e);
                    break;
            }
        }

        return sb.ToString();
    }
}
