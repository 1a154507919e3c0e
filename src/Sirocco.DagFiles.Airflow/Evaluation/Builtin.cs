using System.Globalization;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>The Python builtins a DAG file may call; the dangerous ones are named so the error can say so.</summary>
internal static class Builtin
{
    /// <summary>Builtins that reach outside the file; using one is an import error naming it.</summary>
    public static readonly HashSet<string> Forbidden = new(StringComparer.Ordinal)
    {
        "exec", "eval", "compile", "open", "__import__", "input", "getattr", "setattr", "delattr", "vars", "locals",
        "dir", "type", "object", "super", "breakpoint", "memoryview", "bytearray", "bytes", "exit", "quit", "help",
        "classmethod", "staticmethod", "property", "id", "hash", "callable", "iter", "next", "map", "filter",
    };

    public static Dictionary<string, object?> Create(Interpreter interpreter)
    {
        NativeFunction F(string name, Func<Args, object?> body) => new(name, body);
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["len"] = F("len", a => PyOps.Length(One(a, "len"))),
            ["str"] = F("str", a => a.Positional.Count == 0 ? string.Empty : Interpreter.Str(One(a, "str"))),
            ["repr"] = F("repr", a => Interpreter.Repr(One(a, "repr"))),
            ["int"] = F("int", a => ToInt(a)),
            ["float"] = F("float", a => ToFloat(a)),
            ["bool"] = F("bool", a => a.Positional.Count != 0 && Interpreter.Truthy(One(a, "bool"))),
            ["list"] = F("list", a => a.Positional.Count == 0 ? new List<object?>() : interpreter.Iterate(One(a, "list"), 0).ToList()),
            ["tuple"] = F("tuple", a => a.Positional.Count == 0 ? PyTuple.Empty : new PyTuple([.. interpreter.Iterate(One(a, "tuple"), 0)])),
            ["set"] = F("set", a => a.Positional.Count == 0 ? new List<object?>() : Unique(interpreter.Iterate(One(a, "set"), 0))),
            ["dict"] = F("dict", a => Dict(a, interpreter)),
            ["range"] = F("range", Range),
            ["enumerate"] = F("enumerate", a =>
            {
                var start = PyOps.ToLong(a.Get(1, "start", 0L));
                return interpreter.Iterate(a.Get(0, "iterable"), 0).Select((x, i) => (object?)new PyTuple([start + i, x])).ToList();
            }),
            ["zip"] = F("zip", a =>
            {
                var lists = a.Positional.Select(p => interpreter.Iterate(p, 0).ToList()).ToList();
                var n = lists.Count == 0 ? 0 : lists.Min(l => l.Count);
                return Enumerable.Range(0, n).Select(i => (object?)new PyTuple([.. lists.Select(l => l[i])])).ToList();
            }),
            ["sorted"] = F("sorted", a =>
            {
                a.Check("sorted", 1, "reverse");
                var items = interpreter.Iterate(a.Get(0, "iterable"), 0).ToList();
                Nesting.Check(items);
                PyOps.Sort(items, (x, y) => PyOps.Compare(x, y, "<"));
                if (Interpreter.Truthy(a.Get(-1, "reverse", false)))
                {
                    items.Reverse();
                }

                return items;
            }),
            ["reversed"] = F("reversed", a =>
            {
                var items = interpreter.Iterate(One(a, "reversed"), 0).ToList();
                items.Reverse();
                return items;
            }),
            ["min"] = F("min", a => Extreme(a, interpreter, -1)),
            ["max"] = F("max", a => Extreme(a, interpreter, 1)),
            ["sum"] = F("sum", a => interpreter.Iterate(a.Get(0, "iterable"), 0).Aggregate(a.Get(1, "start", 0L), (acc, x) => interpreter.BinaryOp("+", acc, x, 0))),
            ["abs"] = F("abs", a => One(a, "abs") switch
            {
                long l => Math.Abs(l),
                double d => Math.Abs(d),
                bool b => b ? 1L : 0L,
                var v => throw new DagEvalException($"bad operand type for abs(): '{PyOps.TypeName(v)}'"),
            }),
            ["any"] = F("any", a => interpreter.Iterate(One(a, "any"), 0).Any(Interpreter.Truthy)),
            ["all"] = F("all", a => interpreter.Iterate(One(a, "all"), 0).All(Interpreter.Truthy)),
            ["isinstance"] = F("isinstance", _ => throw new DagEvalException("isinstance() is not supported in DAG files read without Python")),
            ["print"] = F("print", _ => null), // parse-time output goes nowhere, as in Airflow's DAG processor
            ["globals"] = F("globals", _ => new GlobalsProxy(interpreter.Globals)),
        };
    }

    private static object? One(Args a, string function)
    {
        if (a.Positional.Count != 1 || a.Keywords.Count != 0)
        {
            throw new DagEvalException($"{function}() takes exactly one argument ({a.Positional.Count + a.Keywords.Count} given)");
        }

        return a.Positional[0];
    }

    private static List<object?> Unique(IEnumerable<object?> items)
    {
        var list = items.ToList();
        Nesting.Check(list);
        var seen = new HashSet<object>(PyEqualityComparer.Instance);
        return [.. list.Where(i => seen.Add(PyEqualityComparer.Key(i)))];
    }

    private static object? ToInt(Args a)
    {
        if (a.Positional.Count == 0)
        {
            return 0L;
        }

        var v = a.Positional[0];
        switch (v)
        {
            case long or bool:
                return PyOps.ToLong(v);
            case double d when !double.IsNaN(d) && !double.IsInfinity(d) && Math.Abs(d) < 9.2e18:
                return (long)Math.Truncate(d);
            case string s:
                var radix = a.Positional.Count > 1 ? (int)PyOps.ToLong(a.Positional[1]) : 10;
                var t = s.Trim().Replace("_", string.Empty, StringComparison.Ordinal);
                if (radix == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return l;
                }

                if (radix is 2 or 8 or 16)
                {
                    try
                    {
                        return System.Convert.ToInt64(t, radix);
                    }
                    catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
                    {
                        // reported below
                    }
                }

                throw new DagEvalException($"invalid literal for int() with base {radix}: {PyOps.Repr(s)}");
            default:
                throw new DagEvalException($"int() argument must be a string or a number, not '{PyOps.TypeName(v)}'");
        }
    }

    private static object? ToFloat(Args a)
    {
        if (a.Positional.Count == 0)
        {
            return 0.0;
        }

        var v = a.Positional[0];
        return v switch
        {
            long or bool or double => PyOps.ToDouble(v),
            string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            string s => throw new DagEvalException($"could not convert string to float: {PyOps.Repr(s)}"),
            _ => throw new DagEvalException($"float() argument must be a string or a number, not '{PyOps.TypeName(v)}'"),
        };
    }

    private static PyDict Dict(Args a, Interpreter interpreter)
    {
        var d = new PyDict();
        if (a.Positional.Count > 1)
        {
            throw new DagEvalException($"dict expected at most 1 argument, got {a.Positional.Count}");
        }

        if (a.Positional.Count == 1)
        {
            if (a.Positional[0] is PyDict source)
            {
                foreach (var (k, v) in source)
                {
                    d[k] = v;
                }
            }
            else
            {
                foreach (var pair in interpreter.Iterate(a.Positional[0], 0))
                {
                    var kv = interpreter.Iterate(pair, 0).ToList();
                    Nesting.Check(kv);
                    if (kv.Count != 2)
                    {
                        throw new DagEvalException("dictionary update sequence element has the wrong length; 2 is required");
                    }

                    d[PyEqualityComparer.Key(kv[0])] = kv[1];
                }
            }
        }

        foreach (var k in a.Keywords)
        {
            d[k.Name] = k.Value;
        }

        return d;
    }

    private static object? Range(Args a)
    {
        if (a.Keywords.Count > 0 || a.Positional.Count is 0 or > 3)
        {
            throw new DagEvalException("range() takes 1 to 3 integer arguments");
        }

        long Int(object? v) => v is long or bool ? PyOps.ToLong(v) : throw new DagEvalException($"'{PyOps.TypeName(v)}' object cannot be interpreted as an integer");
        long start = 0, stop, step = 1;
        if (a.Positional.Count == 1)
        {
            stop = Int(a.Positional[0]);
        }
        else
        {
            start = Int(a.Positional[0]);
            stop = Int(a.Positional[1]);
            if (a.Positional.Count == 3)
            {
                step = Int(a.Positional[2]);
            }
        }

        if (step == 0)
        {
            throw new DagEvalException("range() arg 3 must not be zero");
        }

        var count = step > 0 ? (stop > start ? ((stop - start - 1) / step) + 1 : 0) : (start > stop ? ((start - stop - 1) / -step) + 1 : 0);
        if (count > 100_000)
        {
            throw new DagEvalException($"range() of {count} items is more than a DAG file may build (100,000)");
        }

        var list = new List<object?>((int)count);
        for (var i = 0L; i < count; i++)
        {
            list.Add(start + (i * step));
        }

        return list;
    }

    private static object? Extreme(Args a, Interpreter interpreter, int sign)
    {
        var items = a.Positional.Count == 1 ? interpreter.Iterate(a.Positional[0], 0).ToList() : a.Positional;
        Nesting.Check(items);
        if (items.Count == 0)
        {
            return a.Has("default") ? a.Get(-1, "default") : throw new DagEvalException($"{(sign < 0 ? "min" : "max")}() arg is an empty sequence");
        }

        var best = items[0];
        foreach (var x in items.Skip(1))
        {
            if (PyOps.Compare(x, best, "<") * sign > 0)
            {
                best = x;
            }
        }

        return best;
    }
}
