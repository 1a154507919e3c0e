namespace Sirocco.Templating.Expressions;

/// <summary>A filter: <c>value | name(args)</c>.</summary>
internal delegate object? FilterFunction(object? value, CallArgs args, Scope scope);

/// <summary>A test: <c>value is name(args)</c>.</summary>
internal delegate bool TestFunction(object? value, CallArgs args);

/// <summary>Counts work done by one render so that no template can loop without end.</summary>
internal sealed class Budget
{
    private long _steps;

    public Budget(long maxSteps) => MaxSteps = maxSteps;

    public long MaxSteps { get; }

    /// <summary>Finds templates for <c>{% include %}</c>; null when this render may read no template files.</summary>
    public Func<string, object?>? Loader { get; init; }

    /// <summary>How deep calls of template-defined functions (macros) may nest.</summary>
    public const int MaxCallDepth = 40;

    private int _callDepth;

    public void EnterCall()
    {
        if (++_callDepth > MaxCallDepth)
        {
            _callDepth--;
            throw new PyException($"macro calls nested more than {MaxCallDepth} deep");
        }

        Tick();
    }

    public void ExitCall() => _callDepth--;

    public void Tick()
    {
        if (++_steps > MaxSteps)
        {
            throw new PyException($"template exceeded {MaxSteps} loop iterations");
        }
    }

    /// <summary>
    /// The most elements and characters one evaluation may walk through in total (scans, copies, sorts, joins):
    /// with loops bounded separately, this bounds the time of any template to well under a second.
    /// </summary>
    public const long MaxWork = 10_000_000;

    [ThreadStatic]
    private static Budget? _current;

    private long _work;

    /// <summary>The budget of the evaluation running on this thread, if any.</summary>
    public static Budget? Current => _current;

    /// <summary>Makes this the thread's budget until the returned scope is disposed.</summary>
    public Activation Activate() => new(this);

    /// <summary>Charges <paramref name="units"/> of work (elements or characters) to the running evaluation.</summary>
    public static void Charge(long units)
    {
        var budget = _current;
        if (budget is not null && (budget._work += units) > MaxWork)
        {
            throw new PyException($"template exceeded its work budget ({MaxWork} element and character steps)");
        }
    }

    /// <summary>Restores the previous budget of the thread.</summary>
    public readonly struct Activation : IDisposable
    {
        private readonly Budget? _previous;

        public Activation(Budget budget)
        {
            _previous = _current;
            _current = budget;
        }

        public void Dispose() => _current = _previous;
    }
}

/// <summary>Names visible to an expression: locals (innermost first), then the globals handed in.</summary>
internal sealed class Scope
{
    private readonly Scope? _parent;
    private readonly IReadOnlyDictionary<string, object?> _globals;
    private Dictionary<string, object?>? _locals;

    public Scope(IReadOnlyDictionary<string, object?> globals, ExprEnvironment environment, Budget budget)
    {
        _globals = globals;
        Environment = environment;
        Budget = budget;
    }

    private Scope(Scope parent)
    {
        _parent = parent;
        _globals = parent._globals;
        Environment = parent.Environment;
        Budget = parent.Budget;
    }

    public ExprEnvironment Environment { get; }

    public Budget Budget { get; }

    public Scope Child() => new(this);

    /// <summary>A scope that sees none of the render's names, only the environment's (<c>without context</c> includes).</summary>
    public Scope Root() => new(EmptyGlobals, Environment, Budget);

    private static readonly Dictionary<string, object?> EmptyGlobals = [];

    public bool TryLookup(string name, out object? value)
    {
        for (var s = this; s is not null; s = s._parent)
        {
            if (s._locals is not null && s._locals.TryGetValue(name, out value))
            {
                return true;
            }
        }

        return _globals.TryGetValue(name, out value) || Environment.Globals.TryGetValue(name, out value);
    }

    public void Set(string name, object? value) => (_locals ??= new Dictionary<string, object?>(StringComparer.Ordinal))[name] = value;
}

/// <summary>The filters and tests an expression may use, and whether the syntax is Jinja's or plain Python's.</summary>
internal sealed class ExprEnvironment
{
    public Dictionary<string, FilterFunction> Filters { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TestFunction> Tests { get; } = new(StringComparer.Ordinal);

    /// <summary>Names every expression sees unless the context defines them (Jinja2's <c>range</c>, <c>dict</c>).</summary>
    public Dictionary<string, object?> Globals { get; } = new(StringComparer.Ordinal);

    /// <summary>Python syntax: no filters or tests, <c>is</c> is identity, only True/False/None are constants.</summary>
    public bool PythonSyntax { get; init; }
}

/// <summary>An expression node; <see cref="Offset"/> locates it in the source for error messages.</summary>
internal abstract class Expr
{
    /// <summary>The deepest an expression tree may nest, so evaluation can never exhaust the stack.</summary>
    public const int MaxDepth = 120;

