using System.Text.RegularExpressions;
using Sirocco.Templating.Expressions;
using Sirocco.Templating.Python;

namespace Sirocco.Templating.Jinja;

/// <summary>
/// Compiles Jinja2 template text into nodes, with Airflow's environment settings: no autoescape, no trim_blocks or
/// lstrip_blocks, one trailing newline dropped (keep_trailing_newline off), newlines normalised to <c>\n</c>.
/// </summary>
internal sealed partial class TemplateCompiler
{
    private readonly string _source;
    private readonly ExprEnvironment _env;
    private readonly RenderOptions _options;
    private readonly List<Segment> _segments = [];
    private const int MaxNesting = 100;
    private int _pos;
    private int _nesting;

    private TemplateCompiler(string source, ExprEnvironment env, RenderOptions options)
    {
        _source = source;
        _env = env;
        _options = options;
    }

    private enum SegmentKind
    {
        Text,
        Output,
        Tag,
    }

    private sealed record Segment(SegmentKind Kind, int Offset, string Text, List<PythonToken>? Tokens);

    /// <summary>Normalises newlines as Jinja2's lexer does, so offsets refer to this text.</summary>
    public static string Normalize(string text)
    {
        if (text.Contains('\r', StringComparison.Ordinal))
        {
            text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        }

        return text.EndsWith('\n') ? text[..^1] : text;
    }

    public static Node[] Compile(string normalized, ExprEnvironment env, RenderOptions options)
    {
        var c = new TemplateCompiler(normalized, env, options);
        c.Lex();
        var nodes = c.ParseBody([], out var endTag, out _);
        if (endTag is not null)
        {
            throw new SyntaxErrorException($"Encountered unknown tag '{endTag}'.", c._segments[c._pos - 1].Offset);
        }

        return nodes;
    }

    [GeneratedRegex(@"\G\{%([-+]?)\s*raw\s*([-+]?)%\}")]
    private static partial Regex RawBegin();

    [GeneratedRegex(@"\{%([-+]?)\s*endraw\s*([-+]?)%\}")]
    private static partial Regex RawEnd();

    private void Lex()
    {
        var s = _source;
        var i = 0;
        var stripNext = false;
        while (i < s.Length)
        {
            var open = FindOpen(s, i);
            var textEnd = open < 0 ? s.Length : open;
            var text = s[i..textEnd];
            if (stripNext)
            {
                text = text.TrimStart();
                stripNext = false;
            }

            if (open < 0)
            {
                AddText(i, text);
                break;
            }

            var kind = s[open + 1];
            var stripBefore = open + 2 < s.Length && s[open + 2] == '-';
            if (stripBefore)
            {
                text = text.TrimEnd();
            }

            AddText(i, text);
            var bodyStart = open + 2 + (open + 2 < s.Length && s[open + 2] is '-' or '+' ? 1 : 0);
            if (kind == '#')
            {
                var close = s.IndexOf("#}", bodyStart, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new SyntaxErrorException("Missing end of comment tag", open);
                }

                stripNext = s[close - 1] == '-' && close - 1 >= bodyStart;
                i = close + 2;
                continue;
            }

            if (kind == '%')
            {
                var raw = RawBegin().Match(s, open);
                if (raw.Success)
                {
                    var end = RawEnd().Match(s, raw.Index + raw.Length);
                    if (!end.Success)
                    {
                        throw new SyntaxErrorException("Missing end of raw directive", open);
                    }

                    var content = s[(raw.Index + raw.Length)..end.Index];
                    if (raw.Groups[2].Value == "-")
                    {
                        content = content.TrimStart();
                    }

                    if (end.Groups[1].Value == "-")
                    {
                        content = content.TrimEnd();
                    }

                    AddText(raw.Index, content);
                    stripNext = end.Groups[2].Value == "-";
                    i = end.Index + end.Length;
                    continue;
                }

                var tokens = PythonTokenizer.Tag(s, bodyStart, "%}", out var after, out stripNext);
                _segments.Add(new Segment(SegmentKind.Tag, open, string.Empty, tokens));
                i = after;
                continue;
            }

            var exprTokens = PythonTokenizer.Tag(s, bodyStart, "}}", out var next, out stripNext);
            _segments.Add(new Segment(SegmentKind.Output, open, string.Empty, exprTokens));
            i = next;
        }
    }

