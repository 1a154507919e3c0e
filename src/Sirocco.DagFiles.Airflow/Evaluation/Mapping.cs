using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary><c>SomeOperator.partial(...)</c>: the arguments every mapped instance shares, waiting for <c>expand</c>.</summary>
internal sealed class PartialValue(string className, Args args) : IPyObject
{
    public string ClassName { get; } = className;

    public Args Args { get; } = args;

    public string TypeName => "OperatorPartial";

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    public override string ToString() => $"<OperatorPartial: {ClassName}>";
}

/// <summary>An upstream task's XCom as an argument (<c>task.output</c>, <c>XComArg(task)</c>, <c>task.output["key"]</c>, <c>.map(f)</c>).</summary>
internal sealed record XComArgValue(TaskValue Task, string Key, Func<JsonElement, JsonElement>? Transform) : IPyObject
{
    public string TypeName => "XComArg";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "operator" => Task,
            "key" => Key,
            _ => null,
        };
        return value is not null;
    }

    public override string ToString() => $"<XComArg: {Task.Task.TaskId}[{Key}]>";
}

/// <summary><c>a.output.zip(b.output, ..., fillvalue=x)</c>: outputs side by side, item i the tuple of each one's item i.</summary>
internal sealed record ZipArgValue(IReadOnlyList<object?> Parts, object? FillValue, bool HasFill, Func<JsonElement, JsonElement>? Transform) : IPyObject
{
    public string TypeName => "_ZipResult";

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    public override string ToString() => "<zip of XComArgs>";
}

