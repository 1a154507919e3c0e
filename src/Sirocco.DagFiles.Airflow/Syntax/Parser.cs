using Sirocco.Templating.Expressions;
using Sirocco.Templating.Python;

namespace Sirocco.DagFiles.Airflow.Syntax;

/// <summary>
/// A recursive-descent parser for the statements and expressions of the DAG-file subset. Python syntax outside the
/// subset (while loops, global statements, class keywords...) is rejected here, naming the construct, so that nothing
/// of a file runs before the whole file is known to be readable. A function or class body the reader cannot run is
/// kept as text, to run in a pod.
/// </summary>
internal sealed class Parser
{
    private const int MaxDepth = 100;

    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.Ordinal)
    {
        ["while"] = "while loops",
        ["global"] = "global statements",
        ["nonlocal"] = "nonlocal statements",
        ["del"] = "del statements",
        ["raise"] = "raise statements",
        ["assert"] = "assert statements",
        ["yield"] = "yield",
        ["async"] = "async code",
        ["await"] = "await",
    };

    /// <summary>How the shared tokenizer and string decoder report a syntax error of a DAG file.</summary>
    private static readonly Func<string, int, Exception> SyntaxError = static (message, offset) => new DagSyntaxException(message, offset);

    private readonly string _text;
    private readonly IReadOnlyList<PythonToken> _tokens;
    private int _pos;
    private int _depth;
    private int _functions; // how many function bodies the parser is inside

    private Parser(string text, IReadOnlyList<PythonToken> tokens)
    {
        _text = text;
        _tokens = tokens;
    }

    public static ModuleNode ParseModule(string text)
    {
        var parser = new Parser(text, PythonTokenizer.Module(text, SyntaxError));
        var body = new List<Stmt>();
        while (parser.Current.Kind != PythonTokenKind.End)
        {
            if (parser.Current.Kind == PythonTokenKind.Newline)
            {
                parser.Next();
                continue;
            }

            if (parser.Current.Kind == PythonTokenKind.Indent)
            {
                throw parser.Error("unexpected indent");
            }

            body.AddRange(parser.Statement());
        }

        return new ModuleNode([.. body], Docstring(body));
    }

    private static string? Docstring(List<Stmt> body) =>
        body.Count > 0 && body[0] is ExprStmt { Value: ConstExpr { Value: string s } } ? s : null;

    private PythonToken Current => _tokens[_pos];

    private PythonToken Peek(int ahead = 1) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    private PythonToken Next() => _tokens[_pos < _tokens.Count - 1 ? _pos++ : _pos];

    private DagSyntaxException Error(string message) => new(message, Current.Offset);

    private static string Describe(PythonToken t) => t.Kind switch
    {
        PythonTokenKind.End => "end of file",
        PythonTokenKind.Newline => "end of line",
        PythonTokenKind.Indent => "indent",
        PythonTokenKind.Dedent => "dedent",
        PythonTokenKind.String or PythonTokenKind.FString => "string",
        PythonTokenKind.Int or PythonTokenKind.Float => "number",
        _ => $"'{t.Text}'",
    };

    private void Expect(string op)
    {
        if (!Current.Is(op))
        {
            throw Error($"invalid syntax: expected '{op}', got {Describe(Current)}");
        }

        Next();
    }

    private bool Skip(string op)
    {
        if (Current.Is(op))
        {
            Next();
            return true;
        }

        return false;
    }

    private string ExpectName()
    {
        if (Current.Kind != PythonTokenKind.Name || IsKeyword(Current.Text))
        {
            throw Error($"invalid syntax: expected a name, got {Describe(Current)}");
        }

        return Next().Text;
    }

    private static bool IsKeyword(string s) => s is "False" or "None" or "True" or "and" or "as" or "assert" or "async" or "await"
        or "break" or "class" or "continue" or "def" or "del" or "elif" or "else" or "except" or "finally" or "for" or "from"
        or "global" or "if" or "import" or "in" or "is" or "lambda" or "nonlocal" or "not" or "or" or "pass" or "raise"
        or "return" or "try" or "while" or "with" or "yield";

    private void EndOfLine()
    {
        if (Current.Kind == PythonTokenKind.Newline)
        {
            Next();
        }
        else if (Current.Kind is not (PythonTokenKind.End or PythonTokenKind.Dedent))
        {
            throw Error($"invalid syntax: unexpected {Describe(Current)}");
        }
    }

    // ---- Statements ----
    private List<Stmt> Statement()
    {
        var t = Current;
        if (t.Kind == PythonTokenKind.Op && t.Text == "@")
        {
            return [Decorated()];
        }

        if (t.Kind == PythonTokenKind.Name)
        {
            switch (t.Text)
            {
                case "if":
                    return [If()];
                case "for":
                    return [For()];
                case "with":
                    return [With()];
                case "def":
                    return [Def()];
                case "class" when _functions > 0:
                    // Kept for Python: the function's body becomes text, shipped whole with the names its tokens read.
                    throw Error("class definitions inside functions are not supported in DAG files read without Python");
                case "class":
                    return [Class()];
                case "try":
                    return [Try()];
                case "else" or "elif" or "except" or "finally":
                    throw Error($"invalid syntax: '{t.Text}' without a matching block");
                case "match" when Peek().Kind is PythonTokenKind.Name or PythonTokenKind.String && LineEndsWithColon():
                    throw Error("match statements are not supported");
                default:
                    if (Unsupported.TryGetValue(t.Text, out var what) && what.Length > 0)
                    {
                        throw Error($"{what} are not supported in DAG files read without Python");
                    }

                    break;
            }
        }

        var list = new List<Stmt> { SmallStatement() };
        while (Skip(";"))
        {
            if (Current.Kind is PythonTokenKind.Newline or PythonTokenKind.End)
            {
                break;
            }

            list.Add(SmallStatement());
        }

        EndOfLine();
        return list;
    }

    private bool LineEndsWithColon()
    {
        for (var i = _pos; i < _tokens.Count && _tokens[i].Kind is not (PythonTokenKind.Newline or PythonTokenKind.End); i++)
        {
            if (_tokens[i].Is(":") && _tokens[i + 1].Kind == PythonTokenKind.Newline)
            {
                return true;
            }
        }

        return false;
    }

    private Stmt SmallStatement()
    {
        var t = Current;
        if (t.Kind == PythonTokenKind.Name)
        {
            switch (t.Text)
            {
                case "pass" or "break" or "continue":
                    Next();
                    return new SimpleStmt(t.Offset, t.Text);
                case "return":
                    Next();
                    return new ReturnStmt(t.Offset, Current.Kind is PythonTokenKind.Newline or PythonTokenKind.End || Current.Is(";") ? null : TupleOrTest());
                case "import":
                    return Import();
                case "from":
                    return FromImport();
                default:
                    if (Unsupported.TryGetValue(t.Text, out var what) && what.Length > 0)
                    {
                        throw Error($"{what} are not supported in DAG files read without Python");
                    }

                    break;
            }
        }

        var first = TupleOrTest(allowStar: true);
        if (Current.Kind == PythonTokenKind.Op)
        {
            var op = Current.Text;
            if (op == "=")
            {
                var targets = new List<Expr> { CheckTarget(first) };
                Expr value = first;
                while (Skip("="))
                {
                    value = TupleOrTest(allowStar: true);
                    if (Current.Is("="))
                    {
                        targets.Add(CheckTarget(value));
                    }
                }

                return new AssignStmt(t.Offset, [.. targets], value);
            }

            if (op.Length >= 2 && op[^1] == '=' && op is not ("==" or "!=" or "<=" or ">=" or ":="))
            {
                Next();
                if (first is not (NameExpr or AttributeExpr or SubscriptExpr))
                {
                    throw new DagSyntaxException("illegal expression for augmented assignment", first.Offset);
                }

                return new AugAssignStmt(t.Offset, first, op[..^1], TupleOrTest());
            }

            if (op == ":")
            {
                Next();
                _ = Test(); // the annotation is not evaluated
                Expr? value = null;
                if (Skip("="))
                {
                    value = TupleOrTest();
                }

                return new AnnAssignStmt(t.Offset, CheckTarget(first), value);
            }
        }

        return new ExprStmt(t.Offset, first);
    }

    private static Expr CheckTarget(Expr e)
    {
        switch (e)
        {
            case NameExpr or AttributeExpr or SubscriptExpr:
                return e;
            case SequenceExpr { Kind: "list" or "tuple" } s:
                foreach (var i in s.Items)
                {
                    CheckTarget(i is StarredExpr st ? st.Value : i);
                }

                return e;
            default:
                throw new DagSyntaxException("cannot assign to this expression", e.Offset);
        }
    }

    private string DottedName()
    {
        var name = ExpectName();
        while (Skip("."))
        {
            name += "." + ExpectName();
        }

        return name;
    }

    private Stmt Import()
    {
        var offset = Next().Offset;
        var names = new List<(string, string?, int)>();
        do
        {
            var at = Current.Offset;
            var name = DottedName();
            string? asName = null;
            if (Current.IsName("as"))
            {
                Next();
                asName = ExpectName();
            }

            names.Add((name, asName, at));
        }
        while (Skip(","));
        return new ImportStmt(offset, null, [.. names]);
    }

    private Stmt FromImport()
    {
        var offset = Next().Offset;
        if (Current.Is(".") || Current.Is("..."))
        {
            throw Error("relative imports are not supported in DAG files");
        }

        var module = DottedName();
        if (!Current.IsName("import"))
        {
            throw Error($"invalid syntax: expected 'import', got {Describe(Current)}");
        }

        Next();
        if (Current.Is("*"))
        {
            throw Error($"'from {module} import *' is not supported: import the names you use");
        }

        var paren = Skip("(");
        var names = new List<(string, string?, int)>();
        do
        {
            if (paren && Current.Is(")"))
            {
                break;
            }

            var at = Current.Offset;
            var name = ExpectName();
            string? asName = null;
            if (Current.IsName("as"))
            {
                Next();
                asName = ExpectName();
            }

            names.Add((name, asName, at));
        }
        while (Skip(","));
        if (paren)
        {
            Expect(")");
        }

        return new ImportStmt(offset, module, [.. names]);
    }

    private Stmt[] Block()
    {
        Expect(":");
        if (Current.Kind != PythonTokenKind.Newline)
        {
            // A one-line block: "if x: pass".
            var simple = new List<Stmt> { SmallStatement() };
            while (Skip(";"))
            {
                if (Current.Kind is PythonTokenKind.Newline or PythonTokenKind.End)
                {
                    break;
                }

                simple.Add(SmallStatement());
            }

            EndOfLine();
            return [.. simple];
        }

        Next();
        if (Current.Kind != PythonTokenKind.Indent)
        {
            throw Error("expected an indented block");
        }

        Next();
        if (++_depth > MaxDepth)
        {
            throw Error($"blocks nested more than {MaxDepth} deep");
        }

        var body = new List<Stmt>();
        while (Current.Kind is not (PythonTokenKind.Dedent or PythonTokenKind.End))
        {
            if (Current.Kind == PythonTokenKind.Newline)
            {
                Next();
                continue;
            }

            if (Current.Kind == PythonTokenKind.Indent)
            {
                throw Error("unexpected indent");
            }

            body.AddRange(Statement());
        }

        if (Current.Kind == PythonTokenKind.Dedent)
        {
            Next();
        }

        _depth--;
        return [.. body];
    }

    private IfStmt If()
    {
        var offset = Next().Offset;
        var test = Test();
        var body = Block();
        Stmt[] orElse = [];
        if (Current.IsName("elif"))
        {
            orElse = [If()];
        }
        else if (Current.IsName("else"))
        {
            Next();
            orElse = Block();
        }

        return new IfStmt(offset, test, body, orElse);
    }

    private ForStmt For()
    {
        var offset = Next().Offset;
        var target = CheckTarget(TargetList());
        if (!Current.IsName("in"))
        {
            throw Error($"invalid syntax: expected 'in', got {Describe(Current)}");
        }

        Next();
        var iterable = TupleOrTest();
        var body = Block();
        Stmt[] orElse = [];
        if (Current.IsName("else"))
        {
            Next();
            orElse = Block();
        }

        return new ForStmt(offset, target, iterable, body, orElse);
    }

    /// <summary>Targets of <c>for</c> and comprehensions: names, attributes and subscripts separated by commas.</summary>
    private Expr TargetList()
    {
        var offset = Current.Offset;
        var items = new List<Expr> { OrExpr() };
        var tuple = false;
        while (Current.Is(","))
        {
            tuple = true;
            Next();
            if (Current.IsName("in"))
            {
                break;
            }

            items.Add(OrExpr());
        }

        return tuple ? new SequenceExpr(offset, "tuple", [.. items]) : items[0];
    }

    private WithStmt With()
    {
        var offset = Next().Offset;
        var items = new List<(Expr, Expr?)>();
        do
        {
            var context = Test();
            Expr? target = null;
            if (Current.IsName("as"))
            {
                Next();
                target = CheckTarget(OrExpr());
            }

            items.Add((context, target));
        }
        while (Skip(","));
        return new WithStmt(offset, [.. items], Block());
    }

    /// <summary><c>@expr</c> lines (each any expression, as since Python 3.9) before a <c>def</c>.</summary>
    private FunctionDef Decorated()
    {
        var decorators = new List<Expr>();
        while (Current.Kind == PythonTokenKind.Op && Current.Text == "@")
        {
            Next();
            decorators.Add(Test());
            if (Current.Kind != PythonTokenKind.Newline)
            {
                throw Error($"invalid syntax: expected the end of the line after a decorator, got {Describe(Current)}");
            }

            Next();
        }

        if (!Current.IsName("def"))
        {
            throw Error(Current.IsName("class") ? "decorated class definitions are not supported in DAG files read without Python" : $"invalid syntax: a decorator must be followed by 'def', got {Describe(Current)}");
        }

        var def = Def();
        def.Decorators = [.. decorators];
        return def;
    }

    private FunctionDef Def()
    {
        var offset = Next().Offset;
        var name = ExpectName();
        Expect("(");
        var parameters = new List<Parameter>();
        var keywordOnly = false;
        while (!Current.Is(")"))
        {
            if (parameters.Count > 0 || keywordOnly)
            {
                Expect(",");
                if (Current.Is(")"))
                {
                    break;
                }
            }

            if (Skip("**"))
            {
                parameters.Add(new Parameter(ExpectName(), null, 2));
                SkipAnnotation();
                continue;
            }

            if (Skip("*"))
            {
                keywordOnly = true;
                if (Current.Kind == PythonTokenKind.Name)
                {
                    parameters.Add(new Parameter(ExpectName(), null, 1));
                    SkipAnnotation();
                }

                continue;
            }

            if (Current.Is("/"))
            {
                Next();
                continue;
            }

            var p = ExpectName();
            SkipAnnotation();
            Expr? dflt = Skip("=") ? Test() : null;
            if (parameters.Exists(x => x.Name == p))
            {
                throw Error($"duplicate argument '{p}' in function definition");
            }

            parameters.Add(new Parameter(p, dflt, keywordOnly ? 3 : 0));
        }

        Expect(")");
        var returnsDict = Skip("->") && IsDict(Test());

        // A body with constructs the reader cannot run (raise, while, try/except...) is kept as text: the function can
        // still run in a pod (a task), but not while the file is read.
        var (bodyStart, depth, functions) = (_pos, _depth, _functions);
        Stmt[] body;
        string? opaque = null;
        List<string>? names = null;
        try
        {
            _functions++;
            body = Block();
            _functions--;
        }
        catch (DagSyntaxException e) when (e.Message.Contains("not supported", StringComparison.Ordinal))
        {
            (_pos, _depth, _functions) = (bodyStart, depth, functions);
            opaque = e.Message;
            names = SkipBlock();
            body = [];
        }

        var doc = body.Length > 0 && body[0] is ExprStmt { Value: ConstExpr { Value: string s } } ? s : null;
        return new FunctionDef(offset, name, [.. parameters], body, doc)
        {
            Source = SourceOf(offset, Current.Kind == PythonTokenKind.End ? _text.Length : Current.Offset),
            OpaqueReason = opaque,
            OpaqueNames = names,
            ReturnsDict = returnsDict,
        };
    }

    /// <summary>
    /// <c>class Name(bases):</c> and its body, kept as text; each <c>def</c> at the body's level is parsed as a method
    /// where it can be (a method the reader cannot parse is left to Python, in the pod that runs it).
    /// </summary>
    private ClassDef Class()
    {
        var first = _pos;
        var offset = Next().Offset;
        var name = ExpectName();
        var bases = new List<Expr>();
        if (Skip("("))
        {
            while (!Current.Is(")"))
            {
                if (bases.Count > 0)
                {
                    Expect(",");
                    if (Current.Is(")"))
                    {
                        break;
                    }
                }

                if (Current.Kind == PythonTokenKind.Name && Peek().Is("=") || Current.Is("*") || Current.Is("**"))
                {
                    throw Error($"class {name}: keyword or unpacked arguments in a class statement (such as metaclass=) are not supported in DAG files read without Python");
                }

                bases.Add(Test());
            }

            Expect(")");
        }

        var bodyStart = _pos;
        var names = SkipBlock();
        var end = _pos;
        for (var i = first + 2; i < bodyStart; i++)
        {
            if (_tokens[i].Kind == PythonTokenKind.Name && !IsKeyword(_tokens[i].Text) && !_tokens[i - 1].Is("."))
            {
                names.Add(_tokens[i].Text);
            }
        }

        var (methods, methodNames) = Methods(bodyStart, end);
        _pos = end;
        return new ClassDef(offset, name, [.. bases], [.. methods])
        {
            MethodNames = methodNames,
            Source = SourceOf(offset, Current.Kind == PythonTokenKind.End ? _text.Length : Current.Offset),
            Names = names,
        };
    }

    /// <summary>The functions defined at a class body's own level (tokens <paramref name="from"/> to <paramref name="to"/>).</summary>
    private (List<FunctionDef> Parsed, List<string> Names) Methods(int from, int to)
    {
        var parsed = new List<FunctionDef>();
        var names = new List<string>();
        var level = 0;
        var i = from;
        while (i < to)
        {
            var t = _tokens[i];
            level += t.Kind switch { PythonTokenKind.Indent => 1, PythonTokenKind.Dedent => -1, _ => 0 };
            var lineStart = _tokens[i - 1].Kind is PythonTokenKind.Newline or PythonTokenKind.Indent or PythonTokenKind.Dedent;
            if (level == 1 && lineStart && (t.IsName("def") || t.Is("@")))
            {
                var (pos, depth, functions) = (_pos, _depth, _functions);
                _pos = i;
                try
                {
                    var def = t.Is("@") ? Decorated() : Def();
                    parsed.Add(def);
                    names.Add(def.Name);
                    i = _pos;
                    continue;
                }
                catch (DagSyntaxException)
                {
                    (_pos, _depth, _functions) = (pos, depth, functions);
                    if (t.IsName("def") && _tokens[i + 1].Kind == PythonTokenKind.Name)
                    {
                        names.Add(_tokens[i + 1].Text);
                    }
                }
            }

            i++;
        }

        return (parsed, names);
    }

    private void SkipAnnotation()
    {
        if (Skip(":"))
        {
            _ = Test();
        }
    }

    private TryImportStmt Try()
    {
        var offset = Next().Offset;
        var body = Block();
        if (!Current.IsName("except"))
        {
            throw Error("only 'try: ... except ImportError: ...' is supported (around imports)");
        }

        var exceptAt = Current.Offset;
        Next();
        var names = new List<string>();
        if (Skip("("))
        {
            do
            {
                names.Add(DottedName());
            }
            while (Skip(","));
            Expect(")");
        }
        else if (Current.Kind == PythonTokenKind.Name)
        {
            names.Add(DottedName());
        }

        if (names.Count == 0 || !names.TrueForAll(n => n is "ImportError" or "ModuleNotFoundError"))
        {
            throw new DagSyntaxException("only 'except ImportError' is supported (around imports)", exceptAt);
        }

        if (Current.IsName("as"))
        {
            Next();
            ExpectName();
        }

        var handler = Block();
        if (Current.IsName("except") || Current.IsName("else") || Current.IsName("finally"))
        {
            throw Error($"'{Current.Text}' after 'except ImportError' is not supported");
        }

        foreach (var s in body)
        {
            if (s is not (ImportStmt or SimpleStmt or AssignStmt))
            {
                throw new DagSyntaxException("only imports and assignments are supported inside 'try: ... except ImportError'", s.Offset);
            }
        }

        return new TryImportStmt(offset, body, handler);
    }

    // ---- Expressions ----
    private Expr TupleOrTest(bool allowStar = false)
    {
        var offset = Current.Offset;
        var first = allowStar && Current.Is("*") ? Starred() : Test();
        if (!Current.Is(","))
        {
            return first;
        }

        var items = new List<Expr> { first };
        while (Skip(","))
        {
            if (Current.Kind is PythonTokenKind.Newline or PythonTokenKind.End || Current.Is("=") || Current.Is(")") || Current.Is(";")
                || (Current.Kind == PythonTokenKind.Op && Current.Text.Length >= 2 && Current.Text[^1] == '=' && Current.Text is not ("==" or "!=" or "<=" or ">=")))
            {
                break;
            }

            items.Add(allowStar && Current.Is("*") ? Starred() : Test());
        }

        return new SequenceExpr(offset, "tuple", [.. items]);
    }

    private StarredExpr Starred()
    {
        var offset = Next().Offset;
        return new StarredExpr(offset, OrExpr());
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw Error($"expression nested more than {MaxDepth} levels deep");
        }
    }

    /// <summary>Skips a block without parsing it; returns the names it reads (not attributes, not keywords).</summary>
    private List<string> SkipBlock()
    {
        Expect(":");
        var names = new List<string>();
        void Take(PythonToken t, PythonToken? before)
        {
            if (t.Kind == PythonTokenKind.Name && !IsKeyword(t.Text) && before is not { Kind: PythonTokenKind.Op, Text: "." })
            {
                names.Add(t.Text);
            }
        }

        PythonToken? previous = null;
        if (Current.Kind != PythonTokenKind.Newline)
        {
            while (Current.Kind is not (PythonTokenKind.Newline or PythonTokenKind.End))
            {
                Take(Current, previous);
                previous = Next();
            }

            EndOfLine();
            return names;
        }

        Next();
        var level = 0;
        do
        {
            var t = Next();
            level += t.Kind switch { PythonTokenKind.Indent => 1, PythonTokenKind.Dedent => -1, _ => 0 };
            Take(t, previous);
            previous = t;
        }
        while (level > 0 && Current.Kind != PythonTokenKind.End);
        return names;
    }

    /// <summary>A definition's text from its <c>def</c> line to <paramref name="end"/>, dedented to column 0 (the text shipped when a task's function runs in a pod).</summary>
    private string SourceOf(int defOffset, int end)
    {
        var lineStart = _text.LastIndexOf('\n', Math.Max(0, defOffset - 1)) + 1;
        var indent = defOffset - lineStart;
        var lines = _text[lineStart..Math.Min(end, _text.Length)].TrimEnd().Split('\n');
        return string.Join('\n', lines.Select(l => l.Length >= indent && l[..indent].Trim().Length == 0 ? l[indent..] : l.TrimStart())) + "\n";
    }

    /// <summary><c>lambda a, b=1, *rest, **kw: expr</c>: a function whose body returns the expression.</summary>
    private LambdaExpr Lambda()
    {
        var offset = Current.Offset;
        Next();
        var parameters = new List<Parameter>();
        var keywordOnly = false;
        while (!Current.Is(":"))
        {
            if (parameters.Count > 0 || keywordOnly)
            {
                Expect(",");
            }

            if (Skip("**"))
            {
                parameters.Add(new Parameter(ExpectName(), null, 2));
                continue;
            }

            if (Skip("*"))
            {
                keywordOnly = true;
                if (Current.Kind == PythonTokenKind.Name)
                {
                    parameters.Add(new Parameter(ExpectName(), null, 1));
                }

                continue;
            }

            var p = ExpectName();
            Expr? dflt = Skip("=") ? Test() : null;
            if (parameters.Exists(x => x.Name == p))
            {
                throw Error($"duplicate argument '{p}' in lambda");
            }

            parameters.Add(new Parameter(p, dflt, keywordOnly ? 3 : 0));
        }

        Expect(":");
        var body = Test();
        var end = Current.Kind == PythonTokenKind.End ? _text.Length : Current.Offset;
        return new LambdaExpr(offset, new FunctionDef(offset, "<lambda>", [.. parameters], [new ReturnStmt(body.Offset, body)], null)
        {
            Source = "(" + _text[offset..end].TrimEnd().TrimEnd(',').TrimEnd() + ")",
        });
    }

    private Expr Test()
    {
        Enter();
        try
        {
            if (Current.IsName("lambda"))
            {
                return Lambda();
            }

            var offset = Current.Offset;
            var value = OrTest();
            if (Current.IsName("if"))
            {
                Next();
                var test = OrTest();
                if (!Current.IsName("else"))
                {
                    throw Error($"invalid syntax: expected 'else' after 'if' expression, got {Describe(Current)}");
                }

                Next();
                return new ConditionalExpr(offset, test, value, Test());
            }

            if (Current.Is(":="))
            {
                throw Error("assignment expressions (:=) are not supported");
            }

            return value;
        }
        finally
        {
            _depth--;
        }
    }

    private Expr OrTest()
    {
        var offset = Current.Offset;
        var left = AndTest();
        while (Current.IsName("or"))
        {
            Next();
            left = new BoolExpr(offset, false, left, AndTest());
        }

        return left;
    }

    private Expr AndTest()
    {
        var offset = Current.Offset;
        var left = NotTest();
        while (Current.IsName("and"))
        {
            Next();
            left = new BoolExpr(offset, true, left, NotTest());
        }

        return left;
    }

    private Expr NotTest()
    {
        if (Current.IsName("not"))
        {
            var offset = Next().Offset;
            Enter();
            var operand = NotTest();
            _depth--;
            return new UnaryExpr(offset, "not", operand);
        }

        return Comparison();
    }

    private Expr Comparison()
    {
        var offset = Current.Offset;
        var first = OrExpr();
        var rest = new List<(string, int, Expr)>();
        while (true)
        {
            var t = Current;
            string op;
            if (t.Kind == PythonTokenKind.Op && t.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                op = t.Text;
                Next();
            }
            else if (t.IsName("in"))
            {
                op = "in";
                Next();
            }
            else if (t.IsName("not") && Peek().IsName("in"))
            {
                op = "not in";
                Next();
                Next();
            }
            else if (t.IsName("is"))
            {
                Next();
                op = "is";
                if (Current.IsName("not"))
                {
                    Next();
                    op = "is not";
                }
            }
            else
            {
                break;
            }

            rest.Add((op, t.Offset, OrExpr()));
        }

        return rest.Count == 0 ? first : new CompareExpr(offset, first, [.. rest]);
    }

    /// <summary>An expression without comparisons or boolean operators (Python's <c>or_expr</c>: <c>|</c> and tighter).</summary>
    private Expr OrExpr() => Binary(0);

    private static readonly string[][] Levels =
    [
        ["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "//", "%", "@"],
    ];

    private Expr Binary(int level)
    {
        if (level == Levels.Length)
        {
            return Factor();
        }

        var left = Binary(level + 1);
        while (Current.Kind == PythonTokenKind.Op && Array.IndexOf(Levels[level], Current.Text) >= 0)
        {
            var opToken = Next();
            left = new BinaryExpr(opToken.Offset, opToken.Text, left, Binary(level + 1));
        }

        return left;
    }

    private Expr Factor()
    {
        if (Current.Kind == PythonTokenKind.Op && Current.Text is "-" or "+" or "~")
        {
            var t = Next();
            Enter();
            var operand = Factor();
            _depth--;
            if (t.Text == "-" && operand is ConstExpr { Value: long l })
            {
                return new ConstExpr(t.Offset, -l);
            }

            if (t.Text == "-" && operand is ConstExpr { Value: double d })
            {
                return new ConstExpr(t.Offset, -d);
            }

            return new UnaryExpr(t.Offset, t.Text, operand);
        }

        return Power();
    }

    private Expr Power()
    {
        if (Current.IsName("await"))
        {
            throw Error("await is not supported");
        }

        var node = Postfix(Atom());
        if (Current.Is("**"))
        {
            var t = Next();
            Enter();
            var right = Factor();
            _depth--;
            return new BinaryExpr(t.Offset, "**", node, right);
        }

        return node;
    }

    private Expr Postfix(Expr node)
    {
        while (true)
        {
            var t = Current;
            if (t.Is("."))
            {
                Next();
                var nameOffset = Current.Offset;
                var name = ExpectName();
                node = new AttributeExpr(nameOffset, node, name);
            }
            else if (t.Is("["))
            {
                Next();
                node = new SubscriptExpr(t.Offset, node, Subscript());
                Expect("]");
            }
            else if (t.Is("("))
            {
                node = new CallExpr(node.Offset, node, CallArguments());
            }
            else
            {
                return node;
            }
        }
    }

    private Expr Subscript()
    {
        var offset = Current.Offset;
        var items = new List<Expr>();
        var tuple = false;
        while (true)
        {
            items.Add(SliceItem());
            if (!Current.Is(","))
            {
                break;
            }

            tuple = true;
            Next();
            if (Current.Is("]"))
            {
                break;
            }
        }

        return tuple ? new SequenceExpr(offset, "tuple", [.. items]) : items[0];
    }

    private Expr SliceItem()
    {
        var offset = Current.Offset;
        Expr? Part() => Current.Is(":") || Current.Is("]") || Current.Is(",") ? null : Test();
        var start = Part();
        if (!Current.Is(":"))
        {
            return start ?? throw Error("invalid syntax: empty subscript");
        }

        Next();
        var stop = Part();
        Expr? step = null;
        if (Skip(":"))
        {
            step = Part();
        }

        return new SliceExpr(offset, start, stop, step);
    }

    private Argument[] CallArguments()
    {
        Expect("(");
        var args = new List<Argument>();
        var sawKeyword = false;
        while (!Current.Is(")"))
        {
            if (args.Count > 0)
            {
                Expect(",");
                if (Current.Is(")"))
                {
                    break;
                }
            }

            var at = Current.Offset;
            if (Skip("**"))
            {
                sawKeyword = true;
                args.Add(new Argument(at, null, Test(), DoubleStar: true));
            }
            else if (Skip("*"))
            {
                args.Add(new Argument(at, null, Test(), Star: true));
            }
            else if (Current.Kind == PythonTokenKind.Name && Peek().Is("="))
            {
                var name = Next().Text;
                if (IsKeyword(name))
                {
                    throw new DagSyntaxException($"invalid syntax: '{name}' cannot be a keyword argument", at);
                }

                Next();
                if (args.Exists(a => a.Name == name))
                {
                    throw new DagSyntaxException($"keyword argument repeated: {name}", at);
                }

                sawKeyword = true;
                args.Add(new Argument(at, name, Test()));
            }
            else
            {
                if (sawKeyword)
                {
                    throw Error("positional argument follows keyword argument");
                }

                var value = Test();
                if (Current.IsName("for"))
                {
                    value = Comprehension(at, "generator", value, null);
                }

                args.Add(new Argument(at, null, value));
            }
        }

        Expect(")");
        return [.. args];
    }

    private Expr Atom()
    {
        var t = Current;
        switch (t.Kind)
        {
            case PythonTokenKind.Name:
                if (IsKeyword(t.Text) && t.Text is not ("True" or "False" or "None"))
                {
                    if (Unsupported.TryGetValue(t.Text, out var what) && what.Length > 0)
                    {
                        throw Error($"{what} are not supported in DAG files read without Python");
                    }

                    throw Error($"invalid syntax: unexpected '{t.Text}'");
                }

                Next();
                return t.Text switch
                {
                    "True" => new ConstExpr(t.Offset, true),
                    "False" => new ConstExpr(t.Offset, false),
                    "None" => new ConstExpr(t.Offset, null),
                    _ => new NameExpr(t.Offset, t.Text),
                };
            case PythonTokenKind.Int or PythonTokenKind.Float:
                Next();
                return new ConstExpr(t.Offset, t.Value);
            case PythonTokenKind.String or PythonTokenKind.FString:
                return Strings();
            case PythonTokenKind.Op when t.Text == "(":
                Next();
                if (Skip(")"))
                {
                    return new SequenceExpr(t.Offset, "tuple", []);
                }

                var first = Current.Is("*") ? Starred() : Test();
                if (Current.IsName("for"))
                {
                    var gen = Comprehension(t.Offset, "generator", first, null);
                    Expect(")");
                    return gen;
                }

                if (!Current.Is(","))
                {
                    Expect(")");
                    return first;
                }

                return new SequenceExpr(t.Offset, "tuple", ItemsAfter(first, ")"));
            case PythonTokenKind.Op when t.Text == "[":
                Next();
                return Display(t.Offset, "list", "]");
            case PythonTokenKind.Op when t.Text == "{":
                Next();
                return Braces(t.Offset);
            case PythonTokenKind.Op when t.Text == "...":
                throw Error("Ellipsis (...) is not supported");
            default:
                throw Error($"invalid syntax: unexpected {Describe(t)}");
        }
    }

    /// <summary>The items of a display after its first one, up to and including <paramref name="close"/>.</summary>
    private Expr[] ItemsAfter(Expr first, string close)
    {
        var items = new List<Expr> { first };
        while (Skip(","))
        {
            if (Current.Is(close))
            {
                break;
            }

            items.Add(Current.Is("*") ? Starred() : Test());
        }

        Expect(close);
        return [.. items];
    }

    private Expr Display(int offset, string kind, string close)
    {
        var items = new List<Expr>();
        while (!Current.Is(close))
        {
            if (items.Count > 0)
            {
                Expect(",");
                if (Current.Is(close))
                {
                    break;
                }
            }

            var item = Current.Is("*") ? Starred() : Test();
            if (items.Count == 0 && Current.IsName("for") && item is not StarredExpr)
            {
                var c = Comprehension(offset, kind, item, null);
                Expect(close);
                return c;
            }

            items.Add(item);
        }

        Expect(close);
        return new SequenceExpr(offset, kind, [.. items]);
    }

    private Expr Braces(int offset)
    {
        if (Skip("}"))
        {
            return new DictExpr(offset, []);
        }

        if (!Current.Is("**"))
        {
            var first = Current.Is("*") ? Starred() : Test();
            if (!Current.Is(":"))
            {
                // A set display or comprehension.
                if (Current.IsName("for") && first is not StarredExpr)
                {
                    var c = Comprehension(offset, "set", first, null);
                    Expect("}");
                    return c;
                }

                return new SequenceExpr(offset, "set", ItemsAfter(first, "}"));
            }

            Next();
            var value = Test();
            if (Current.IsName("for"))
            {
                var c = Comprehension(offset, "dict", first, value);
                Expect("}");
                return c;
            }

            var pairs = new List<(Expr?, Expr)> { (first, value) };
            return DictRest(offset, pairs);
        }

        return DictRest(offset, []);
    }

    private DictExpr DictRest(int offset, List<(Expr?, Expr)> pairs)
    {
        while (true)
        {
            if (pairs.Count > 0)
            {
                if (!Skip(","))
                {
                    break;
                }

                if (Current.Is("}"))
                {
                    break;
                }
            }

            if (Skip("**"))
            {
                pairs.Add((null, OrExpr()));
                continue;
            }

            var key = Test();
            Expect(":");
            pairs.Add((key, Test()));
        }

        Expect("}");
        return new DictExpr(offset, [.. pairs]);
    }

    private ComprehensionExpr Comprehension(int offset, string kind, Expr element, Expr? value)
    {
        var clauses = new List<ComprehensionClause>();
        while (Current.IsName("for"))
        {
            Next();
            var target = CheckTarget(TargetList());
            if (!Current.IsName("in"))
            {
                throw Error($"invalid syntax: expected 'in', got {Describe(Current)}");
            }

            Next();
            var iterable = OrTest();
            var conditions = new List<Expr>();
            while (Current.IsName("if"))
            {
                Next();
                conditions.Add(OrTest());
            }

            clauses.Add(new ComprehensionClause(target, iterable, [.. conditions]));
        }

        if (Current.IsName("async"))
        {
            throw Error("async comprehensions are not supported");
        }

        return new ComprehensionExpr(offset, kind, element, value, [.. clauses]);
    }

    /// <summary>Adjacent string literals, plain and formatted, concatenated.</summary>
    private Expr Strings()
    {
        var offset = Current.Offset;
        var parts = new List<object>();
        var anyF = false;
        while (Current.Kind is PythonTokenKind.String or PythonTokenKind.FString)
        {
            var t = Next();
            if (t.Kind == PythonTokenKind.String)
            {
                parts.Add((string)t.Value!);
            }
            else
            {
                anyF = true;
                FStringParts(t, parts);
            }
        }

        if (!anyF)
        {
            return new ConstExpr(offset, string.Concat(parts.Cast<string>()));
        }

        // Merge neighbouring literal parts.
        var merged = new List<object>();
        foreach (var p in parts)
        {
            if (p is string s && merged.Count > 0 && merged[^1] is string prev)
            {
                merged[^1] = prev + s;
            }
            else
            {
                merged.Add(p);
            }
        }

        return new FStringExpr(offset, merged);
    }

    private void FStringParts(PythonToken t, List<object> parts)
    {
        var start = t.BodyOffset;
        var end = start + ((string)t.Value!).Length;
        FStringRange(start, end, t.Raw, parts, 0);
    }

    private void FStringRange(int start, int end, bool raw, List<object> parts, int nesting)
    {
        var i = start;
        var literalStart = i;
        void FlushLiteral(int upTo)
        {
            if (upTo > literalStart)
            {
                parts.Add(raw ? _text[literalStart..upTo] : PyStringLiteral.Decode(_text, literalStart, upTo, SyntaxError));
            }
        }

        while (i < end)
        {
            var c = _text[i];
            if (c == '\\' && !raw)
            {
                i += 2;
                continue;
            }

            if (c == '{' && i + 1 < end && _text[i + 1] == '{')
            {
                FlushLiteral(i + 1);
                i += 2;
                literalStart = i;
                continue;
            }

            if (c == '}' && i + 1 < end && _text[i + 1] == '}')
            {
                FlushLiteral(i + 1);
                i += 2;
                literalStart = i;
                continue;
            }

            if (c == '}')
            {
                throw new DagSyntaxException("f-string: single '}' is not allowed", i);
            }

            if (c != '{')
            {
                i++;
                continue;
            }

            FlushLiteral(i);
            if (nesting > 1)
            {
                throw new DagSyntaxException("f-string: expressions nested too deeply", i);
            }

            // Find the end of the expression: a '!', ':' or '}' at bracket depth 0, outside strings.
            var exprStart = i + 1;
            var j = exprStart;
            var depth = 0;
            while (j < end)
            {
                var d = _text[j];
                if (d is '\'' or '"')
                {
                    var q = d;
                    j++;
                    while (j < end && _text[j] != q)
                    {
                        j++;
                    }

                    j++;
                    continue;
                }

                if (d is '(' or '[' or '{')
                {
                    depth++;
                }
                else if (d is ')' or ']' or '}')
                {
                    if (depth == 0)
                    {
                        break;
                    }

                    depth--;
                }
                else if (depth == 0 && (d == ':' || (d == '!' && j + 1 < end && _text[j + 1] != '=')))
                {
                    break;
                }

                j++;
            }

            if (j >= end)
            {
                throw new DagSyntaxException("f-string: expecting '}'", i);
            }

            var exprEnd = j;
            if (exprEnd > exprStart && _text[exprEnd - 1] == '=' && (exprEnd - 2 < exprStart || _text[exprEnd - 2] is not ('=' or '!' or '<' or '>')))
            {
                throw new DagSyntaxException("f-string self-documenting expressions (=) are not supported", exprEnd - 1);
            }

            if (string.IsNullOrWhiteSpace(_text[exprStart..exprEnd]))
            {
                throw new DagSyntaxException("f-string: empty expression not allowed", i);
            }

            var sub = new Parser(_text, PythonTokenizer.Expression(_text, exprStart, exprEnd, SyntaxError)) { _depth = _depth + 10 };
            var value = sub.TupleOrTest();
            if (sub.Current.Kind != PythonTokenKind.End)
            {
                throw sub.Error($"f-string: invalid syntax, unexpected {Describe(sub.Current)}");
            }

            var conversion = '\0';
            if (_text[j] == '!')
            {
                if (j + 1 >= end || _text[j + 1] is not ('r' or 's' or 'a'))
                {
                    throw new DagSyntaxException("f-string: invalid conversion character: expected 's', 'r', or 'a'", j);
                }

                conversion = _text[j + 1];
                j += 2;
            }

            Expr? spec = null;
            if (j < end && _text[j] == ':')
            {
                // The format spec runs to the matching '}' and may hold nested replacement fields.
                var specStart = j + 1;
                var k = specStart;
                var nest = 0;
                while (k < end && (_text[k] != '}' || nest > 0))
                {
                    if (_text[k] == '{')
                    {
                        nest++;
                    }
                    else if (_text[k] == '}')
                    {
                        nest--;
                    }

                    k++;
                }

                var specParts = new List<object>();
                FStringRange(specStart, k, raw, specParts, nesting + 1);
                spec = specParts.Count == 1 && specParts[0] is string only
                    ? new ConstExpr(specStart, only)
                    : new FStringExpr(specStart, specParts);
                j = k;
            }

            if (j >= end || _text[j] != '}')
            {
                throw new DagSyntaxException("f-string: expecting '}'", j);
            }

            parts.Add(new FormattedPart(value, conversion, spec));
            i = j + 1;
            literalStart = i;
        }

        FlushLiteral(end);
    }

    /// <summary>Whether a return annotation names dict (or typing.Dict), subscripted or not, or is that text.</summary>
    private static bool IsDict(Expr annotation) => annotation switch
    {
        NameExpr n => n.Name is "dict" or "Dict",
        AttributeExpr a => a.Name == "Dict" && a.Target is NameExpr { Name: "typing" },
        SubscriptExpr s => IsDict(s.Target),
        ConstExpr { Value: string text } => text.Trim() is var t && (t == "dict" || t == "Dict" || t == "typing.Dict"
            || t.StartsWith("dict[", StringComparison.Ordinal) || t.StartsWith("Dict[", StringComparison.Ordinal) || t.StartsWith("typing.Dict[", StringComparison.Ordinal)),
        _ => false,
    };
}