    private static int FindOpen(string s, int from)
    {
        for (var i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
        {
            if (s[i + 1] is '{' or '%' or '#')
            {
                return i;
            }
        }

        return -1;
    }

    private void AddText(int offset, string text)
    {
        if (text.Length > 0)
        {
            _segments.Add(new Segment(SegmentKind.Text, offset, text, null));
        }
    }

    /// <summary>Nodes until one of <paramref name="endTags"/> (returned in <paramref name="endTag"/>) or the end.</summary>
    private Node[] ParseBody(string[] endTags, out string? endTag, out Parser? endParser)
    {
        if (++_nesting > MaxNesting)
        {
            throw new SyntaxErrorException($"blocks nested too deeply (more than {MaxNesting} levels)", _pos < _segments.Count ? _segments[_pos].Offset : _source.Length);
        }

        try
        {
            return ParseBodyCore(endTags, out endTag, out endParser);
        }
        finally
        {
            _nesting--;
        }
    }

    private Node[] ParseBodyCore(string[] endTags, out string? endTag, out Parser? endParser)
    {
        var nodes = new List<Node>();
        while (_pos < _segments.Count)
        {
            var seg = _segments[_pos++];
            switch (seg.Kind)
            {
                case SegmentKind.Text:
                    nodes.Add(new TextNode(seg.Offset, seg.Text));
                    break;
                case SegmentKind.Output:
                    var p = new Parser(seg.Tokens!, _env);
                    var expr = p.ParseTuple();
                    p.ExpectEnd("print statement");
                    nodes.Add(new OutputNode(seg.Offset, expr));
                    break;
                default:
                    var parser = new Parser(seg.Tokens!, _env);
                    if (parser.Current.Kind != PythonTokenKind.Name)
                    {
                        throw new SyntaxErrorException("tag name expected", seg.Offset);
                    }

                    var name = parser.Current.Text;
                    if (endTags.Contains(name))
                    {
                        parser.Next();
                        endTag = name;
                        endParser = parser;
                        return [.. nodes];
                    }

                    parser.Next();
                    nodes.Add(name switch
                    {
                        "if" => ParseIf(parser, seg.Offset),
                        "for" => ParseFor(parser, seg.Offset),
                        "set" => ParseSet(parser, seg.Offset),
                        "macro" => ParseMacro(parser, seg.Offset),
                        "filter" => ParseFilterBlock(parser, seg.Offset, seg.Tokens!),
                        "include" => ParseInclude(parser, seg.Offset),
                        _ => throw new SyntaxErrorException(UnknownTag(name, endTags), seg.Offset),
                    });
                    break;
            }
        }

        if (endTags.Length > 0)
        {
            throw new SyntaxErrorException(
                $"Unexpected end of template. Jinja was looking for the following tags: {string.Join(" or ", endTags.Select(t => $"'{t}'"))}.",
                _source.Length);
        }

        endTag = null;
        endParser = null;
        return [.. nodes];
    }

    private static string UnknownTag(string name, string[] endTags) =>
        endTags.Length == 0
            ? $"Encountered unknown tag '{name}'."
            : $"Encountered unknown tag '{name}'. Jinja was looking for the following tags: {string.Join(" or ", endTags.Select(t => $"'{t}'"))}.";

    private IfNode ParseIf(Parser parser, int offset)
    {
        var branches = new List<(Expr, Node[])>();
        var test = parser.ParseTuple(withCondExpr: false);
        parser.ExpectEnd("statement block");
        Node[]? otherwise = null;
        while (true)
        {
            var body = ParseBody(["elif", "else", "endif"], out var end, out var endParser);
            branches.Add((test, body));
            if (end == "elif")
            {
                test = endParser!.ParseTuple(withCondExpr: false);
                endParser.ExpectEnd("statement block");
                continue;
            }

            endParser!.ExpectEnd("statement block");
            if (end == "else")
            {
                otherwise = ParseBody(["endif"], out _, out var p2);
                p2!.ExpectEnd("statement block");
            }

            return new IfNode(offset, [.. branches], otherwise);
        }
    }

    private static Target ParseTarget(Parser parser)
    {
        var names = new List<string>();
        var parens = parser.Current.Is("(");
        if (parens)
        {
            parser.Next();
        }

        var unpack = parens;
        names.Add(parser.ExpectName());
        while (parser.Current.Is(","))
        {
            unpack = true;
            parser.Next();
            if (parser.Current.Kind != PythonTokenKind.Name || parser.Current.IsName("in"))
            {
                break;
            }

            names.Add(parser.ExpectName());
        }

        if (parens)
        {
            parser.Expect(")");
        }

        foreach (var n in names)
        {
            if (n is "true" or "false" or "none" or "True" or "False" or "None")
            {
                throw parser.Error($"Can't assign to {n}");
            }
        }

        return new Target([.. names], unpack);
    }

    private ForNode ParseFor(Parser parser, int offset)
    {
        var target = ParseTarget(parser);
        if (!parser.SkipName("in"))
        {
            throw parser.Error($"expected token 'in', got {Parser.Describe(parser.Current)}");
        }

        var iterable = parser.ParseTuple(withCondExpr: false);
        Expr? filter = null;
        if (parser.SkipName("if"))
        {
            filter = parser.ParseExpression();
        }

        if (parser.Current.IsName("recursive"))
        {
            throw parser.Error("recursive loops are not supported");
        }

        parser.ExpectEnd("statement block");
        var body = ParseBody(["endfor", "else"], out var end, out var endParser);
        endParser!.ExpectEnd("statement block");
        Node[]? otherwise = null;
        if (end == "else")
        {
            otherwise = ParseBody(["endfor"], out _, out var p2);
            p2!.ExpectEnd("statement block");
        }

        return new ForNode(offset, target, iterable, filter, body, otherwise);
    }

    private Node ParseSet(Parser parser, int offset)
    {
        if (parser.Current.Kind == PythonTokenKind.Name && parser.Peek().Is(".") && parser.Peek(2).Kind == PythonTokenKind.Name && parser.Peek(3).Is("="))
        {
            // {% set ns.attr = value %}: only namespace objects accept it.
            var owner = parser.ExpectName();
            parser.Next();
            var attr = parser.ExpectName();
            parser.Expect("=");
            var assigned = parser.ParseTuple();
            parser.ExpectEnd("statement block");
            return new SetAttributeNode(offset, owner, attr, assigned);
        }

        var target = ParseTarget(parser);
        if (parser.Current.Is("="))
        {
            parser.Next();
            var value = parser.ParseTuple();
            parser.ExpectEnd("statement block");
            return new SetNode(offset, target, value);
        }

        parser.ExpectEnd("statement block");
        var body = ParseBody(["endset"], out _, out var endParser);
        endParser!.ExpectEnd("statement block");
        return new SetBlockNode(offset, FirstName(target), body, _options);
    }

    private static string FirstName(Target target) => target.Names[0];

    /// <summary><c>{% filter upper | replace('A', 'B') %}body{% endfilter %}</c>: the body's text goes through the filters.</summary>
    private FilterBlockNode ParseFilterBlock(Parser parser, int offset, List<PythonToken> tokens)
    {
        // Re-read the tag as "<body> | filters" so the expression parser resolves the filters and their arguments.
        var at = parser.Current.Offset;
        var rewritten = new List<PythonToken> { new(PythonTokenKind.Name, FilterBlockNode.BodyName, null, at), new(PythonTokenKind.Op, "|", null, at) };
        rewritten.AddRange(tokens.SkipWhile(t => t.Offset < at));
        var filterParser = new Parser(rewritten, _env);
        var expr = filterParser.ParseExpression();
        filterParser.ExpectEnd("statement block");
        var body = ParseBody(["endfilter"], out _, out var endParser);
        endParser!.ExpectEnd("statement block");
        return new FilterBlockNode(offset, expr, body, _options);
    }

    /// <summary><c>{% include name [ignore missing] [with context | without context] %}</c>.</summary>
    private static IncludeNode ParseInclude(Parser parser, int offset)
    {
        var name = parser.ParseExpression();
        var ignoreMissing = false;
        if (parser.Current.IsName("ignore") && parser.Peek().IsName("missing"))
        {
            parser.Next();
            parser.Next();
            ignoreMissing = true;
        }

        var withContext = true;
        if ((parser.Current.IsName("with") || parser.Current.IsName("without")) && parser.Peek().IsName("context"))
        {
            withContext = parser.Next().Text == "with";
            parser.Next();
        }

        parser.ExpectEnd("statement block");
        return new IncludeNode(offset, name, ignoreMissing, withContext);
    }

    private MacroNode ParseMacro(Parser parser, int offset)
    {
        var name = parser.ExpectName();
        parser.Expect("(");
        var parameters = new List<(string, Expr?)>();
        while (!parser.Current.Is(")"))
        {
            if (parameters.Count > 0)
            {
                parser.Expect(",");
            }

            var param = parser.ExpectName();
            Expr? dflt = null;
            if (parser.Current.Is("="))
            {
                parser.Next();
                dflt = parser.ParseExpression();
            }
            else if (parameters.Count > 0 && parameters[^1].Item2 is not null)
            {
                throw parser.Error("non-default argument follows default argument");
            }

            parameters.Add((param, dflt));
        }

        parser.Expect(")");
        parser.ExpectEnd("statement block");
        var body = ParseBody(["endmacro"], out _, out var endParser);
        endParser!.SkipName(name);
        endParser.ExpectEnd("statement block");
        return new MacroNode(offset, name, [.. parameters], body, _options);
    }
}
