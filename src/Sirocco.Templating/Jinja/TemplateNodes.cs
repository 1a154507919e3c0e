using System.Text;
using Sirocco.Templating.Expressions;

namespace Sirocco.Templating.Jinja;

/// <summary>Where rendered output goes: text with a size bound, or (native mode) the raw values.</summary>
internal sealed class RenderOutput
{
    private readonly long _maxLength;
    private readonly List<object?>? _native;
    private long _nativeLength;

    public RenderOutput(long maxLength, bool native)
    {
        _maxLength = maxLength;
        if (native)
        {
            _native = [];
        }
    }

    public StringBuilder Text { get; } = new();

    public List<object?>? Native => _native;

    public void AppendText(string text)
    {
        if (_native is not null)
        {
            _native.Add(text);
            Grow(text.Length);
            return;
        }

        Text.Append(text);
        Grow(0);
    }

    public void AppendValue(object? value)
    {
        if (value is Undefined { IsLenient: true })
        {
            return;
        }

        PyOps.Check(value);
        if (_native is not null)
        {
            _native.Add(value);
            Grow(value is string s ? s.Length : 16);
            return;
        }

        Text.Append(PyOps.Str(value));
        Grow(0);
    }

    private void Grow(int nativeChars)
    {
        Budget.Charge(nativeChars + 1);
        _nativeLength += nativeChars;
        if (Text.Length > _maxLength || _nativeLength > _maxLength)
        {
            throw new PyException($"template output exceeded {_maxLength} characters");
        }
    }
}

/// <summary>A statement of a compiled template.</summary>
internal abstract class Node
{
    protected Node(int offset) => Offset = offset;

    public int Offset { get; }

    public abstract void Render(RenderOutput output, Scope scope);

    public static void RenderAll(Node[] nodes, RenderOutput output, Scope scope)
    {
        foreach (var n in nodes)
        {
            n.Render(output, scope);
        }
    }
}

internal sealed class TextNode(int offset, string text) : Node(offset)
{
    public string Text { get; } = text;

    public override void Render(RenderOutput output, Scope scope) => output.AppendText(Text);
}

internal sealed class OutputNode(int offset, Expr expr) : Node(offset)
{
    public Expr Expr { get; } = expr;

    public override void Render(RenderOutput output, Scope scope) => output.AppendValue(Expr.Eval(scope));
}

internal sealed class IfNode(int offset, (Expr Test, Node[] Body)[] branches, Node[]? otherwise) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope)
    {
        foreach (var (test, body) in branches)
        {
            if (PyOps.Truthy(test.Eval(scope)))
            {
                RenderAll(body, output, scope);
                return;
            }
        }

        if (otherwise is not null)
        {
            RenderAll(otherwise, output, scope);
        }
    }
}

/// <summary>Assignment targets: one name, or several for tuple unpacking.</summary>
internal sealed class Target(string[] names, bool unpack)
{
    public string[] Names => names;

    public void Assign(Scope scope, object? value)
    {
        if (!unpack)
        {
            scope.Set(names[0], value);
            return;
        }

        PyOps.Check(value);
        if (value is not (string or PyDict or IReadOnlyList<object?>))
        {
            throw new PyException($"cannot unpack non-iterable {PyOps.TypeName(value)} object");
        }

        var items = PyOps.ToList(value);
        if (items.Count != names.Length)
        {
            throw new PyException(items.Count < names.Length
                ? $"not enough values to unpack (expected {names.Length}, got {items.Count})"
                : $"too many values to unpack (expected {names.Length})");
        }

        for (var i = 0; i < names.Length; i++)
        {
            scope.Set(names[i], items[i]);
        }
    }
}

internal sealed class SetNode(int offset, Target target, Expr value) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope) => target.Assign(scope, value.Eval(scope));
}

internal sealed class SetBlockNode(int offset, string name, Node[] body, RenderOptions options) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope)
    {
        var inner = new RenderOutput(options.MaxOutputLength, native: false);
        RenderAll(body, inner, scope);
        scope.Set(name, inner.Text.ToString());
    }
}

/// <summary>The limits one render runs under.</summary>
internal sealed record RenderOptions(long MaxOutputLength, long MaxLoopIterations);

