using System.Globalization;

namespace Sirocco.Templating.Expressions;

internal enum TokenKind
{
    Name,
    Int,
    Float,
    String,
    Op,
    End,
}

/// <summary>One token; <see cref="Offset"/> is the position in the whole source text.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Offset)
{
    public bool Is(string op) => Kind == TokenKind.Op && Text == op;

    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;
}

/// <summary>A syntax error at a position in the source.</summary>
internal sealed class SyntaxErrorException : Exception
{
    public SyntaxErrorException(string message, int offset)
        : base(message) => Offset = offset;

    public int Offset { get; }
}

/// <summary>
/// Tokenizes Python/Jinja expressions. Inside a template tag it stops at the closing delimiter (<c>}}</c> or
/// <c>%}</c>, optionally preceded by <c>-</c> or <c>+</c>) once brackets are balanced, as Jinja2's lexer does.
/// </summary>
internal static class Lexer
{
    private static readonly string[] Operators =
    [
        "**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[", "]", "(", ")", "{", "}", "<", ">", "=",
        ".", ":", "|", ",", ";",
    ];

    /// <summary>
    /// Tokens from <paramref name="start"/> until <paramref name="closer"/> (or the end of text when null).
    /// <paramref name="end"/> is the offset just after the closer; <paramref name="stripAfter"/> tells a <c>-</c> closer.
    /// </summary>
    public static List<Token> Tokenize(string text, int start, string? closer, out int end, out bool stripAfter)
    {
        var tokens = new List<Token>();
        var depth = 0;
        var i = start;
        stripAfter = false;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (closer is not null && depth == 0)
            {
                if (i + 1 + closer.Length <= text.Length && text[i] is '-' or '+'
                    && string.CompareOrdinal(text, i + 1, closer, 0, closer.Length) == 0)
                {
                    stripAfter = text[i] == '-';
                    tokens.Add(new Token(TokenKind.End, string.Empty, null, i));
                    end = i + 1 + closer.Length;
                    return tokens;
                }

                if (string.CompareOrdinal(text, i, closer, 0, closer.Length) == 0)
                {
                    tokens.Add(new Token(TokenKind.End, string.Empty, null, i));
                    end = i + closer.Length;
                    return tokens;
                }
            }

            if (i >= text.Length)
            {
                if (closer is not null)
                {
                    throw new SyntaxErrorException($"unexpected end of template, expected '{closer}'", i);
                }

                tokens.Add(new Token(TokenKind.End, string.Empty, null, i));
                end = i;
                return tokens;
            }

            var c = text[i];
            if (char.IsLetter(c) || c == '_')
            {
                var s = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Name, text[s..i], null, s));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                tokens.Add(Number(text, ref i));
                continue;
            }

            if (c is '\'' or '"')
            {
                tokens.Add(StringLiteral(text, ref i));
                continue;
            }

            var op = Array.Find(Operators, o => string.CompareOrdinal(text, i, o, 0, o.Length) == 0)
                ?? throw new SyntaxErrorException($"unexpected char {PyOps.Repr(c.ToString())} at {i}", i);
            if (op is "(" or "[" or "{")
            {
                depth++;
            }
            else if (op is ")" or "]" or "}")
            {
                if (depth == 0)
                {
                    throw new SyntaxErrorException($"unexpected '{op}'", i);
                }

                depth--;
            }

            tokens.Add(new Token(TokenKind.Op, op, null, i));
            i += op.Length;
        }
    }

    private static Token Number(string text, ref int i)
    {
        var s = i;
        if (text[i] == '0' && i + 1 < text.Length && text[i + 1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            var radix = char.ToLowerInvariant(text[i + 1]) switch
            {
                'x' => 16,
                'o' => 8,
                _ => 2,
            };
            i += 2;
            var ds = i;
            while (i < text.Length && (Uri.IsHexDigit(text[i]) || text[i] == '_'))
            {
                i++;
            }

            var digits = text[ds..i].Replace("_", string.Empty, StringComparison.Ordinal);
            try
            {
                return new Token(TokenKind.Int, text[s..i], Convert.ToInt64(digits, radix), s);
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new SyntaxErrorException($"invalid integer literal '{text[s..i]}'", s);
            }
        }

        while (i < text.Length && (char.IsAsciiDigit(text[i]) || (text[i] == '_' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))))
        {
            i++;
        }

        var isFloat = false;
        if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
        {
            isFloat = true;
            i++;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || (text[i] == '_' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))))
            {
                i++;
            }
        }

        if (i < text.Length && text[i] is 'e' or 'E')
        {
            var j = i + 1;
            if (j < text.Length && text[j] is '+' or '-')
            {
                j++;
            }

            if (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                isFloat = true;
                i = j;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }
            }
        }

        var lit = text[s..i].Replace("_", string.Empty, StringComparison.Ordinal);
        if (!isFloat && lit.Length > 1 && lit[0] == '0' && lit.Any(c => c != '0'))
        {
            throw new SyntaxErrorException("leading zeros in decimal integer literals are not permitted", s);
        }

        if (isFloat)
        {
            return new Token(TokenKind.Float, text[s..i], double.Parse(lit, NumberStyles.Float, CultureInfo.InvariantCulture), s);
        }

        return long.TryParse(lit, NumberStyles.None, CultureInfo.InvariantCulture, out var l)
            ? new Token(TokenKind.Int, text[s..i], l, s)
            : throw new SyntaxErrorException($"integer literal too large: {lit}", s);
    }

    private static Token StringLiteral(string text, ref int i)
    {
        // As Jinja's string pattern: a backslash escapes the next character, whatever it is; the body is then
        // decoded with Python's rules, by the decoder DAG files use too.
        var s = i;
        var quote = text[i++];
        var bodyStart = i;
        while (true)
        {
            if (i >= text.Length)
            {
                throw new SyntaxErrorException("unexpected end of string", s);
            }

            var c = text[i];
            if (c == quote)
            {
                break;
            }

            i += c == '\\' ? 2 : 1;
        }

        var body = PyStringLiteral.Decode(text, bodyStart, Math.Min(i, text.Length), static (message, offset) => new SyntaxErrorException(message, offset));
        i++;
        return new Token(TokenKind.String, text[s..i], body, s);
    }
}