    protected Expr(int offset, params Expr?[] children)
    {
        Offset = offset;
        var depth = 0;
        foreach (var c in children)
        {
            if (c is not null && c.Depth > depth)
            {
                depth = c.Depth;
            }
        }

        Depth = depth + 1;
        if (Depth > MaxDepth)
        {
            throw new SyntaxErrorException($"expression nested too deeply (more than {MaxDepth} levels)", offset);
        }
    }

    public int Offset { get; }

    public int Depth { get; }

    public abstract object? Eval(Scope scope);

    /// <summary>Records this node's position on an error that has none yet.</summary>
    protected PyException At(PyException e)
    {
        e.Offset ??= Offset;
        return e;
    }

    /// <summary>Records this node's position on an undefined value that has none yet.</summary>
    protected object? Mark(object? value)
    {
        if (value is Undefined { Offset: < 0 } u)
        {
            u.Offset = Offset;
        }

        return value;
    }
}

internal sealed class ConstExpr(int offset, object? value) : Expr(offset)
{
    public object? Value { get; } = value;

    public override object? Eval(Scope scope) => Value;
}

internal sealed class NameExpr(int offset, string name) : Expr(offset)
{
    public string Name { get; } = name;

    public override object? Eval(Scope scope) => scope.TryLookup(Name, out var v) ? v : Undefined.Name(Name, Offset);
}

internal sealed class ListExpr(int offset, Expr[] items) : Expr(offset, items)
{
    public Expr[] Items { get; } = items;

    public override object? Eval(Scope scope)
    {
        var list = new List<object?>(Items.Length);
        foreach (var i in Items)
        {
            list.Add(i.Eval(scope));
        }

        return list;
    }
}

internal sealed class TupleExpr(int offset, Expr[] items) : Expr(offset, items)
{
    public Expr[] Items { get; } = items;

    public override object? Eval(Scope scope)
    {
        var arr = new object?[Items.Length];
        for (var i = 0; i < arr.Length; i++)
        {
            arr[i] = Items[i].Eval(scope);
        }

        return new PyTuple(arr);
    }
}

internal sealed class DictExpr(int offset, (Expr Key, Expr Value)[] items) : Expr(offset, [.. items.SelectMany(p => new[] { p.Key, p.Value })])
{
    public (Expr Key, Expr Value)[] Items { get; } = items;

    public override object? Eval(Scope scope)
    {
        var d = new PyDict(Items.Length);
        foreach (var (k, v) in Items)
        {
            var key = k.Eval(scope);
            PyOps.Check(key);
            if (key is List<object?> or PyDict)
            {
                throw new PyException($"unhashable type: '{PyOps.TypeName(key)}'");
            }

            d[PyEqualityComparer.Key(key)] = v.Eval(scope);
        }

        return d;
    }
}

internal sealed class AttrExpr(int offset, Expr target, string name) : Expr(offset, target)
{
    public Expr Target { get; } = target;

    public string Name { get; } = name;

    public override object? Eval(Scope scope)
    {
        var target = Target.Eval(scope);
        try
        {
            return Mark(PyOps.GetAttr(target, Name));
        }
        catch (PyException e)
        {
            throw At(e);
        }
    }
}

internal sealed class ItemExpr(int offset, Expr target, Expr key) : Expr(offset, target, key)
{
    public Expr Target { get; } = target;

    public Expr Key { get; } = key;

    public override object? Eval(Scope scope)
    {
        var target = Target.Eval(scope);
        var key = Key.Eval(scope);
        try
        {
            return Mark(PyOps.GetItem(target, key));
        }
        catch (PyException e)
        {
            throw At(e);
        }
    }
}

internal sealed class SliceExpr(int offset, Expr target, Expr? start, Expr? stop, Expr? step) : Expr(offset, target, start, stop, step)
{
    public override object? Eval(Scope scope)
    {
        var t = target.Eval(scope);
        object? Part(Expr? e)
        {
            var v = e?.Eval(scope);
            PyOps.Check(v);
            return v;
        }

        return PyOps.Slice(t, Part(start), Part(stop), Part(step));
    }
}

/// <summary>Positional and keyword argument expressions of a call, filter or test.</summary>
internal sealed class ArgList
{
    public static readonly ArgList None = new([], []);

    public ArgList(Expr[] positional, (string Name, Expr Value)[] keywords)
    {
        Positional = positional;
        Keywords = keywords;
    }

    public Expr[] Positional { get; }

    public (string Name, Expr Value)[] Keywords { get; }

    public IEnumerable<Expr> All => Positional.Concat(Keywords.Select(k => k.Value));