internal sealed class ForNode(int offset, Target target, Expr iterable, Expr? filter, Node[] body, Node[]? otherwise) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope)
    {
        var source = iterable.Eval(scope);
        var inner = scope.Child();
        List<object?> items;
        if (filter is null)
        {
            items = PyOps.ToList(source);
        }
        else
        {
            items = [];
            foreach (var x in PyOps.Iterate(source))
            {
                scope.Budget.Tick();
                target.Assign(inner, x);
                if (PyOps.Truthy(filter.Eval(inner)))
                {
                    items.Add(x);
                }
            }
        }

        if (items.Count == 0)
        {
            if (otherwise is not null)
            {
                RenderAll(otherwise, output, scope);
            }

            return;
        }

        var loop = new LoopObject(items);
        for (var i = 0; i < items.Count; i++)
        {
            scope.Budget.Tick();
            loop.Index = i;
            inner.Set("loop", loop);
            target.Assign(inner, items[i]);
            RenderAll(body, output, inner);
        }
    }
}

/// <summary>Jinja2's <c>loop</c> variable.</summary>
internal sealed class LoopObject(List<object?> items) : IPyObject
{
    private PyTuple? _lastChanged;

    public int Index { get; set; }

    public string TypeName => "LoopContext";

    public bool TryGetAttr(string name, out object? value)
    {
        var n = items.Count;
        value = name switch
        {
            "index" => (long)Index + 1,
            "index0" => (long)Index,
            "revindex" => (long)(n - Index),
            "revindex0" => (long)(n - Index - 1),
            "first" => Index == 0,
            "last" => Index == n - 1,
            "length" => (long)n,
            "depth" => 1L,
            "depth0" => 0L,
            "previtem" => Index > 0 ? items[Index - 1] : new Undefined("there is no previous item"),
            "nextitem" => Index < n - 1 ? items[Index + 1] : new Undefined("there is no next item"),
            "cycle" => new PyFunction("cycle", a => a.Count == 0 ? throw new PyException("no items for cycling given") : a.Positional[Index % a.Count]),
            "changed" => new PyFunction("changed", a =>
            {
                var now = new PyTuple(a.Positional);
                var changed = _lastChanged is null || !PyOps.Eq(_lastChanged, now);
                _lastChanged = now;
                return changed;
            }),
            _ => Undefined.Attribute(this, name),
        };
        return true;
    }

    public override string ToString() => $"<LoopContext {Index + 1}/{items.Count}>";
}

/// <summary><c>{% macro name(a, b=default) %}</c>: defines a function that renders its body to text.</summary>
internal sealed class MacroNode(int offset, string name, (string Name, Expr? Default)[] parameters, Node[] body, RenderOptions options) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope)
    {
        var defining = scope;
        scope.Set(name, new PyFunction(name, args => Call(defining, args)));
    }

    private string Call(Scope defining, CallArgs args)
    {
        if (args.Count > parameters.Length)
        {
            throw new PyException($"macro '{name}' takes not more than {parameters.Length} argument(s)");
        }

        var inner = defining.Child();
        for (var i = 0; i < parameters.Length; i++)
        {
            var (param, dflt) = parameters[i];
            if (args.Has(i, param))
            {
                inner.Set(param, args.Get(i, param));
            }
            else
            {
                inner.Set(param, dflt is null ? new Undefined($"parameter '{param}' was not provided") : dflt.Eval(inner));
            }
        }

        if (args.Keywords?.Find(kv => !Array.Exists(parameters, p => p.Name == kv.Key)) is { Key: not null } bad)
        {
            throw new PyException($"macro '{name}' takes no keyword argument '{bad.Key}'");
        }

        defining.Budget.EnterCall();
        try
        {
            var text = new RenderOutput(options.MaxOutputLength, native: false);
            RenderAll(body, text, inner);
            return text.Text.ToString();
        }
        finally
        {
            defining.Budget.ExitCall();
        }
    }
}