/// <summary>Dynamic task mapping in DAG files: <c>.partial(...).expand(...)</c> and <c>.expand_kwargs(...)</c>.</summary>
internal static class Mapping
{
    public static TaskValue Expand(Library library, PartialValue partial, bool kwargs, Args a)
    {
        var className = partial.ClassName;
        var call = kwargs ? "expand_kwargs" : "expand";
        if (kwargs && (a.Positional.Count != 1 || a.Keywords.Count > 0))
        {
            throw new DagEvalException($"{className}.partial(...).expand_kwargs() takes one argument: a list of dicts or an XComArg");
        }

        if (!kwargs && (a.Positional.Count > 0 || a.Keywords.Count == 0))
        {
            throw new DagEvalException($"{className}.partial(...).expand() takes keyword arguments only, at least one: the arguments to map over");
        }

        foreach (var k in a.Keywords.Where(k => partial.Args.Has(k.Name)))
        {
            throw new KeywordException(k.Name, $"{className}.partial(...).expand(): '{k.Name}' is given to both partial() and expand()");
        }

        var wrapped = Operators.Create(library, className, partial.Args, a.Keywords.Select(k => k.Name).ToHashSet(StringComparer.Ordinal), anyMapped: kwargs);
        var op = wrapped.Task;
        if (kwargs)
        {
            Map(() => op.ExpandKwargs(Source(a.Positional[0], call, wrapped)), null);
            return wrapped;
        }

        foreach (var k in a.Keywords)
        {
            var property = Operators.Property(op, k.Name) ?? throw new KeywordException(k.Name, $"{className}.expand() got an unexpected keyword argument '{k.Name}'");

            // Errors name the keyword as written; an alias (node_selectors) is kept as its property's name.
            var name = string.Concat(k.Name.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..])) == property ? k.Name : property;
            Map(() => op.ExpandArgument(name, Source(k.Value, $"{call}({k.Name}=...)", wrapped)), k.Name);
        }

        return wrapped;
    }

    /// <summary><c>xcom_arg.zip(*others, fillvalue=...)</c>.</summary>
    public static ZipArgValue Zip(XComArgValue first, Args a)
    {
        a.Check("zip", int.MaxValue, "fillvalue");
        foreach (var other in a.Positional.Where(p => p is not (XComArgValue or ZipArgValue or List<object?> or PyTuple)))
        {
            throw new DagEvalException($"XComArg.zip() takes outputs of tasks (or lists), not {Interpreter.Describe(other)}");
        }

        return new ZipArgValue([first, .. a.Positional], a.Get(-1, "fillvalue"), a.Has("fillvalue"), null);
    }

    /// <summary><c>xcom_arg.map(f)</c>: <paramref name="function"/> is applied to each item when the task is expanded.</summary>
    public static IPyObject Map(IPyObject arg, object? function, Interpreter interpreter, int offset)
    {
        if (function is not (UserFunction or NativeFunction))
        {
            throw new DagEvalException($"XComArg.map() takes a function or a lambda, not {Interpreter.Describe(function)}", offset);
        }

        var (previous, name) = arg switch
        {
            XComArgValue x => (x.Transform, $"{x.Task.Task.TaskId}.output"),
            ZipArgValue z => (z.Transform, "zip(...)"),
            _ => throw new DagEvalException("map() needs an XComArg", offset),
        };
        Func<JsonElement, JsonElement> transform = item =>
        {
            var input = previous is null ? item : previous(item);
            object? result;
            lock (interpreter)
            {
                try
                {
                    result = interpreter.Invoke(function, new Args([PyOps.FromJson(input)], []), offset);
                }
                catch (DagEvalException e)
                {
                    throw new SiroccoException($"the function given to {name}.map() failed on {Short(input)}: {e.Message}");
                }
            }

            return JsonSerializer.SerializeToElement(ToJson(result, "the result of map()"));
        };
        return arg is XComArgValue xcom ? xcom with { Transform = transform } : ((ZipArgValue)arg) with { Transform = transform };
    }

    /// <summary>A plain value of the file (str, number, bool, None, list, tuple, dict, Kubernetes model) as JSON.</summary>
    public static JsonNode? ToJson(object? value, string where)
    {
        Nesting.Check(value);
        return value switch
        {
            null => null,
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            long l => JsonValue.Create(l),
            double d => JsonValue.Create(d),
            ModelValue m => m.Json.DeepClone(),
            List<object?> or PyTuple => new JsonArray([.. ((IEnumerable<object?>)value).Select(x => ToJson(x, where))]),
            PyDict dict => ToObject(dict, where),
            _ => throw new DagEvalException($"{where}: a {Interpreter.Describe(value)} cannot be mapped over (only str, numbers, bools, None, lists, dicts and Kubernetes objects)"),
        };
    }

    private static JsonObject ToObject(PyDict dict, string where)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in dict)
        {
            obj[PyOps.Str(PyEqualityComparer.Unkey(k))] = ToJson(v, where);
        }

        return obj;
    }

    public static MapSource Source(object? value, string where, TaskValue mapped)
    {
        switch (value)
        {
            case XComArgValue x:
                x.Task.Task.SetDownstream(mapped.Task);
                return new XComMapSource(x.Task.Task.TaskId, x.Key) { Transform = x.Transform };
            case ZipArgValue z:
                var fill = z.HasFill ? JsonSerializer.SerializeToElement(ToJson(z.FillValue, where)) : (JsonElement?)null;
                return new ZipMapSource([.. z.Parts.Select(p => Source(p, where, mapped))], fill) { Transform = z.Transform };
            case List<object?> or PyTuple or PyDict:
                return new LiteralMapSource(JsonSerializer.SerializeToElement(ToJson(value, where)));
            default:
                throw new SiroccoException($"{where}: cannot map over a {Interpreter.Describe(value)} ({PyOps.Repr(value)}); give a list, a dict or an upstream task's output (task.output, XComArg(task))");
        }
    }

    private static void Map(Action expand, string? keyword)
    {
        try
        {
            expand();
        }
        catch (SiroccoException e) when (keyword is not null)
        {
            throw new KeywordException(keyword, e.Message);
        }
        catch (SiroccoException e)
        {
            throw new DagEvalException(e.Message);
        }
    }

    private static string Short(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length > 60 ? text[..60] + "…" : text;
    }
}
