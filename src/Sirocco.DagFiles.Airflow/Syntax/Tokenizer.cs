using System.Globalization;

namespace Sirocco.DagFiles.Airflow.Syntax;

internal enum TokenKind
{
    Name,
    Int,
    Float,
    String,
    FString,
    Op,
    Newline,
    Indent,
    Dedent,
    End,
}

/// <summary>
/// One token. For <see cref="TokenKind.String"/> the value is the decoded text; for <see cref="TokenKind.FString"/> it
/// is the raw body (decoded later, part by part) and <see cref="BodyOffset"/> locates it.
/// </summary>
internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Offset, int BodyOffset = 0, bool Raw = false)
{
    public bool Is(string op) => Kind == TokenKind.Op && Text == op;

    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;
}

/// <summary>Splits Python source into tokens as Python's tokenizer does: logical lines, indentation, all string forms.</summary>
internal sealed class Tokenizer
{
    private static readonly string[] Operators =
    [
        "**=", "//=", ">>=", "<<=", "...", "->", "**", "//", ">>", "<<", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=",
        "%=", "&=", "|=", "^=", "@=", ":=", "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")", "[", "]",
        "{", "}", ",", ":", ".", ";", "=",
    ];

    // Operators by their first character, longest first, so each position tries only the few that can match.
    private static readonly Dictionary<char, string[]> OperatorsByFirst = Operators
        .GroupBy(o => o[0])
        .ToDictionary(g => g.Key, g => g.OrderByDescending(o => o.Length).ToArray());

    private const int MaxIndentLevels = 60;
    private const int MaxBracketDepth = 100;

    private readonly string _text;
    private readonly int _end;
    private readonly bool _expressionOnly;
    private readonly List<Token> _tokens = [];
    private readonly Stack<int> _indents = new();
    private readonly Stack<(char Bracket, int Offset)> _open = new();
    private int _pos;
    private int _depth;

    private Tokenizer(string text, int start, int end, bool expressionOnly)
    {
        _text = text;
        _pos = start;
        _end = end;
        _expressionOnly = expressionOnly;
        _indents.Push(0);
    }

    /// <summary>The tokens of a whole module.</summary>
    public static List<Token> Module(string text) => new Tokenizer(text, 0, text.Length, false).Run();

    /// <summary>The tokens of an expression inside an f-string (positions stay those of the whole file).</summary>
    public static List<Token> Expression(string text, int start, int end) => new Tokenizer(text, start, end, true).Run();

    private DagSyntaxException Error(string message, int offset) => new(message, offset);

    private List<Token> Run()
    {
        var atLineStart = !_expressionOnly;
        while (true)
        {
            if (atLineStart)
            {
                atLineStart = false;
                if (!Indentation())
                {
                    break;
                }
            }

            // Skip blanks, comments and continuations inside the line.
            while (_pos < _end)
            {
                var c = _text[_pos];
                if (c is ' ' or '\t' or '\f')
                {
                    _pos++;
                }
                else if (c == '#')
                {
                    while (_pos < _end && _text[_pos] != '\n')
                    {
                        _pos++;
                    }
                }
                else if (c == '\\' && _pos + 1 < _end && (_text[_pos + 1] == '\n' || (_text[_pos + 1] == '\r' && _pos + 2 < _end && _text[_pos + 2] == '\n')))
                {
                    _pos += _text[_pos + 1] == '\r' ? 3 : 2;
                }
                else if (c == '\r')
                {
                    _pos++;
                }
                else if (c == '\n' && (_depth > 0 || _expressionOnly))
                {
                    _pos++;
                }
                else
                {
                    break;
                }
            }

            if (_pos >= _end)
            {
                break;
            }

            var ch = _text[_pos];
            if (ch == '\n')
            {
                Add(TokenKind.Newline, "\n", null, _pos);
                _pos++;
                atLineStart = true;
                continue;
            }

            if (char.IsLetter(ch) || ch == '_')
            {
                var s = _pos;
                while (_pos < _end && (char.IsLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
                {
                    _pos++;
                }

                if (_pos < _end && _text[_pos] is '\'' or '"' && _pos - s <= 2 && IsPrefix(_text.AsSpan(s, _pos - s)))
                {
                    StringLiteral(s, _text.Substring(s, _pos - s).ToLowerInvariant());
                    continue;
                }

                Add(TokenKind.Name, _text[s.._pos], null, s);
                continue;
            }

            if (char.IsAsciiDigit(ch) || (ch == '.' && _pos + 1 < _end && char.IsAsciiDigit(_text[_pos + 1])))
            {
                Number();
                continue;
            }

            if (ch is '\'' or '"')
            {
                StringLiteral(_pos, string.Empty);
                continue;
            }

            var op = MatchOperator() ?? throw Error($"invalid character {Describe(ch)}", _pos);
            if (op is "(" or "[" or "{")
            {
                if (++_depth > MaxBracketDepth)
                {
                    throw Error($"brackets nested more than {MaxBracketDepth} deep", _pos);
                }

                _open.Push((op[0], _pos));
            }
            else if (op is ")" or "]" or "}")
            {
                if (_depth == 0)
                {
                    throw Error($"unmatched '{op}'", _pos);
                }

                var (opening, at) = _open.Pop();
                if ((opening, op[0]) is not (('(', ')') or ('[', ']') or ('{', '}')))
                {
                    throw Error($"closing parenthesis '{op}' does not match opening parenthesis '{opening}' on line {Line(at)}", _pos);
                }

                _depth--;
            }

            Add(TokenKind.Op, op, null, _pos);
            _pos += op.Length;
        }

        if (_open.Count > 0)
        {
            var (opening, at) = _open.Peek();
            throw Error($"'{opening}' was never closed", at);
        }

        if (!_expressionOnly)
        {
            if (_tokens.Count > 0 && _tokens[^1].Kind is not (TokenKind.Newline or TokenKind.Dedent or TokenKind.Indent))
            {
                Add(TokenKind.Newline, string.Empty, null, _end);
            }

            while (_indents.Count > 1)
            {
                _indents.Pop();
                Add(TokenKind.Dedent, string.Empty, null, _end);
            }
        }

        Add(TokenKind.End, string.Empty, null, _end);
        return _tokens;
    }

    private string? MatchOperator()
    {
        if (!OperatorsByFirst.TryGetValue(_text[_pos], out var candidates))
        {
            return null;
        }

        foreach (var o in candidates)
        {
            if (o.Length == 1 || (_pos + o.Length <= _end && string.CompareOrdinal(_text, _pos, o, 0, o.Length) == 0))
            {
                return o;
            }
        }

        return null;
    }

    private int Line(int offset) => _text.AsSpan(0, offset).Count('\n') + 1;

    private static string Describe(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c)
            ? "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture)
            : $"'{c}'";

    private static bool IsPrefix(ReadOnlySpan<char> p)
    {
        Span<char> lower = stackalloc char[p.Length];
        p.ToLowerInvariant(lower);
        return lower is "r" or "u" or "f" or "b" or "rb" or "br" or "fr" or "rf";
    }

    private void Add(TokenKind kind, string text, object? value, int offset, int bodyOffset = 0, bool raw = false) =>
        _tokens.Add(new Token(kind, text, value, offset, bodyOffset, raw));

    /// <summary>Reads the indentation of a new logical line; false at the end of the text.</summary>
    private bool Indentation()
    {
        while (true)
        {
            var s = _pos;
            var width = 0;
            while (_pos < _end && _text[_pos] is ' ' or '\t' or '\f')
            {
                width = _text[_pos] == '\t' ? (width / 8 * 8) + 8 : _text[_pos] == '\f' ? 0 : width + 1;
                _pos++;
            }

            if (_pos >= _end)
            {
                return false;
            }

            var c = _text[_pos];
            if (c is '\n' or '\r' or '#')
            {
                // A blank or comment-only line: no token, no indentation change.
                while (_pos < _end && _text[_pos] != '\n')
                {
                    _pos++;
                }

                _pos++;
                continue;
            }

            if (c == '\\' && _pos + 1 < _end && _text[_pos + 1] is '\n' or '\r')
            {
                // A continuation at the start of a line joins it to the next one.
                _pos += 2;
                continue;
            }

            if (width > _indents.Peek())
            {
                if (_indents.Count >= MaxIndentLevels)
                {
                    throw Error($"blocks nested more than {MaxIndentLevels} deep", s);
                }

                _indents.Push(width);
                Add(TokenKind.Indent, string.Empty, null, _pos);
            }
            else
            {
                while (width < _indents.Peek())
                {
                    _indents.Pop();
                    Add(TokenKind.Dedent, string.Empty, null, _pos);
                }

                if (width != _indents.Peek())
                {
                    throw Error("unindent does not match any outer indentation level", _pos);
                }
            }

            return true;
        }
    }

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
                Add(TokenKind.Int, t[s.._pos], Convert.ToInt64(digits, radix), s);
                return;
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw Error($"invalid integer literal '{t[s.._pos]}'", s);
            }
        }

        var isFloat = false;
        Digits();
        if (_pos < _end && t[_pos] == '.')
        {
            isFloat = true;
            _pos++;
            Digits();
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
                Digits();
            }
        }

        if (_pos < _end && (t[_pos] is 'j' or 'J' || char.IsLetter(t[_pos]) || t[_pos] == '_'))
        {
            throw Error(t[_pos] is 'j' or 'J' ? "complex numbers are not supported" : $"invalid number literal '{t[s..(_pos + 1)]}'", s);
        }

        var lit = t[s.._pos].Replace("_", string.Empty, StringComparison.Ordinal);
        if (isFloat)
        {
            Add(TokenKind.Float, t[s.._pos], double.Parse(lit, NumberStyles.Float, CultureInfo.InvariantCulture), s);
        }
        else if (long.TryParse(lit, NumberStyles.None, CultureInfo.InvariantCulture, out var l))
        {
            if (lit.Length > 1 && lit[0] == '0' && l != 0)
            {
                throw Error("leading zeros in decimal integer literals are not permitted", s);
            }

            Add(TokenKind.Int, t[s.._pos], l, s);
        }
        else
        {
            throw Error($"integer literal too large for a DAG file: {lit}", s);
        }
    }

    private void Digits()
    {
        while (_pos < _end && (char.IsAsciiDigit(_text[_pos]) || (_text[_pos] == '_' && _pos + 1 < _end && char.IsAsciiDigit(_text[_pos + 1]))))
        {
            _pos++;
        }
    }

    private void StringLiteral(int start, string prefix)
    {
        if (prefix.Contains('b', StringComparison.Ordinal))
        {
            throw Error("bytes literals are not supported", start);
        }

        var raw = prefix.Contains('r', StringComparison.Ordinal);
        var isF = prefix.Contains('f', StringComparison.Ordinal);
        var quote = _text[_pos];
        var triple = _pos + 2 < _end && _text[_pos + 1] == quote && _text[_pos + 2] == quote;
        _pos += triple ? 3 : 1;
        var bodyStart = _pos;
        int bodyEnd;
        while (true)
        {
            if (_pos >= _end)
            {
                throw Error(triple ? "unterminated triple-quoted string literal" : "unterminated string literal", start);
            }

            var c = _text[_pos];
            if (c == '\\')
            {
                _pos += 2;
                continue;
            }

            if (c == '\n' && !triple)
            {
                throw Error("unterminated string literal", start);
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
            Add(TokenKind.FString, _text[start.._pos], _text[bodyStart..bodyEnd], start, bodyStart, raw);
            return;
        }

        Add(TokenKind.String, _text[start.._pos], raw ? Normalize(_text[bodyStart..bodyEnd]) : Unescape(_text, bodyStart, bodyEnd), start);
    }

    private static string Normalize(string s) => s.Contains('\r', StringComparison.Ordinal) ? s.Replace("\r\n", "\n", StringComparison.Ordinal) : s;

    /// <summary>Decodes the escapes of a (non-raw) string body, as template string literals are decoded.</summary>
    public static string Unescape(string text, int start, int end) =>
        Templating.Expressions.PyStringLiteral.Decode(text, start, end, static (message, offset) => new DagSyntaxException(message, offset));
}
