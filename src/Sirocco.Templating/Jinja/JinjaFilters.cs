using System.Globalization;
using System.Text;
using Sirocco.Templating.Expressions;

namespace Sirocco.Templating.Jinja;

/// <summary>Jinja2's built-in filters and tests that DAG templates use, plus Airflow's date filters.</summary>
internal static partial class JinjaFilters
{
    public static ExprEnvironment CreateEnvironment()
    {
        var env = new ExprEnvironment();
        var f = env.Filters;
        f["upper"] = (v, _, _) => Builtins.Upper(S(v));
        f["lower"] = (v, _, _) => S(v).ToLowerInvariant();
        f["title"] = (v, _, _) => Title(S(v));
        f["capitalize"] = (v, _, _) => Builtins.Capitalize(S(v));
        f["default"] = f["d"] = Default;
        f["replace"] = (v, a, _) => Builtins.Replace(S(v), S(a.Required(0, "old", "replace")), S(a.Required(1, "new", "replace")), a.Get(2, "count") is { } c ? PyOps.ToLong(c) : -1);
        f["trim"] = (v, a, _) => Builtins.Strip(S(v), a, true, true);
        f["join"] = Join;
        f["length"] = f["count"] = (v, _, _) => PyOps.Length(v);
        f["int"] = ToInt;
        f["float"] = ToFloat;
        f["string"] = (v, _, _) => PyOps.Str(v);
        f["tojson"] = (v, a, _) => ToJson(v, a.Get(0, "indent"));
        f["first"] = (v, _, _) => PyOps.Iterate(v).Take(1).ToList() is [var x] ? x : new Undefined("No first item, sequence was empty.");
        f["last"] = Last;
        f["list"] = (v, _, _) => PyOps.ToList(v);
        f["sort"] = Sort;
        f["unique"] = Unique;
        f["reverse"] = (v, _, _) => v is string s ? new string(s.Reverse().ToArray()) : Enumerable.Reverse(PyOps.ToList(v)).ToList();
        f["safe"] = (v, _, _) => v;
        f["format"] = (v, a, _) => PyFormat.Percent(S(v), a.Keywords is { Count: > 0 } ? ToDict(a.Keywords) : new PyTuple(a.Positional));
        f["truncate"] = Truncate;
        f["abs"] = (v, _, _) => v switch
        {
            long l => l == long.MinValue ? throw new PyException("integer overflow") : (object)Math.Abs(l),
            double d => Math.Abs(d),
            bool b => b ? 1L : 0L,
            _ => throw new PyException($"bad operand type for abs(): '{PyOps.TypeName(v)}'"),
        };
        f["round"] = Round;
        f["map"] = Map;
        f["select"] = (v, a, s) => Select(v, a, s, false, true);
        f["reject"] = (v, a, s) => Select(v, a, s, false, false);
        f["selectattr"] = (v, a, s) => Select(v, a, s, true, true);
        f["rejectattr"] = (v, a, s) => Select(v, a, s, true, false);
        f["dictsort"] = DictSort;
        f["items"] = (v, _, _) => v is PyDict d ? d.Select(kv => (object?)new PyTuple([PyEqualityComparer.Unkey(kv.Key), kv.Value])).ToList() : throw new PyException("Can only get item pairs from a mapping.");
        f["min"] = (v, a, _) => MinMax(v, a, -1);
        f["max"] = (v, a, _) => MinMax(v, a, 1);
        f["sum"] = Sum;
        f["center"] = (v, a, _) => Center(S(v), (int)Math.Min(PyArith.MaxValueLength, PyOps.ToLong(a.Get(0, "width", 80L))));
        f["indent"] = Indent;
        f["wordcount"] = (v, _, _) => (long)WordRegex().Count(S(v));
        f["attr"] = (v, a, _) => AttrOnly(v, S(a.Required(0, "name", "attr")));
        f["slice"] = SliceFilter;
        f["batch"] = Batch;
        f["escape"] = f["e"] = (v, _, _) => S(v).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&#34;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);
        f["urlencode"] = UrlEncode;
        f["groupby"] = GroupBy;
        f["ds"] = (v, _, _) => Date(v, "ds").Strftime("%Y-%m-%d");
        f["ds_nodash"] = (v, _, _) => Date(v, "ds_nodash").Strftime("%Y%m%d");
        f["ts"] = (v, _, _) => Date(v, "ts").IsoFormat();
        f["ts_nodash"] = (v, _, _) => Date(v, "ts_nodash").Strftime("%Y%m%dT%H%M%S");
        f["ts_nodash_with_tz"] = (v, _, _) => Date(v, "ts_nodash_with_tz").IsoFormat().Replace("-", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal);

        env.Globals["range"] = new PyFunction("range", Range);
        env.Globals["namespace"] = new PyFunction("namespace", a => new NamespaceObject(a));
        env.Globals["dict"] = new PyFunction("dict", a =>
        {
            if (a.Count > 0)
            {
                throw new PyException("dict() takes keyword arguments only in templates");
            }

            return ToDict(a.Keywords ?? []);
        });

        var t = env.Tests;
        t["defined"] = (v, _) => v is not Undefined;
        t["undefined"] = (v, _) => v is Undefined;
        t["none"] = (v, _) => v is null;
        t["string"] = (v, _) => v is string;
        t["number"] = (v, _) => v is long or double or bool;
        t["integer"] = (v, _) => v is long;
        t["float"] = (v, _) => v is double;
        t["boolean"] = (v, _) => v is bool;
        t["true"] = (v, _) => v is true;
        t["false"] = (v, _) => v is false;
        t["mapping"] = (v, _) => v is PyDict;
        t["sequence"] = (v, _) => v is string or List<object?> or PyTuple or PyDict;
        t["iterable"] = (v, _) => v is string or List<object?> or PyTuple or PyDict;
        t["callable"] = (v, _) => v is IPyCallable;
        t["lower"] = (v, _) => S(v) is var s && s == s.ToLowerInvariant();
        t["upper"] = (v, _) => S(v) is var s && s == s.ToUpperInvariant();
        t["even"] = (v, _) => PyOps.Eq(PyArith.Binary("%", v, 2L), 0L);
        t["odd"] = (v, _) => PyOps.Eq(PyArith.Binary("%", v, 2L), 1L);
        t["divisibleby"] = (v, a) => PyOps.Eq(PyArith.Binary("%", v, a.Required(0, "num", "divisibleby")), 0L);
        t["eq"] = t["equalto"] = t["=="] = (v, a) => Cmp(v, a, "==");
        t["ne"] = t["!="] = (v, a) => !Cmp(v, a, "==");
        t["lt"] = t["lessthan"] = t["<"] = (v, a) => Cmp(v, a, "<");
        t["le"] = t["<="] = (v, a) => Cmp(v, a, "<=");
        t["gt"] = t["greaterthan"] = t[">"] = (v, a) => Cmp(v, a, ">");
        t["ge"] = t[">="] = (v, a) => Cmp(v, a, ">=");
        t["in"] = (v, a) => PyOps.Contains(a.Required(0, "seq", "in"), v);
        t["sameas"] = (v, a) => a.Required(0, "other", "sameas") is var o && (v is null or bool ? Equals(v, o) : ReferenceEquals(v, o));
        return env;
    }