    public CallArgs Eval(Scope scope)
    {
        if (Positional.Length == 0 && Keywords.Length == 0)
        {
            return CallArgs.Empty;
        }

        var pos = new object?[Positional.Length];
        for (var i = 0; i < pos.Length; i++)
        {
            pos[i] = Positional[i].Eval(scope);
        }

        List<KeyValuePair<string, object?>>? kw = null;
        if (Keywords.Length > 0)
        {
            kw = new List<KeyValuePair<string, object?>>(Keywords.Length);
            foreach (var (name, value) in Keywords)
            {
                kw.Add(new(name, value.Eval(scope)));
            }
        }

        return new CallArgs(pos, kw);
    }
}

internal sealed class CallExpr(int offset, Expr callee, ArgList args) : Expr(offset, [callee, .. args.All])
{
    public Expr Callee { get; } = callee;

    public ArgList Args { get; } = args;

    public override object? Eval(Scope scope)
    {
        var f = Callee.Eval(scope);
        var args = Args.Eval(scope);
        try
        {
            PyOps.Check(f);
            return Mark(PyOps.Call(f, args));
        }
        catch (PyException e)
        {
            throw At(e);
        }
    }
}

internal sealed class FilterExpr(int offset, Expr value, string name, ArgList args, FilterFunction function) : Expr(offset, [value, .. args.All])
{
    public string Name { get; } = name;

    public override object? Eval(Scope scope)
    {
        var v = value.Eval(scope);
        var a = args.Eval(scope);
        try
        {
            return Mark(function(v, a, scope));
        }
        catch (PyException e)
        {
            throw At(e);
        }
    }
}

internal sealed class TestExpr(int offset, Expr value, ArgList args, TestFunction function, bool negated) : Expr(offset, [value, .. args.All])
{
    public override object? Eval(Scope scope)
    {
        var v = value.Eval(scope);
        var a = args.Eval(scope);
        try
        {
            return function(v, a) != negated;
        }
        catch (PyException e)
        {
            throw At(e);
        }
    }
}

internal sealed class IdentityExpr(int offset, Expr left, Expr right, bool negated) : Expr(offset, left, right)
{
    public override object? Eval(Scope scope)
    {
        var a = left.Eval(scope);
        var b = right.Eval(scope);
        var same = a is null || a is bool ? Equals(a, b) && (b is null || b is bool) : ReferenceEquals(a, b);
        return same != negated;
    }
}

internal sealed class UnaryExpr(int offset, string op, Expr operand) : Expr(offset, operand)
{
    public bool IsSign => op is "-" or "+";

    public Expr Operand => operand;

    public override object? Eval(Scope scope)
    {
        var v = operand.Eval(scope);
        return op switch
        {
            "-" => PyArith.Negate(v),
            "+" => PyArith.Plus(v),
            _ => !PyOps.Truthy(v),
        };
    }
}

internal sealed class BinaryExpr(int offset, string op, Expr left, Expr right) : Expr(offset, left, right)
{
    public override object? Eval(Scope scope)
    {
        var l = left.Eval(scope);
        var r = right.Eval(scope);
        try
        {
            return PyArith.Binary(op, l, r);
        }
        catch (PyException e)
        {
            throw At(e);
        }
    }
}

internal sealed class AndExpr(int offset, Expr left, Expr right) : Expr(offset, left, right)
{
    public override object? Eval(Scope scope)
    {
        var l = left.Eval(scope);
        return PyOps.Truthy(l) ? right.Eval(scope) : l;
    }
}

internal sealed class OrExpr(int offset, Expr left, Expr right) : Expr(offset, left, right)
{
    public override object? Eval(Scope scope)
    {
        var l = left.Eval(scope);
        return PyOps.Truthy(l) ? l : right.Eval(scope);
    }
}

internal sealed class CompareExpr(int offset, Expr first, (string Op, Expr Operand)[] rest) : Expr(offset, [first, .. rest.Select(r => r.Operand)])
{
    public override object? Eval(Scope scope)
    {
        var left = first.Eval(scope);
        foreach (var (op, operand) in rest)
        {
            var right = operand.Eval(scope);
            var ok = op switch
            {
                "==" => PyOps.Eq(Checked(left), Checked(right)),
                "!=" => !PyOps.Eq(Checked(left), Checked(right)),
                "in" => PyOps.Contains(right, left),
                "not in" => !PyOps.Contains(right, left),
                "<" => PyOps.Compare(left, right, op) < 0,
                "<=" => PyOps.Compare(left, right, op) <= 0,
                ">" => PyOps.Compare(left, right, op) > 0,
                _ => PyOps.Compare(left, right, op) >= 0,
            };
            if (!ok)
            {
                return false;
            }

            left = right;
        }

        return true;
    }

    private static object? Checked(object? v)
    {
        PyOps.Check(v);
        return v;
    }
}

internal sealed class CondExpr(int offset, Expr test, Expr then, Expr? otherwise) : Expr(offset, test, then, otherwise)
{
    public override object? Eval(Scope scope)
    {
        if (PyOps.Truthy(test.Eval(scope)))
        {
            return then.Eval(scope);
        }

        return otherwise is null
            ? new Undefined($"the inline if-expression on line {PyException.LineMarker} evaluated to false and no else section was defined.") { IsLenient = true, Offset = Offset }
            : otherwise.Eval(scope);
    }
}
