using System.Globalization;
using Sirocco.Templating.Expressions;

namespace Sirocco.Templating.Python;

/// <summary>
/// The one tokenizer of Python syntax, shared by the template engine and the Airflow DAG-file reader. For the reader
/// it reads whole modules as Python's tokenizer does (logical lines, INDENT/DEDENT, comments, continuations, every
/// string form, f-strings kept raw) and the expressions inside f-strings. For templates it reads Jinja2 expressions
/// as Jinja2's lexer does: inside a tag it stops at the closer (<c>}}</c> or <c>%}</c>, optionally preceded by
/// <c>-</c> or <c>+</c>) once brackets balance, with Jinja2's operators (<c>~</c>, no shifts or augmented
/// assignments), plain quotes only and Jinja2's error messages.
/// </summary>
public sealed partial class PythonTokenizer
{
    private static readonly Dictionary<char, string[]> PythonOperators = ByFirstCharacter(
    [
        "**=", "//=", ">>=", "<<=", "...", "->", "**", "//", ">>", "<<", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=",
        "%=", "&=", "|=", "^=", "@=", ":=", "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")", "[", "]",
        "{", "}", ",", ":", ".", ";", "=",
    ]);

    private static readonly Dictionary<char, string[]> JinjaOperators = ByFirstCharacter(
    [
        "**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[", "]", "(", ")", "{", "}", "<", ">", "=",
        ".", ":", "|", ",", ";",
    ]);

    private static readonly Func<string, int, Exception> TemplateError = static (message, offset) => new SyntaxErrorException(message, offset);

    private const int MaxIndentLevels = 60;
    private const int MaxBracketDepth = 100;

    private readonly string _text;
    private readonly int _end;
    private readonly Mode _mode;
    private readonly string? _closer;
    private readonly Func<string, int, Exception> _error;
    private readonly Dictionary<char, string[]> _operators;
    private readonly List<PythonToken> _tokens = [];
    private readonly Stack<int> _indents = new();
    private readonly Stack<(char Bracket, int Offset)> _open = new();
    private int _pos;
    private int _depth;
    private int _after;
    private bool _stripAfter;

    private PythonTokenizer(string text, int start, int end, Mode mode, string? closer, Func<string, int, Exception> error)
    {
        _text = text;
        _pos = start;
        _end = end;
        _mode = mode;
        _closer = closer;
        _error = error;
        _operators = mode == Mode.Jinja ? JinjaOperators : PythonOperators;
        _indents.Push(0);
    }

    /// <summary>Which rules a run follows.</summary>
    private enum Mode
    {
        /// <summary>A whole Python module: line structure and indentation.</summary>
        Module,

        /// <summary>A Python expression inside an f-string: newlines are blanks.</summary>
        Expression,

        /// <summary>A Jinja2 expression, in a tag or on its own.</summary>
        Jinja,
    }

    private bool Jinja => _mode == Mode.Jinja;

    /// <summary>The tokens of a whole Python module, ending with <see cref="PythonTokenKind.End"/>.</summary>
    /// <param name="text">The module's source.</param>
    /// <param name="error">Makes the exception thrown for a syntax error (message, offset in <paramref name="text"/>).</param>
    public static IReadOnlyList<PythonToken> Module(string text, Func<string, int, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(error);
        return new PythonTokenizer(text, 0, text.Length, Mode.Module, null, error).Run();
    }

    /// <summary>
    /// The tokens of the Python expression in <c>text[start..end]</c> (an f-string's replacement field); offsets
    /// stay those of the whole <paramref name="text"/>.
    /// </summary>
    /// <param name="text">The whole source.</param>
    /// <param name="start">Where the expression starts.</param>
    /// <param name="end">Where the expression ends (exclusive).</param>
    /// <param name="error">Makes the exception thrown for a syntax error (message, offset in <paramref name="text"/>).</param>
    public static IReadOnlyList<PythonToken> Expression(string text, int start, int end, Func<string, int, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, text.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, end);
        return new PythonTokenizer(text, start, end, Mode.Expression, null, error).Run();
    }

    /// <summary>
    /// The tokens of a template tag's expression, from <paramref name="start"/> to <paramref name="closer"/> at bracket
    /// depth 0. <paramref name="after"/> is the offset just after the closer; <paramref name="stripAfter"/> tells a
    /// <c>-</c> closer (a <c>+</c> closer is read and does nothing here).
    /// </summary>
    internal static List<PythonToken> Tag(string text, int start, string closer, out int after, out bool stripAfter)
    {
        var tokenizer = new PythonTokenizer(text, start, text.Length, Mode.Jinja, closer, TemplateError);
        var tokens = tokenizer.Run();
        after = tokenizer._after;
        stripAfter = tokenizer._stripAfter;
        return tokens;
    }

    /// <summary>The tokens of a whole text read as one Jinja2 expression (<see cref="PythonExpression"/>, literal_eval).</summary>
    internal static List<PythonToken> JinjaExpression(string text) =>
        new PythonTokenizer(text, 0, text.Length, Mode.Jinja, null, TemplateError).Run();

    private Exception Error(string message, int offset) => _error(message, offset);

    private List<PythonToken> Run()
    {
        var atLineStart = _mode == Mode.Module;
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

            SkipBlanks();
            if (_closer is not null && _depth == 0 && AtCloser())
            {
                return _tokens;
            }

            if (_pos >= _end)
            {
                if (_closer is not null)
                {
                    throw Error($"unexpected end of template, expected '{_closer}'", _pos);
                }

                break;
            }

            var ch = _text[_pos];
            if (ch == '\n')
            {
                Add(PythonTokenKind.Newline, "\n", null, _pos);
                _pos++;
                atLineStart = true;
                continue;
            }

            if (char.IsLetter(ch) || ch == '_')
            {
                NameOrPrefixedString();
                continue;
            }

            if (char.IsAsciiDigit(ch) || (!Jinja && ch == '.' && _pos + 1 < _end && char.IsAsciiDigit(_text[_pos + 1])))
            {
                Number();
                continue;
            }

            if (ch is '\'' or '"')
            {
                StringLiteral(_pos, string.Empty);
                continue;
            }

            var op = MatchOperator() ?? throw Error(Jinja ? $"unexpected char {PyOps.Repr(ch.ToString())} at {_pos}" : $"invalid character {Describe(ch)}", _pos);
            Bracket(op);
            Add(PythonTokenKind.Op, op, null, _pos);
            _pos += op.Length;
        }

        Finish();
        return _tokens;
    }

    /// <summary>Skips blanks; in Python also comments, continuations and the newlines that do not end a line.</summary>
    private void SkipBlanks()
    {
        while (_pos < _end)
        {
            var c = _text[_pos];
            if (Jinja ? char.IsWhiteSpace(c) : c is ' ' or '\t' or '\f' or '\r' || (c == '\n' && (_depth > 0 || _mode == Mode.Expression)))
            {
                _pos++;
            }
            else if (!Jinja && c == '#')
            {
                while (_pos < _end && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else if (!Jinja && c == '\\' && _pos + 1 < _end && (_text[_pos + 1] == '\n' || (_text[_pos + 1] == '\r' && _pos + 2 < _end && _text[_pos + 2] == '\n')))
            {
                _pos += _text[_pos + 1] == '\r' ? 3 : 2;
            }
            else
            {
                break;
            }
        }
    }

    /// <summary>At a tag's closer (<c>-</c> or <c>+</c> first, or not): ends the tokens there.</summary>
    private bool AtCloser()
    {
        var closer = _closer!;
        var signed = _pos + 1 + closer.Length <= _end && _text[_pos] is '-' or '+'
            && string.CompareOrdinal(_text, _pos + 1, closer, 0, closer.Length) == 0;
        if (!signed && string.CompareOrdinal(_text, _pos, closer, 0, closer.Length) != 0)
        {
            return false;
        }

        _stripAfter = signed && _text[_pos] == '-';
        _after = _pos + (signed ? 1 : 0) + closer.Length;
        Add(PythonTokenKind.End, string.Empty, null, _pos);
        return true;
    }

    /// <summary>Keeps bracket depth: Python checks pairs and nesting; Jinja2 only refuses a closer with nothing open.</summary>
    private void Bracket(string op)
    {
        if (op is "(" or "[" or "{")
        {
            if (++_depth > MaxBracketDepth && !Jinja)
            {
                throw Error($"brackets nested more than {MaxBracketDepth} deep", _pos);
            }

            _open.Push((op[0], _pos));
        }
        else if (op is ")" or "]" or "}")
        {
            if (_depth == 0)
            {
                throw Error(Jinja ? $"unexpected '{op}'" : $"unmatched '{op}'", _pos);
            }

            var (opening, at) = _open.Pop();
            if (!Jinja && (opening, op[0]) is not (('(', ')') or ('[', ']') or ('{', '}')))
            {
                throw Error($"closing parenthesis '{op}' does not match opening parenthesis '{opening}' on line {Line(at)}", _pos);
            }

            _depth--;
        }
    }

    /// <summary>At the end of the text: Python refuses an open bracket, and a module closes its last line and blocks.</summary>
    private void Finish()
    {
        if (!Jinja && _open.Count > 0)
        {
            var (opening, at) = _open.Peek();
            throw Error($"'{opening}' was never closed", at);
        }

        if (_mode == Mode.Module)
        {
            if (_tokens.Count > 0 && _tokens[^1].Kind is not (PythonTokenKind.Newline or PythonTokenKind.Dedent or PythonTokenKind.Indent))
            {
                Add(PythonTokenKind.Newline, string.Empty, null, _end);
            }

            while (_indents.Count > 1)
            {
                _indents.Pop();
                Add(PythonTokenKind.Dedent, string.Empty, null, _end);
            }
        }

        Add(PythonTokenKind.End, string.Empty, null, _end);
    }

    private static Dictionary<char, string[]> ByFirstCharacter(string[] operators) => operators
        .GroupBy(o => o[0])
        .ToDictionary(g => g.Key, g => g.OrderByDescending(o => o.Length).ToArray());

    private string? MatchOperator()
    {
        if (!_operators.TryGetValue(_text[_pos], out var candidates))
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

    private void Add(PythonTokenKind kind, string text, object? value, int offset, int bodyOffset = 0, bool raw = false) =>
        _tokens.Add(new PythonToken(kind, text, value, offset, bodyOffset, raw));

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
                Add(PythonTokenKind.Indent, string.Empty, null, _pos);
            }
            else
            {
                while (width < _indents.Peek())
                {
                    _indents.Pop();
                    Add(PythonTokenKind.Dedent, string.Empty, null, _pos);
                }

                if (width != _indents.Peek())
                {
                    throw Error("unindent does not match any outer indentation level", _pos);
                }
            }

            return true;
        }
    }
}