    private static bool Cmp(object? v, CallArgs a, string op)
    {
        var other = a.Required(0, "other", op);
        PyOps.Check(v);
        PyOps.Check(other);
        return op switch
        {
            "==" => PyOps.Eq(v, other),
            "<" => PyOps.Compare(v, other, op) < 0,
            "<=" => PyOps.Compare(v, other, op) <= 0,
            ">" => PyOps.Compare(v, other, op) > 0,
            _ => PyOps.Compare(v, other, op) >= 0,
        };
    }

    /// <summary>Jinja2 turns a filter's input into text with <c>str()</c>.</summary>
    private static string S(object? v)
    {
        var text = PyOps.Str(v);
        Budget.Charge(text.Length);
        return text;
    }

    private static PyDateTime Date(object? v, string filter)
    {
        PyOps.Check(v);
        return v as PyDateTime ?? throw new PyException($"'{PyOps.TypeName(v)}' object has no attribute 'strftime' (filter {filter} needs a date)");
    }

    /// <summary>Jinja2's <c>title</c> filter: words start after white space, dashes and opening brackets.</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var start = true;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<')
            {
                sb.Append(c);
                start = true;
                continue;
            }

            if (start)
            {
                // Jinja2 upper-cases the first character of each word (so ß becomes SS here, not Ss).
                sb.Append(c == 'ß' ? "SS" : char.ToUpperInvariant(c).ToString());
            }
            else
            {
                sb.Append(char.ToLowerInvariant(c));
            }