/// <summary><c>{% set ns.attr = value %}</c> on a <c>namespace()</c> object.</summary>
internal sealed class SetAttributeNode(int offset, string owner, string attribute, Expr value) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope)
    {
        var target = scope.TryLookup(owner, out var v) ? v : Undefined.Name(owner, Offset);
        PyOps.Check(target);
        if (target is not NamespaceObject ns)
        {
            throw new PyException("cannot assign attribute on non-namespace object") { Offset = Offset };
        }

        ns.Set(attribute, value.Eval(scope));
    }
}

/// <summary>Jinja2's <c>namespace(...)</c>: the one object whose attributes a template may set.</summary>
internal sealed class NamespaceObject : IPyObject
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

    public NamespaceObject(CallArgs args)
    {
        if (args.Count > 1 || (args.Count == 1 && args.Positional[0] is not PyDict))
        {
            throw new PyException("namespace() takes keyword arguments or one dict");
        }

        if (args.Count == 1)
        {
            foreach (var kv in (PyDict)args.Positional[0]!)
            {
                _values[PyOps.Str(PyEqualityComparer.Unkey(kv.Key))] = kv.Value;
            }
        }

        foreach (var kv in args.Keywords ?? [])
        {
            _values[kv.Key] = kv.Value;
        }
    }

    public string TypeName => "Namespace";

    public bool TryGetAttr(string name, out object? value) => _values.TryGetValue(name, out value);

    public void Set(string name, object? value)
    {
        if (_values.Count > 10_000 && !_values.ContainsKey(name))
        {
            throw new PyException("namespace holds too many attributes");
        }

        _values[name] = value;
    }

    public override string ToString() => "<Namespace " + PyOps.Repr(_values.Aggregate(new PyDict(), (d, kv) => { d[kv.Key] = kv.Value; return d; })) + ">";
}

/// <summary><c>{% filter ... %}</c>: renders the body, then applies the filters to its text.</summary>
internal sealed class FilterBlockNode(int offset, Expr filters, Node[] body, RenderOptions options) : Node(offset)
{
    public const string BodyName = "\u0001filter-body";

    public override void Render(RenderOutput output, Scope scope)
    {
        var text = new RenderOutput(options.MaxOutputLength, native: false);
        RenderAll(body, text, scope);
        var inner = scope.Child();
        inner.Set(BodyName, text.Text.ToString());
        output.AppendValue(filters.Eval(inner));
    }
}

/// <summary><c>{% include %}</c>: renders another template file (found by the render's loader) in this context.</summary>
internal sealed class IncludeNode(int offset, Expr name, bool ignoreMissing, bool withContext) : Node(offset)
{
    public override void Render(RenderOutput output, Scope scope)
    {
        var value = name.Eval(scope);
        PyOps.Check(value);
        var names = value is string s ? [s] : PyOps.Iterate(value).Select(PyOps.Str).ToList();
        foreach (var candidate in names)
        {
            if (scope.Budget.Loader?.Invoke(candidate) is not Template template)
            {
                continue;
            }

            scope.Budget.EnterCall();
            try
            {
                // Jinja2 hands an included template the context and the enclosing names, but not `loop`.
                var inner = withContext ? scope.Child() : scope.Root();
                if (withContext)
                {
                    inner.Set("loop", Undefined.Name("loop", -1));
                }

                RenderAll(template.Nodes, output, inner);
            }
            catch (PyException e) when (e is not IncludedTemplateException)
            {
                var (line, column) = Template.Position(template.Normalized, e.Offset ?? 0);
                var reason = e.Message.Replace(PyException.LineMarker, line.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
                throw new IncludedTemplateException(reason, e, candidate, template.Text, line, column) { Offset = Offset };
            }
            finally
            {
                scope.Budget.ExitCall();
            }

            return;
        }

        if (!ignoreMissing)
        {
            // Jinja2's TemplateNotFound and TemplatesNotFound messages.
            throw new PyException(names.Count == 1 ? names[0] : $"none of the templates given were found: {string.Join(", ", names)}") { Offset = Offset };
        }
    }
}

/// <summary>An error inside an included template, already located in it.</summary>
internal sealed class IncludedTemplateException(string message, Exception inner, string name, string text, int line, int column)
    : PyException(message, inner)
{
    public string Name { get; } = name;

    public string Text { get; } = text;

    public int Line { get; } = line;

    public int Column { get; } = column;
}
