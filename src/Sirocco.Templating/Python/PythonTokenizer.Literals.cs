using System.Globalization;
using Sirocco.Templating.Expressions;

namespace Sirocco.Templating.Python;

/// <summary>Names, numbers and strings.</summary>
public sealed partial class PythonTokenizer
{
    /// <summary>A name, or in Python a string with a prefix (<c>r</c>, <c>f</c>, <c>rb</c>...); Jinja2 has no prefixes.</summary>
    private void NameOrPrefixedString()
    {
        var s = _pos;
        while (_pos < _end && (char.IsLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
        {
            _pos++;
        }

        if (!Jinja && _pos < _end && _text[_pos] is '\'' or '"' && _pos - s <= 2 && IsPrefix(_text.AsSpan(s, _pos - s)))
        {
            StringLiteral(s, _text.Substring(s, _pos - s).ToLowerInvariant());
            return;
        }

        Add(PythonTokenKind.Name, _text[s.._pos], null, s);
    }

    private static bool IsPrefix(ReadOnlySpan<char> p)
    {
        Span<char> lower = stackalloc char[p.Length];
        p.ToLowerInvariant(lower);
        return lower is "r" or "u" or "f" or "b" or "rb" or "br" or "fr" or "rf";
    }

    /// <summary>
    /// An integer or float. Python reads <c>.5</c>, <c>1.</c> and <c>1e1_0</c> and refuses a letter right after the
    /// digits; Jinja2 wants a digit after the point, no <c>_</c> in the exponent, and leaves a following letter to
    /// the next token.
    /// </summary>
    private void Number()
    {
        var s = _pos;
        var t = _text;
        if (t[_pos] == '0' && _pos + 1 < _end && t[_pos + 1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            var radix = char.ToLowerInvariant(t[_pos + 1]) switch
            {
                'x' => 16,
                'o' => 8,
                _ => 2,
            };
            _pos += 2;
            var ds = _pos;
            while (_pos < _end && (Uri.IsHexDigit(t[_pos]) || t[_pos] == '_'))
            {
                _pos++;
            }

            var digits = t[ds.._pos].Replace("_", string.Empty, StringComparison.Ordinal);
            try
            {
                Add(PythonTokenKind.Int, t[s.._pos], Convert.ToInt64(digits, radix), s);
                return;
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw Error($"invalid integer literal '{t[s.._pos]}'", s);
            }
        }

        var isFloat = false;
        Digits(underscores: true);
        if (_pos < _end && t[_pos] == '.' && (!Jinja || (_pos + 1 < _end && char.IsAsciiDigit(t[_pos + 1]))))
        {
            isFloat = true;
            _pos++;
            Digits(underscores: true);
        }

        if (_pos < _end && t[_pos] is 'e' or 'E')
        {
            var j = _pos + 1;
            if (j < _end && t[j] is '+' or '-')
            {
                j++;
            }

            if (j < _end && char.IsAsciiDigit(t[j]))
            {
                isFloat = true;
                _pos = j;
                Digits(underscores: !Jinja);
            }
        }

        if (!Jinja && _pos < _end && (t[_pos] is 'j' or 'J' || char.IsLetter(t[_pos]) || t[_pos] == '_'))
        {
            throw Error(t[_pos] is 'j' or 'J' ? "complex numbers are not supported" : $"invalid number literal '{t[s..(_pos + 1)]}'", s);
        }

        var lit = t[s.._pos].Replace("_", string.Empty, StringComparison.Ordinal);
        if (isFloat)
        {
            Add(PythonTokenKind.Float, t[s.._pos], double.Parse(lit, NumberStyles.Float, CultureInfo.InvariantCulture), s);
            return;
        }

        // Jinja2 refuses leading zeros before the size; Python (the DAG-file reader) names a too-large literal first.
        var fits = long.TryParse(lit, NumberStyles.None, CultureInfo.InvariantCulture, out var l);
        if ((fits || Jinja) && lit.Length > 1 && lit[0] == '0' && lit.AsSpan().ContainsAnyExcept('0'))
        {
            throw Error("leading zeros in decimal integer literals are not permitted", s);
        }

        if (!fits)
        {
            throw Error(Jinja ? $"integer literal too large: {lit}" : $"integer literal too large for a DAG file: {lit}", s);
        }

        Add(PythonTokenKind.Int, t[s.._pos], l, s);
    }

    private void Digits(bool underscores)
    {
        while (_pos < _end && (char.IsAsciiDigit(_text[_pos]) || (underscores && _text[_pos] == '_' && _pos + 1 < _end && char.IsAsciiDigit(_text[_pos + 1]))))
        {
            _pos++;
        }
    }

    /// <summary>
    /// A string literal from its quote at the current position (<paramref name="start"/> is where its prefix starts).
    /// A backslash escapes the next character, whatever it is, and the body is decoded with Python's rules. Python
    /// also has triple quotes, and a newline ends a one-quote string; Jinja2's strings may span lines.
    /// </summary>
    private void StringLiteral(int start, string prefix)
    {
        if (prefix.Contains('b', StringComparison.Ordinal))
        {
            throw Error("bytes literals are not supported", start);
        }

        var raw = prefix.Contains('r', StringComparison.Ordinal);
        var isF = prefix.Contains('f', StringComparison.Ordinal);
        var quote = _text[_pos];
        var triple = !Jinja && _pos + 2 < _end && _text[_pos + 1] == quote && _text[_pos + 2] == quote;
        var unterminated = Jinja ? "unexpected end of string" : triple ? "unterminated triple-quoted string literal" : "unterminated string literal";
        _pos += triple ? 3 : 1;
        var bodyStart = _pos;
        int bodyEnd;
        while (true)
        {
            if (_pos >= _end)
            {
                throw Error(unterminated, start);
            }

            var c = _text[_pos];
            if (c == '\\')
            {
                _pos += 2;
                continue;
            }

            if (c == '\n' && !triple && !Jinja)
            {
                throw Error(unterminated, start);
            }

            if (c == quote && (!triple || (_pos + 2 < _end && _text[_pos + 1] == quote && _text[_pos + 2] == quote)))
            {
                bodyEnd = _pos;
                _pos += triple ? 3 : 1;
                break;
            }

            _pos++;
        }

        if (isF)
        {
            Add(PythonTokenKind.FString, _text[start.._pos], _text[bodyStart..bodyEnd], start, bodyStart, raw);
            return;
        }

        Add(PythonTokenKind.String, _text[start.._pos], raw ? Normalize(_text[bodyStart..bodyEnd]) : PyStringLiteral.Decode(_text, bodyStart, bodyEnd, _error), start);
    }

    private static string Normalize(string s) => s.Contains('\r', StringComparison.Ordinal) ? s.Replace("\r\n", "\n", StringComparison.Ordinal) : s;
}