            start = false;
        }

        return sb.ToString();
    }

    private static object? Default(object? v, CallArgs a, Scope scope)
    {
        var fallback = a.Get(0, "default_value", string.Empty);
        var boolean = PyOps.Truthy(a.Get(1, "boolean", false));
        if (v is Undefined || (boolean && !PyOps.Truthy(v)))
        {
            return fallback;
        }

        return v;
    }

    private static object? Join(object? v, CallArgs a, Scope scope)
    {
        var sep = S(a.Get(0, "d", string.Empty));
        var attribute = a.Get(1, "attribute");
        var sb = new StringBuilder();
        var first = true;
        foreach (var item in PyOps.Iterate(v))
        {
            if (!first)
            {
                sb.Append(sep);
            }

            first = false;
            sb.Append(S(attribute is null ? item : Attribute(item, attribute)));
            if (sb.Length > PyArith.MaxValueLength)
            {
                throw new PyException("string too long for a template");
            }
        }

        return sb.ToString();
    }

    /// <summary>Jinja2's attribute path: <c>"a.b.0"</c> walks attributes and items.</summary>
    private static object? Attribute(object? item, object? path)
    {
        if (path is long l)
        {
            return PyOps.GetItem(item, l);
        }

        foreach (var part in S(path).Split('.'))
        {
            item = long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? PyOps.GetItem(item, i) : PyOps.GetItem(item, part);
        }

        return item;
    }

    private static object? ToInt(object? v, CallArgs a, Scope scope)
    {
        var fallback = a.Get(0, "default", 0L);
        var radix = (int)PyOps.ToLong(a.Get(1, "base", 10L));
        switch (v)
        {
            case long or bool:
                return PyOps.ToLong(v);
            case double d:
                return double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)Math.Truncate(d) : fallback;
            case string s:
                var text = s.Trim().Replace("_", string.Empty, StringComparison.Ordinal);
                if (radix == 10 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return l;
                }

                if (radix != 10)
                {
                    try
                    {
                        var lower = text.ToLowerInvariant();
                        var prefix = radix switch
                        {
                            16 => "0x",
                            8 => "0o",
                            2 => "0b",
                            _ => "\0",
                        };
                        return Convert.ToInt64(lower.StartsWith(prefix, StringComparison.Ordinal) ? lower[2..] : lower, radix);
                    }
                    catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                    {
                        return fallback;
                    }
                }

                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && double.IsFinite(f) && Math.Abs(f) < 9.2e18
                    ? (long)Math.Truncate(f)
                    : fallback;
            case Undefined u:
                throw u.Fail();
            default:
                return fallback;
        }
    }

    private static object? ToFloat(object? v, CallArgs a, Scope scope)
    {
        var fallback = a.Get(0, "default", 0.0);
        return v switch
        {
            long or bool or double => PyOps.ToDouble(v),
            string s when s.Trim().ToLowerInvariant() is "inf" or "+inf" or "infinity" => double.PositiveInfinity,
            string s when s.Trim().ToLowerInvariant() is "-inf" or "-infinity" => double.NegativeInfinity,
            string s when s.Trim().ToLowerInvariant() is "nan" => double.NaN,
            string s => double.TryParse(s.Trim().Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : fallback,
            Undefined u => throw u.Fail(),
            _ => fallback,
        };
    }

    /// <summary>Jinja2's <c>tojson</c>: sorted keys, Python's separators, and HTML-sensitive characters escaped.</summary>
    public static string ToJson(object? v, object? indent)
    {
        var sb = new StringBuilder();
        var ind = indent is null ? -1 : (int)Math.Min(64, PyOps.ToLong(indent));
        WriteJson(sb, v, ind, 0, sortKeys: true);
        Budget.Charge(sb.Length);
        return sb.Replace("<", "\\u003c").Replace(">", "\\u003e").Replace("&", "\\u0026").Replace("'", "\\u0027").ToString();
    }

    /// <summary>Python's <c>json.dumps</c> with its default separators (<c>", "</c> and <c>": "</c>).</summary>
    public static void WriteJson(StringBuilder sb, object? v, int indent, int level, bool sortKeys)
    {
        if (level > 100 || sb.Length > PyArith.MaxValueLength)
        {
            throw new PyException(level > 100 ? "maximum recursion depth exceeded while encoding a JSON object" : "string too long for a template");
        }

        void NewLine(int lvl)
        {
            if (indent >= 0)
            {
                sb.Append('\n').Append(' ', indent * lvl);
            }
        }

        var itemSep = indent >= 0 ? "," : ", ";
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : PyOps.FloatRepr(d));
                break;
            case string s: WriteJsonString(sb, s); break;
            case List<object?> or PyTuple:
                var items = (IReadOnlyList<object?>)v;
                if (items.Count == 0)
                {
                    sb.Append("[]");
                    break;
                }

                sb.Append('[');
                for (var i = 0; i < items.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(itemSep);
                    }

                    NewLine(level + 1);
                    WriteJson(sb, items[i], indent, level + 1, sortKeys);
                }

                NewLine(level);
                sb.Append(']');
                break;
            case PyDict dict:
                if (dict.Count == 0)
                {
                    sb.Append("{}");
                    break;
                }

                IEnumerable<KeyValuePair<object, object?>> pairs = dict;
                if (sortKeys)
                {
                    var list = dict.ToList();
                    PyOps.Sort(list, (x, y) => PyOps.Compare(PyEqualityComparer.Unkey(x.Key), PyEqualityComparer.Unkey(y.Key), "<"));
                    pairs = list;
                }

                sb.Append('{');
                var first = true;
                foreach (var kv in pairs)
                {
                    if (!first)
                    {
                        sb.Append(itemSep);
                    }

                    first = false;
                    NewLine(level + 1);
                    var key = PyEqualityComparer.Unkey(kv.Key);
                    WriteJsonString(sb, key switch
                    {
                        string s => s,
                        null => "null",
                        bool b => b ? "true" : "false",
                        long or double => PyOps.Str(key),
                        _ => throw new PyException($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
                    });
                    sb.Append(": ");
                    WriteJson(sb, kv.Value, indent, level + 1, sortKeys);
                }

                NewLine(level);
                sb.Append('}');
                break;
            case Undefined u:
                throw u.Fail();
            default:
                throw new PyException($"Object of type {PyOps.TypeName(v)} is not JSON serializable");
        }
    }

    private static void WriteJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }

    private static object? Last(object? v, CallArgs a, Scope scope)
    {
        var list = PyOps.ToList(v);
        return list.Count > 0 ? list[^1] : new Undefined("No last item, sequence was empty.");
    }

    private static Comparison<object?> KeyComparison(bool caseSensitive, object? attribute)
    {
        object? Key(object? x)
        {
            var k = attribute is null ? x : Attribute(x, attribute);
            return !caseSensitive && k is string s ? s.ToLowerInvariant() : k;
        }

        return (x, y) => PyOps.Compare(Key(x), Key(y), "<");
    }

    private static object? Sort(object? v, CallArgs a, Scope scope)
    {
        var list = PyOps.ToList(v);
        var reverse = PyOps.Truthy(a.Get(0, "reverse", false));
        var cmp = KeyComparison(PyOps.Truthy(a.Get(1, "case_sensitive", false)), a.Get(2, "attribute"));
        var sorted = list.Select((x, i) => (x, i)).ToList();
        PyOps.Sort(sorted, (p, q) =>
        {
            var c = cmp(p.x, q.x);
            return c != 0 ? (reverse ? -c : c) : p.i.CompareTo(q.i);
        });
        return sorted.Select(p => p.x).ToList();
    }

    private static object? Unique(object? v, CallArgs a, Scope scope)
    {
        var caseSensitive = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute");
        var seen = new HashSet<object>(PyEqualityComparer.Instance);
        var result = new List<object?>();
        var items = PyOps.ToList(v);
        Budget.Charge(10L * items.Count);
        foreach (var item in items)
        {
            var key = attribute is null ? item : Attribute(item, attribute);
            PyOps.Check(key);
            if (!caseSensitive && key is string s)
            {
                key = s.ToLowerInvariant();
            }

            if (key is List<object?> or PyDict)
            {
                throw new PyException($"unhashable type: '{PyOps.TypeName(key)}'");
            }

            if (seen.Add(PyEqualityComparer.Key(key)))
            {
                result.Add(item);
            }
        }

        return result;
    }

    private static object? Truncate(object? v, CallArgs a, Scope scope)
    {
        PyOps.Check(v);
        if (v is not string)
        {
            // Jinja2 measures the value as it is: a short list passes through, anything without a length fails.
            var count = PyOps.Length(v);
            var limit = PyOps.ToLong(a.Get(0, "length", 255L)) + (a.Get(3, "leeway") is { } l ? PyOps.ToLong(l) : 5);
            return count <= limit ? v : throw new PyException($"can only concatenate {PyOps.TypeName(v)} (not \"str\") to {PyOps.TypeName(v)}");
        }

        var s = (string)v;
        var length = (int)Math.Min(PyArith.MaxValueLength, PyOps.ToLong(a.Get(0, "length", 255L)));
        var killwords = PyOps.Truthy(a.Get(1, "killwords", false));
        var end = S(a.Get(2, "end", "..."));
        var leeway = a.Get(3, "leeway") is { } lw ? PyOps.ToLong(lw) : 5;
        if (length < end.Length)
        {
            throw new PyException($"expected length >= {end.Length}, got {length}");
        }

        if (leeway < 0)
        {
            throw new PyException($"expected leeway >= 0, got {leeway}");
        }

        if (s.Length <= length + leeway)
        {
            return s;
        }

        if (killwords)
        {
            return s[..(length - end.Length)] + end;
        }

        var cut = s[..(length - end.Length)];
        var space = cut.LastIndexOf(' ');
        return (space >= 0 ? cut[..space] : cut) + end;
    }

    private static object? Round(object? v, CallArgs a, Scope scope)
    {
        var precision = (int)Math.Clamp(PyOps.ToLong(a.Get(0, "precision", 0L)), -300, 300);
        var method = S(a.Get(1, "method", "common"));
        PyOps.Check(v);
        if (method == "common")
        {
            // Python's round(): an int stays an int, a float is rounded half-even on its exact binary value.
            return v is long or bool ? (object)PyRound.Int(PyOps.ToLong(v), precision) : PyRound.Float(PyOps.ToDouble(v), precision);
        }

        var d = PyOps.ToDouble(v);
        var factor = Math.Pow(10, precision);
        return method switch
        {
            "ceil" => Math.Ceiling(d * factor) / factor,
            "floor" => Math.Floor(d * factor) / factor,
            _ => throw new PyException("method must be common, ceil or floor"),
        };
    }

    private static object? Map(object? v, CallArgs a, Scope scope)
    {
        var items = PyOps.Truthy(v) ? PyOps.Iterate(v) : [];
        if (a.Positional.Length == 0 && a.Has(-1, "attribute"))
        {
            var attribute = a.Get(-1, "attribute");
            var hasDefault = a.Has(-1, "default");
            var dflt = a.Get(-1, "default");
            return items.Select(x =>
            {
                var r = Attribute(x, attribute);
                return hasDefault && r is Undefined ? dflt : r;
            }).ToList();
        }

        var name = S(a.Required(0, "filter", "map"));
        if (!scope.Environment.Filters.TryGetValue(name, out var filter))
        {
            throw new PyException($"No filter named '{name}'.");
        }

        var rest = new CallArgs(a.Positional[1..], a.Keywords);
        return items.Select(x => filter(x, rest, scope)).ToList();
    }

    private static object? Select(object? v, CallArgs a, Scope scope, bool byAttribute, bool keep)
    {
        var offset = byAttribute ? 1 : 0;
        var attribute = byAttribute ? a.Required(0, "attribute", "selectattr") : null;
        TestFunction test;
        CallArgs rest;
        if (a.Positional.Length > offset)
        {
            var name = S(a.Positional[offset]);
            test = scope.Environment.Tests.TryGetValue(name, out var t) ? t : throw new PyException($"No test named '{name}'.");
            rest = new CallArgs(a.Positional[(offset + 1)..], null);
        }
        else
        {
            test = (x, _) => PyOps.Truthy(x);
            rest = CallArgs.Empty;
        }

        var result = new List<object?>();
        if (!PyOps.Truthy(v))
        {
            // Jinja2 only iterates a true value: select over None or False gives nothing.
            return result;
        }

        foreach (var item in PyOps.Iterate(v))
        {
            scope.Budget.Tick();
            var subject = byAttribute ? Attribute(item, attribute) : item;
            if (test(subject, rest) == keep)
            {
                result.Add(item);
            }
        }

        return result;
    }

    private static object? DictSort(object? v, CallArgs a, Scope scope)
    {
        if (v is not PyDict d)
        {
            throw new PyException("dictsort needs a mapping");
        }

        var caseSensitive = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var by = S(a.Get(1, "by", "key"));
        var reverse = PyOps.Truthy(a.Get(2, "reverse", false));
        var pos = by switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new PyException("You can only sort by either \"key\" or \"value\""),
        };
        var pairs = d.Select(kv => (object?)new PyTuple([PyEqualityComparer.Unkey(kv.Key), kv.Value])).ToList();
        var cmp = KeyComparison(caseSensitive, (long)pos);
        PyOps.Sort(pairs, (x, y) => reverse ? cmp(y, x) : cmp(x, y));
        return pairs;
    }

    private static object? MinMax(object? v, CallArgs a, int sign)
    {
        var list = PyOps.ToList(v);
        if (list.Count == 0)
        {
            return new Undefined("No aggregated item, sequence was empty.");
        }

        var cmp = KeyComparison(PyOps.Truthy(a.Get(0, "case_sensitive", false)), a.Get(1, "attribute"));
        var best = list[0];
        foreach (var x in list.Skip(1))
        {
            if (cmp(x, best) * sign > 0)
            {
                best = x;
            }
        }

        return best;
    }

    private static object? Sum(object? v, CallArgs a, Scope scope)
    {
        var attribute = a.Get(0, "attribute");
        var total = a.Get(1, "start", 0L);
        foreach (var x in PyOps.Iterate(v))
        {
            total = PyArith.Binary("+", total, attribute is null ? x : Attribute(x, attribute));
        }

        return total;
    }

    private static object? Indent(object? v, CallArgs a, Scope scope)
    {
        var s = S(v);
        var width = a.Get(0, "width", 4L);
        var pad = width is string w ? w : new string(' ', (int)Math.Clamp(PyOps.ToLong(width), 0, 1000));
        var first = PyOps.Truthy(a.Get(1, "first", false));
        var blank = PyOps.Truthy(a.Get(2, "blank", false));

        // Jinja2's algorithm: add a newline, split into lines, indent every line after the first (blank ones only
        // with blank=True), and the first line too when first=True.
        var lines = Builtins.SplitLines(s + "\n");
        var sb = new StringBuilder();
        if (first)
        {
            sb.Append(pad);
        }

        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
                if (blank || lines[i].Length > 0)
                {
                    sb.Append(pad);
                }
            }

            sb.Append(lines[i]);
            if (sb.Length > PyArith.MaxValueLength)
            {
                throw new PyException("string too long for a template");
            }
        }

        return sb.ToString();
    }

    private static object? Batch(object? v, CallArgs a, Scope scope)
    {
        var size = (int)PyOps.ToLong(a.Required(0, "linecount", "batch"));
        if (size <= 0)
        {
            throw new PyException("batch size must be positive");
        }

        var fill = a.Has(1, "fill_with");
        var filler = a.Get(1, "fill_with");
        var result = new List<object?>();
        foreach (var chunk in PyOps.Iterate(v).Chunk(size))
        {
            var row = chunk.ToList();
            while (fill && row.Count < size)
            {
                row.Add(filler);
            }

            result.Add(row);
        }

        return result;
    }

    /// <summary>Jinja2's <c>urlencode</c>: a string is quoted keeping <c>/</c>; a dict or pairs become a query string.</summary>
    private static object? UrlEncode(object? v, CallArgs a, Scope scope)
    {
        // Strings keep '/' and quote spaces as %20; query pairs quote spaces as '+' (urllib's quote vs quote_plus).
        static string Quote(string s, bool keepSlash)
        {
            var sb = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(s))
            {
                var c = (char)b;
                if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '~' || (keepSlash && c == '/'))
                {
                    sb.Append(c);
                }
                else if (!keepSlash && c == ' ')
                {
                    sb.Append('+');
                }
                else
                {
                    sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }
            }

            return sb.ToString();
        }

        PyOps.Check(v);
        if (v is PyDict d)
        {
            return string.Join("&", d.Select(kv => Quote(S(PyEqualityComparer.Unkey(kv.Key)), false) + "=" + Quote(S(kv.Value), false)));
        }

        if (v is string s)
        {
            return Quote(s, true);
        }

        return string.Join("&", PyOps.Iterate(v).Select(pair =>
        {
            var p = PyOps.ToList(pair);
            return p.Count == 2 ? Quote(S(p[0]), false) + "=" + Quote(S(p[1]), false) : throw new PyException("urlencode needs pairs");
        }));
    }

    /// <summary>Jinja2's <c>groupby(attribute)</c>: sorted groups, each a (grouper, list) tuple.</summary>
    private static object? GroupBy(object? v, CallArgs a, Scope scope)
    {
        var attribute = a.Required(0, "attribute", "groupby");
        var hasDefault = a.Has(1, "default");
        var dflt = a.Get(1, "default");
        var caseSensitive = PyOps.Truthy(a.Get(2, "case_sensitive", false));
        object? Key(object? item)
        {
            var k = Attribute(item, attribute);
            if (k is Undefined && hasDefault)
            {
                k = dflt;
            }

            return !caseSensitive && k is string s ? s.ToLowerInvariant() : k;
        }

        var items = PyOps.ToList(v).Select(x => (Key: Key(x), Item: x)).ToList();
        PyOps.Sort(items, (x, y) => PyOps.Compare(x.Key, y.Key, "<"));
        var groups = new List<object?>();
        for (var i = 0; i < items.Count;)
        {
            var j = i;
            var members = new List<object?>();
            while (j < items.Count && PyOps.Eq(items[j].Key, items[i].Key))
            {
                members.Add(items[j++].Item);
            }

            var grouper = caseSensitive ? items[i].Key : Attribute(members[0], attribute) is var raw && raw is not Undefined ? raw : dflt;
            groups.Add(new GroupTuple(grouper, members));
            i = j;
        }

        return groups;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\w+")]
    private static partial System.Text.RegularExpressions.Regex WordRegex();

    /// <summary>Jinja2's <c>attr</c>: attributes only, never items.</summary>
    private static object? AttrOnly(object? v, string name)
    {
        PyOps.Check(v);
        if (name.StartsWith('_'))
        {
            return PyOps.GetAttr(v, name);
        }

        if (Builtins.TryGetMethod(v, name, out var method))
        {
            return method;
        }

        return v is IPyObject o && o.TryGetAttr(name, out var value) ? value : Undefined.Attribute(v, name);
    }

    /// <summary>Jinja2's <c>slice(n)</c>: n columns, the first ones one longer when the items do not divide evenly.</summary>
    private static object? SliceFilter(object? v, CallArgs a, Scope scope)
    {
        var items = PyOps.ToList(v);
        var slices = (int)PyOps.ToLong(a.Required(0, "slices", "slice"));
        if (slices <= 0 || slices > 10_000)
        {
            throw new PyException("slice count must be between 1 and 10000");
        }

        var fill = a.Has(1, "fill_with");
        var filler = a.Get(1, "fill_with");
        var perSlice = items.Count / slices;
        var withExtra = items.Count % slices;
        var offset = 0;
        var result = new List<object?>();
        for (var i = 0; i < slices; i++)
        {
            var start = offset + (i * perSlice);
            if (i < withExtra)
            {
                offset++;
            }

            var end = offset + ((i + 1) * perSlice);
            var part = items.GetRange(start, end - start);
            if (fill && i >= withExtra)
            {
                part.Add(filler);
            }

            result.Add(part);
        }

        return result;
    }

    /// <summary>The most items <c>range</c> may produce, as in Jinja2's sandbox.</summary>
    public const int MaxRange = 100_000;

    /// <summary>Python's <c>range(stop)</c> / <c>range(start, stop[, step])</c>, as a list.</summary>
    private static object? Range(CallArgs a)
    {
        if (a.Count is < 1 or > 3 || a.Keywords is { Count: > 0 })
        {
            throw new PyException($"range expected at most 3 arguments, got {a.Count}");
        }

        long start = 0, stop, step = 1;
        if (a.Count == 1)
        {
            stop = PyOps.ToLong(a.Positional[0]);
        }
        else
        {
            start = PyOps.ToLong(a.Positional[0]);
            stop = PyOps.ToLong(a.Positional[1]);
            step = a.Count == 3 ? PyOps.ToLong(a.Positional[2]) : 1;
        }

        if (step == 0)
        {
            throw new PyException("range() arg 3 must not be zero");
        }

        var count = step > 0 ? (stop > start ? ((double)stop - start + step - 1) / step : 0) : (start > stop ? ((double)start - stop - step - 1) / -step : 0);
        if (Math.Floor(count) > MaxRange)
        {
            throw new PyException($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        }

        var list = new List<object?>((int)count);
        for (var i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            list.Add(i);
        }

        return list;
    }

    /// <summary>Python's <c>str.center</c>.</summary>
    private static string Center(string s, int width)
    {
        var pad = width - s.Length;
        if (pad <= 0)
        {
            return s;
        }

        var left = (pad / 2) + (pad & width & 1);
        return new string(' ', left) + s + new string(' ', pad - left);
    }

    private static PyDict ToDict(List<KeyValuePair<string, object?>> pairs)
    {
        var d = new PyDict();
        foreach (var kv in pairs)
        {
            d[kv.Key] = kv.Value;
        }

        return d;
    }
}

/// <summary>A group from <c>groupby</c>: a 2-tuple that also answers <c>.grouper</c> and <c>.list</c>.</summary>
internal sealed class GroupTuple : IPyObject, IPyIndexable, IReadOnlyList<object?>
{
    public GroupTuple(object? grouper, List<object?> list)
    {
        Grouper = grouper;
        List = list;
    }

    public object? Grouper { get; }

    public List<object?> List { get; }

    public string TypeName => "_GroupTuple";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "grouper" => Grouper,
            "list" => List,
            _ => null,
        };
        return name is "grouper" or "list";
    }

    public bool TryGetItem(object? key, out object? value)
    {
        value = key switch
        {
            0L or -2L => Grouper,
            1L or -1L => List,
            _ => null,
        };
        return key is 0L or 1L or -1L or -2L;
    }

    public int Count => 2;

    public object? this[int index] => index == 0 ? Grouper : List;

    public IEnumerator<object?> GetEnumerator()
    {
        yield return Grouper;
        yield return List;
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => PyOps.Repr(new PyTuple([Grouper, List]));
}
