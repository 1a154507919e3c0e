using Sirocco.Templating.Python;

namespace Sirocco.Templating.Expressions;

/// <summary>
/// Recursive-descent parser for Jinja2 expressions (Jinja2's operator precedence, filters and tests), or plain
/// Python expressions when the environment says so. Filters and tests are resolved here, so an unknown one is a
/// syntax error, as in Jinja2.
/// </summary>
internal sealed class Parser
{
    private static readonly HashSet<string> Constants = ["True", "False", "None", "true", "false", "none"];
    private readonly List<PythonToken> _tokens;
    private readonly ExprEnvironment _env;
    private int _pos;
    private int _depth;

    public Parser(List<PythonToken> tokens, ExprEnvironment environment)
    {
        _tokens = tokens;
        _env = environment;
    }

    public PythonToken Current => _tokens[_pos];

    public PythonToken Peek(int ahead = 1) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    public bool AtEnd => Current.Kind == PythonTokenKind.End;

    public PythonToken Next() => _tokens[_pos < _tokens.Count - 1 ? _pos++ : _pos];

    public SyntaxErrorException Error(string message) => new(message, Current.Offset);

    public void Expect(string op)
    {
        if (!Current.Is(op))
        {
            throw Error($"expected token '{op}', got {Describe(Current)}");
        }

        Next();
    }

    public string ExpectName()
    {
        if (Current.Kind != PythonTokenKind.Name)
        {
            throw Error($"expected name, got {Describe(Current)}");
        }

        return Next().Text;
    }

    public void ExpectEnd(string what)
    {
        if (!AtEnd)
        {
            throw Error($"expected token 'end of {what}', got {Describe(Current)}");
        }
    }

    public static string Describe(PythonToken t) => t.Kind switch
    {
        PythonTokenKind.End => "end of expression",
        PythonTokenKind.String => "string",
        PythonTokenKind.Int => "integer",
        PythonTokenKind.Float => "float",
        _ => $"'{t.Text}'",
    };

    public bool SkipName(string name)
    {
        if (Current.IsName(name))
        {
            Next();
            return true;
        }

        return false;
    }

    /// <summary>Expressions separated by commas; more than one (or a trailing comma) makes a tuple.</summary>
    public Expr ParseTuple(bool withCondExpr = true, bool explicitParens = false, bool simplified = false)
    {
        var offset = Current.Offset;
        var items = new List<Expr>();
        var isTuple = false;
        while (true)
        {
            if (items.Count > 0)
            {
                Expect(",");
            }

            if (IsTupleEnd(explicitParens))
            {
                break;
            }

            items.Add(simplified ? ParsePrimary() : withCondExpr ? ParseExpression() : ParseOr());
            if (Current.Is(","))
            {
                isTuple = true;
            }
            else
            {
                break;
            }
        }

        if (!isTuple)
        {
            if (items.Count > 0)
            {
                return items[0];
            }

            if (!explicitParens)
            {
                throw Error($"Expected an expression, got {Describe(Current)}");
            }
        }

        return new TupleExpr(offset, [.. items]);
    }

    private bool IsTupleEnd(bool explicitParens) =>
        AtEnd || Current.Is(")") || Current.Is("]") || Current.Is("}") || Current.Is("=") || Current.IsName("in")
        || (!explicitParens && Current.Is(":"));

    public Expr ParseExpression(bool withCondExpr = true)
    {
        if (++_depth > Expr.MaxDepth)
        {
            throw Error($"expression nested too deeply (more than {Expr.MaxDepth} levels)");
        }

        try
        {
            return withCondExpr ? ParseCondExpr() : ParseOr();
        }
        finally
        {
            _depth--;
        }
    }

    private Expr ParseCondExpr()
    {
        var offset = Current.Offset;
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            Next();
            var test = ParseOr();
            Expr? otherwise = null;
            if (SkipName("else"))
            {
                otherwise = ParseCondExpr();
            }
            else if (_env.PythonSyntax)
            {
                throw Error("expected 'else' after 'if' expression");
            }

            expr = new CondExpr(offset, test, expr, otherwise);
        }

        return expr;
    }

    private Expr ParseOr()
    {
        var offset = Current.Offset;
        var left = ParseAnd();
        while (SkipName("or"))
        {
            left = new OrExpr(offset, left, ParseAnd());
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var offset = Current.Offset;
        var left = ParseNot();
        while (SkipName("and"))
        {
            left = new AndExpr(offset, left, ParseNot());
        }

        return left;
    }

    private Expr ParseNot()
    {
        var offset = Current.Offset;
        if (SkipName("not"))
        {
            if (++_depth > Expr.MaxDepth)
            {
                throw Error($"expression nested too deeply (more than {Expr.MaxDepth} levels)");
            }

            var operand = ParseNot();
            _depth--;
            return new UnaryExpr(offset, "not", operand);
        }

        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var offset = Current.Offset;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var t = Current;
            if (t.Kind == PythonTokenKind.Op && t.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                Next();
                rest.Add((t.Text, ParseMath1()));
            }
            else if (t.IsName("in"))
            {
                Next();
                rest.Add(("in", ParseMath1()));
            }
            else if (t.IsName("not") && Peek().IsName("in"))
            {
                Next();
                Next();
                rest.Add(("not in", ParseMath1()));
            }
            else if (_env.PythonSyntax && t.IsName("is"))
            {
                Next();
                var negated = SkipName("not");
                first = new IdentityExpr(offset, rest.Count == 0 ? first : new CompareExpr(offset, first, [.. rest]), ParseMath1(), negated);
                rest.Clear();
            }
            else
            {
                break;
            }
        }

        return rest.Count == 0 ? first : new CompareExpr(offset, first, [.. rest]);
    }

    private Expr ParseMath1()
    {
        var offset = Current.Offset;
        var left = ParseConcat();
        while (Current.Is("+") || Current.Is("-"))
        {
            var op = Next().Text;
            left = new BinaryExpr(offset, op, left, ParseConcat());
        }

        return left;
    }

    private Expr ParseConcat()
    {
        var offset = Current.Offset;
        var left = ParseMath2();
        while (!_env.PythonSyntax && Current.Is("~"))
        {
            Next();
            left = new BinaryExpr(offset, "~", left, ParseMath2());
        }

        return left;
    }

    private Expr ParseMath2()
    {
        var offset = Current.Offset;
        var left = ParsePow();
        while (Current.Is("*") || Current.Is("/") || Current.Is("//") || Current.Is("%"))
        {
            var op = Next().Text;
            left = new BinaryExpr(offset, op, left, ParsePow());
        }

        return left;
    }

    private Expr ParsePow()
    {
        if (_env.PythonSyntax)
        {
            return ParsePythonFactor();
        }

        var offset = Current.Offset;
        var left = ParseUnary();
        while (Current.Is("**"))
        {
            Next();
            left = new BinaryExpr(offset, "**", left, ParseUnary());
        }

        return left;
    }

    /// <summary>
    /// Python's <c>factor</c>: unary signs bind looser than <c>**</c>, which is right-associative
    /// (<c>-2 ** 2</c> is -4 and <c>2 ** 3 ** 2</c> is 512), unlike Jinja2's left-to-right power.
    /// </summary>
    private Expr ParsePythonFactor()
    {
        var offset = Current.Offset;
        if (Current.Is("-") || Current.Is("+"))
        {
            var op = Next().Text;
            if (++_depth > Expr.MaxDepth)
            {
                throw Error($"expression nested too deeply (more than {Expr.MaxDepth} levels)");
            }

            var operand = ParsePythonFactor();
            _depth--;
            return new UnaryExpr(offset, op, operand);
        }

        var power = ParsePostfix(ParsePrimary());
        if (Current.Is("**"))
        {
            Next();
            if (++_depth > Expr.MaxDepth)
            {
                throw Error($"expression nested too deeply (more than {Expr.MaxDepth} levels)");
            }

            var exponent = ParsePythonFactor();
            _depth--;
            return new BinaryExpr(offset, "**", power, exponent);
        }

        return power;
    }

    private Expr ParseUnary(bool withFilter = true)
    {
        var offset = Current.Offset;
        Expr node;
        if (Current.Is("-") || Current.Is("+"))
        {
            var op = Next().Text;
            if (++_depth > Expr.MaxDepth)
            {
                throw Error($"expression nested too deeply (more than {Expr.MaxDepth} levels)");
            }

            node = new UnaryExpr(offset, op, ParseUnary(false));
            _depth--;
        }
        else
        {
            node = ParsePrimary();
        }

        node = ParsePostfix(node);
        return withFilter ? ParseFilterExpr(node) : node;
    }

    public Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case PythonTokenKind.Name:
                Next();
                if (_env.PythonSyntax ? t.Text is "True" or "False" or "None" : Constants.Contains(t.Text))
                {
                    return new ConstExpr(t.Offset, t.Text switch
                    {
                        "True" or "true" => true,
                        "False" or "false" => false,
                        _ => null,
                    });
                }

                return new NameExpr(t.Offset, t.Text);
            case PythonTokenKind.String:
                Next();
                var s = (string)t.Value!;
                while (Current.Kind == PythonTokenKind.String)
                {
                    s += (string)Next().Value!;
                }

                return new ConstExpr(t.Offset, s);
            case PythonTokenKind.Int or PythonTokenKind.Float:
                Next();
                return new ConstExpr(t.Offset, t.Value);
            case PythonTokenKind.Op when t.Text == "(":
                Next();
                var inner = ParseTuple(explicitParens: true);
                Expect(")");
                return inner;
            case PythonTokenKind.Op when t.Text == "[":
                Next();
                var items = new List<Expr>();
                while (!Current.Is("]"))
                {
                    if (items.Count > 0)
                    {
                        Expect(",");
                        if (Current.Is("]"))
                        {
                            break;
                        }
                    }

                    items.Add(ParseExpression());
                }

                Expect("]");
                return new ListExpr(t.Offset, [.. items]);
            case PythonTokenKind.Op when t.Text == "{":
                Next();
                var pairs = new List<(Expr, Expr)>();
                while (!Current.Is("}"))
                {
                    if (pairs.Count > 0)
                    {
                        Expect(",");
                        if (Current.Is("}"))
                        {
                            break;
                        }
                    }

                    var key = ParseExpression();
                    Expect(":");
                    pairs.Add((key, ParseExpression()));
                }

                Expect("}");
                return new DictExpr(t.Offset, [.. pairs]);
            default:
                throw Error(t.Kind == PythonTokenKind.End ? "unexpected end of expression" : $"unexpected {Describe(t)}");
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var t = Current;
            if (t.Is("."))
            {
                Next();
                var name = Current;
                if (name.Kind == PythonTokenKind.Name)
                {
                    Next();
                    node = new AttrExpr(t.Offset, node, name.Text);
                }
                else if (name.Kind == PythonTokenKind.Int && !_env.PythonSyntax)
                {
                    Next();
                    node = new ItemExpr(t.Offset, node, new ConstExpr(name.Offset, name.Value));
                }
                else
                {
                    throw Error("expected name or number");
                }
            }
            else if (t.Is("["))
            {
                Next();
                node = ParseSubscript(node, t.Offset);
                Expect("]");
            }
            else if (t.Is("("))
            {
                node = new CallExpr(t.Offset, node, ParseCallArgs());
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseSubscript(Expr target, int offset)
    {
        Expr? Part() => Current.Is(":") || Current.Is("]") ? null : ParseExpression();
        var start = Part();
        if (!Current.Is(":"))
        {
            if (Current.Is(","))
            {
                var items = new List<Expr> { start! };
                while (Current.Is(","))
                {
                    Next();
                    if (Current.Is("]"))
                    {
                        break;
                    }

                    items.Add(ParseExpression());
                }

                return new ItemExpr(offset, target, new TupleExpr(offset, [.. items]));
            }

            return start is null ? throw Error("expected subscript") : new ItemExpr(offset, target, start);
        }

        Next();
        var stop = Part();
        Expr? step = null;
        if (Current.Is(":"))
        {
            Next();
            step = Part();
        }

        return new SliceExpr(offset, target, start, stop, step);
    }

    private ArgList ParseCallArgs()
    {
        Expect("(");
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        while (!Current.Is(")"))
        {
            if (positional.Count + keywords.Count > 0)
            {
                Expect(",");
                if (Current.Is(")"))
                {
                    break;
                }
            }

            if (Current.Is("*") || Current.Is("**"))
            {
                throw Error("*args and **kwargs are not supported in calls");
            }

            if (Current.Kind == PythonTokenKind.Name && Peek().Is("="))
            {
                var name = Next().Text;
                Next();
                keywords.Add((name, ParseExpression()));
            }
            else
            {
                if (keywords.Count > 0)
                {
                    throw Error("invalid syntax for function call expression");
                }

                positional.Add(ParseExpression());
            }
        }

        Expect(")");
        return positional.Count == 0 && keywords.Count == 0 ? ArgList.None : new ArgList([.. positional], [.. keywords]);
    }

    private Expr ParseFilterExpr(Expr node)
    {
        if (_env.PythonSyntax)
        {
            return node;
        }

        while (true)
        {
            var t = Current;
            if (t.Is("|"))
            {
                Next();
                var nameOffset = Current.Offset;
                var name = ExpectName();
                while (Current.Is("."))
                {
                    Next();
                    name += "." + ExpectName();
                }

                if (!_env.Filters.TryGetValue(name, out var filter))
                {
                    throw new SyntaxErrorException($"No filter named '{name}'.", nameOffset);
                }

                var args = Current.Is("(") ? ParseCallArgs() : ArgList.None;
                node = new FilterExpr(t.Offset, node, name, args, filter);
            }
            else if (t.IsName("is"))
            {
                Next();
                var negated = SkipName("not");
                var nameOffset = Current.Offset;
                var name = ExpectName();
                if (!_env.Tests.TryGetValue(name, out var test))
                {
                    throw new SyntaxErrorException($"No test named '{name}'.", nameOffset);
                }

                var args = ArgList.None;
                var c = Current;
                if (c.Is("("))
                {
                    args = ParseCallArgs();
                }
                else if ((c.Kind is PythonTokenKind.Name or PythonTokenKind.String or PythonTokenKind.Int or PythonTokenKind.Float || c.Is("[") || c.Is("{"))
                    && !(c.IsName("else") || c.IsName("or") || c.IsName("and")))
                {
                    if (c.IsName("is"))
                    {
                        throw Error("You cannot chain multiple tests with is");
                    }

                    args = new ArgList([ParsePostfix(ParsePrimary())], []);
                }

                node = new TestExpr(t.Offset, node, args, test, negated);
            }
            else if (t.Is("("))
            {
                node = new CallExpr(t.Offset, node, ParseCallArgs());
            }
            else
            {
                return node;
            }
        }
    }
}
