using System.Collections;
using System.Globalization;
using System.Text;

namespace Sirocco.Templating.Expressions;

/// <summary>
/// Python semantics over the value model: <c>null</c> is None, <see cref="bool"/>, <see cref="long"/> (int),
/// <see cref="double"/> (float), <see cref="string"/>, <see cref="List{T}"/> of object (list), <see cref="PyTuple"/>,
/// <see cref="PyDict"/>, <see cref="PyDateTime"/>, <see cref="PyTimeDelta"/>, <see cref="PyFunction"/> and
/// <see cref="IPyObject"/>. Nothing else is a value.
/// </summary>
public static class PyOps
{
    /// <summary>Whether <paramref name="v"/> is the undefined value an unknown attribute or name gives.</summary>
    public static bool IsUndefined(object? v) => v is Undefined;

    /// <summary>Python's <c>json.dumps</c> (its default separators; <paramref name="indent"/> -1 for none).</summary>
    public static string JsonDumps(object? v, int indent, bool sortKeys)
    {
        var sb = new System.Text.StringBuilder();
        Jinja.JinjaFilters.WriteJson(sb, v, indent, 0, sortKeys);
        return sb.ToString();
    }

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The Python type name of a value, as <c>type(v).__name__</c> says it.</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PyDateTime d => d.IsDate ? (d.IsPendulum ? "Date" : "date") : d.IsPendulum ? "DateTime" : "datetime",
        PyTimeDelta => "timedelta",
        Undefined => "StrictUndefined",
        IPyObject o => o.TypeName,
        _ => v.GetType().Name,
    };

    /// <summary>Jinja2's description of an object in "has no attribute" messages.</summary>
    internal static string ObjectTypeRepr(object? v) => v switch
    {
        null => "None",
        _ => $"{TypeName(v)} object",
    };

    /// <summary>Python's truth value.</summary>
    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length != 0,
        List<object?> l => l.Count != 0,
        PyTuple t => t.Count != 0,
        PyDict d => d.Count != 0,
        PyTimeDelta t => t.Ticks != 0,
        Undefined { IsLenient: true } => false,
        Undefined u => throw u.Fail(),
        _ => true,
    };

    /// <summary>Python's <c>str()</c>.</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(Inv),
        double d => FloatRepr(d),
        PyDateTime d => d.ToString(),
        PyTimeDelta t => t.ToString(),
        Undefined { IsLenient: true } => string.Empty,
        Undefined u => throw u.Fail(),
        List<object?> or PyTuple or PyDict => Repr(v),
        _ => v.ToString() ?? string.Empty,
    };

    /// <summary>Python's <c>repr()</c>.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        Budget.Charge(sb.Length);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 50)
        {
            throw new PyException("maximum recursion depth exceeded while getting the repr of an object");
        }

        if (sb.Length > PyArith.MaxValueLength)
        {
            throw new PyException("string too long for a template");
        }

        switch (v)
        {
            case string s:
                AppendStringRepr(sb, s);
                break;
            case List<object?> list:
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    AppendRepr(sb, list[i], depth + 1);
                }

                sb.Append(']');
                break;
            case PyTuple t:
                sb.Append('(');
                for (var i = 0; i < t.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    AppendRepr(sb, t[i], depth + 1);
                }

                sb.Append(t.Count == 1 ? ",)" : ")");
                break;
            case PyDict d:
                sb.Append('{');
                var first = true;
                foreach (var kv in d)
                {
                    if (!first)
                    {
                        sb.Append(", ");
                    }

                    first = false;
                    AppendRepr(sb, PyEqualityComparer.Unkey(kv.Key), depth + 1);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }

                sb.Append('}');
                break;
            case PyDateTime dt:
                sb.Append(dt.Repr());
                break;
            case PyTimeDelta td:
                sb.Append(td.Repr());
                break;
            default:
                sb.Append(Str(v));
                break;
        }
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        var quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        sb.Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || c == 0x7f)
                    {
                        sb.Append("\\x").Append(((int)c).ToString("x2", Inv));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append(quote);
    }

    /// <summary>Python's <c>repr(float)</c>: the shortest round-trip digits, scientific below 1e-4 and from 1e16.</summary>
    internal static string FloatRepr(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }

        if (d == 0)
        {
            return double.IsNegative(d) ? "-0.0" : "0.0";
        }

        // The shortest digits that round-trip, then laid out as Python does.
        var shortest = d.ToString("R", Inv);
        var neg = shortest.StartsWith('-');
        if (neg)
        {
            shortest = shortest[1..];
        }

        string digits;
        int exp;
        var ePos = shortest.IndexOfAny(['E', 'e']);
        var mant = ePos >= 0 ? shortest[..ePos] : shortest;
        var extraExp = ePos >= 0 ? int.Parse(shortest[(ePos + 1)..], NumberStyles.AllowLeadingSign, Inv) : 0;
        var dot = mant.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? mant[..dot] : mant;
        var fracPart = dot >= 0 ? mant[(dot + 1)..] : string.Empty;
        digits = (intPart + fracPart).TrimStart('0');
        var leadingZeros = (intPart + fracPart).Length - digits.Length;
        exp = intPart.Length - 1 - leadingZeros + extraExp;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        var sb = new StringBuilder();
        if (neg)
        {
            sb.Append('-');
        }

        if (exp < -4 || exp >= 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }

            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString("00", Inv));
        }
        else if (exp < 0)
        {
            sb.Append("0.").Append('0', -exp - 1).Append(digits);
        }
        else if (digits.Length <= exp + 1)
        {
            sb.Append(digits).Append('0', exp + 1 - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits, 0, exp + 1).Append('.').Append(digits, exp + 1, digits.Length - exp - 1);
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>==</c>.</summary>
    public static bool Eq(object? a, object? b)
    {
        if (ReferenceEquals(a, b))
        {
            return a is not double d || !double.IsNaN(d);
        }

        switch (a)
        {
            case null: return b is null;
            case string s: return b is string t && string.Equals(s, t, StringComparison.Ordinal);
            case bool or long or double:
                return IsNumber(b) && ToDouble(a) == ToDouble(b) && (a is double || b is double || ToLong(a) == ToLong(b));
            case List<object?> la: return b is List<object?> lb && SeqEq(la, lb);
            case PyTuple ta: return b is PyTuple tb && SeqEq(ta, tb);
            case PyDict da:
                if (b is not PyDict db || da.Count != db.Count)
                {
                    return false;
                }

                foreach (var kv in da)
                {
                    if (!db.TryGetValue(kv.Key, out var other) || !Eq(kv.Value, other))
                    {
                        return false;
                    }
                }

                return true;
            case PyDateTime x: return b is PyDateTime y && x.CompareTo(y, "==") == 0;
            case PyTimeDelta tx: return b is PyTimeDelta ty && tx.Ticks == ty.Ticks;
            case Undefined u: throw u.Fail();
            default: return b is not Undefined && Equals(a, b);
        }
    }

    private static bool SeqEq(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        Budget.Charge(a.Count);

        for (var i = 0; i < a.Count; i++)
        {
            if (!Eq(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsNumber(object? v) => v is long or double or bool;

    /// <summary>The value as a float, or a TypeError.</summary>
    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new PyException($"must be real number, not {TypeName(v)}"),
    };

    /// <summary>The value as an int, or a TypeError.</summary>
    public static long ToLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new PyException($"'{TypeName(v)}' object cannot be interpreted as an integer"),
    };

    /// <summary>Python's ordering: -1, 0 or 1; TypeError between unrelated types.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        Check(a);
        Check(b);
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
            {
                return ToDouble(a).CompareTo(ToDouble(b));
            }

            return ToLong(a).CompareTo(ToLong(b));
        }

        switch (a)
        {
            case string s when b is string t:
                return Math.Sign(string.CompareOrdinal(s, t));
            case List<object?> la when b is List<object?> lb:
                return SeqCompare(la, lb, op);
            case PyTuple ta when b is PyTuple tb:
                return SeqCompare(ta, tb, op);
            case PyDateTime x when b is PyDateTime y:
                return x.CompareTo(y, op);
            case PyTimeDelta x when b is PyTimeDelta y:
                return x.Ticks.CompareTo(y.Ticks);
            default:
                throw new PyException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
        }
    }

    private static int SeqCompare(IReadOnlyList<object?> a, IReadOnlyList<object?> b, string op)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            if (!Eq(a[i], b[i]))
            {
                return Compare(a[i], b[i], op);
            }
        }

        return a.Count.CompareTo(b.Count);
    }

    internal static void Check(object? v)
    {
        if (v is Undefined u)
        {
            throw u.Fail();
        }
    }

    /// <summary>Python's <c>in</c>: whether <paramref name="container"/> holds <paramref name="item"/>.</summary>
    public static bool Contains(object? container, object? item)
    {
        Check(container);
        Check(item);
        switch (container)
        {
            case string s:
                Budget.Charge(s.Length);
                return item is string t
                    ? s.Contains(t, StringComparison.Ordinal)
                    : throw new PyException($"'in <string>' requires string as left operand, not {TypeName(item)}");
            case PyDict d:
                return item is List<object?> or PyDict
                    ? throw new PyException($"unhashable type: '{TypeName(item)}'")
                    : d.ContainsKey(PyEqualityComparer.Key(item));
            case List<object?> or PyTuple:
                Budget.Charge(((IReadOnlyList<object?>)container).Count);
                foreach (var x in (IEnumerable<object?>)container)
                {
                    if (Eq(x, item))
                    {
                        return true;
                    }
                }

                return false;
            default:
                throw new PyException($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    /// <summary>Iterates a value as Python's <c>for</c> would (dict: keys; str: characters).</summary>
    public static IEnumerable<object?> Iterate(object? v)
    {
        // Walking a sequence is charged up front, by its length, to the running evaluation's work budget.
        switch (v)
        {
            case List<object?> l:
                Budget.Charge(l.Count);
                return l;
            case PyTuple t:
                Budget.Charge(t.Count);
                return t;
            case PyDict d:
                Budget.Charge(d.Count);
                return d.Keys.Select(PyEqualityComparer.Unkey);
            case string s:
                Budget.Charge(s.Length);
                return s.Select(c => (object?)c.ToString());
            case Undefined { IsLenient: true }:
                return [];
            case Undefined u:
                throw u.Fail();
            case IReadOnlyList<object?> items:
                Budget.Charge(items.Count);
                return items;
            default:
                throw new PyException($"'{TypeName(v)}' object is not iterable");
        }
    }

    internal static List<object?> ToList(object? v) => [.. Iterate(v)];

    /// <summary>A stable sort whose comparison errors surface as the Python error, not as .NET's wrapper.</summary>
    public static void Sort<T>(List<T> list, Comparison<T> comparison)
    {
        // A comparison costs some 25 times a plain element step.
        Budget.Charge(25 * list.Count * (long)Math.Max(1, Math.Log2(Math.Max(2, list.Count))));
        try
        {
            list.Sort(comparison);
        }
        catch (InvalidOperationException e) when (e.InnerException is PyException inner)
        {
            throw new PyException(inner.Message, inner);
        }
    }

    /// <summary>Python's <c>len()</c>.</summary>
    public static long Length(object? v) => v switch
    {
        string s => s.Length,
        List<object?> l => l.Count,
        PyTuple t => t.Count,
        PyDict d => d.Count,
        Undefined u => throw u.Fail(),
        IReadOnlyList<object?> items => items.Count,
        _ => throw new PyException($"object of type '{TypeName(v)}' has no len()"),
    };

    /// <summary>Jinja2's <c>getattr</c>: attributes first, then items.</summary>
    public static object? GetAttr(object? obj, string name)
    {
        if (obj is Undefined u)
        {
            throw u.Fail();
        }

        if (name.StartsWith('_'))
        {
            // The sandbox: no dunder or private attribute is ever reachable (Jinja2's SecurityError).
            throw new PyException($"access to attribute '{name}' of '{TypeName(obj)}' object is unsafe.");
        }

        if (Builtins.TryGetMethod(obj, name, out var method))
        {
            return method;
        }

        if (obj is IPyObject o && o.TryGetAttr(name, out var value))
        {
            return value;
        }

        if (TryGetItem(obj, name, out value))
        {
            return value;
        }

        return Undefined.Attribute(obj, name);
    }

    /// <summary>Jinja2's <c>getitem</c>: items first, then attributes for string keys.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        if (obj is Undefined u)
        {
            throw u.Fail();
        }

        Check(key);
        if (TryGetItem(obj, key, out var value))
        {
            return value;
        }

        if (key is string s)
        {
            return GetAttr(obj, s);
        }

        return Undefined.Attribute(obj, key);
    }

    private static bool TryGetItem(object? obj, object? key, out object? value)
    {
        value = null;
        switch (obj)
        {
            case PyDict d:
                return d.TryGetValue(PyEqualityComparer.Key(key), out value);
            case List<object?> or PyTuple or string when key is long or bool:
                var list = obj as IReadOnlyList<object?>;
                var count = list?.Count ?? ((string)obj).Length;
                var i = ToLong(key);
                if (i < 0)
                {
                    i += count;
                }

                if (i < 0 || i >= count)
                {
                    return false;
                }

                value = list is not null ? list[(int)i] : ((string)obj)[(int)i].ToString();
                return true;
            case IPyIndexable ix:
                return ix.TryGetItem(key, out value);
            default:
                return false;
        }
    }

    /// <summary>Python's slice <c>v[start:stop:step]</c>.</summary>
    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        Check(obj);
        var st = step is null ? 1 : ToLong(step);
        if (st == 0)
        {
            throw new PyException("slice step cannot be zero");
        }

        int count;
        Func<int, object?> at;
        switch (obj)
        {
            case string s:
                count = s.Length;
                at = i => s[i];
                break;
            case IReadOnlyList<object?> l:
                count = l.Count;
                at = i => l[i];
                break;
            default:
                // Jinja2 slices with Python's own indexing (not its getitem), so this is Python's TypeError.
                throw new PyException($"'{TypeName(obj)}' object is not subscriptable");
        }

        long Clamp(object? v, long dflt)
        {
            if (v is null)
            {
                return dflt;
            }

            var x = ToLong(v);
            if (x < 0)
            {
                x += count;
                if (x < 0)
                {
                    x = st < 0 ? -1 : 0;
                }
            }
            else if (x >= count)
            {
                x = st < 0 ? count - 1 : count;
            }

            return x;
        }

        var a = Clamp(start, st > 0 ? 0 : count - 1);
        var b = Clamp(stop, st > 0 ? count : -1);
        var picked = new List<object?>();
        for (var i = a; st > 0 ? i < b : i > b; i += st)
        {
            picked.Add(at((int)i));
        }

        return obj switch
        {
            string => string.Concat(picked.Select(c => ((char)c!).ToString())),
            PyTuple => new PyTuple([.. picked]),
            _ => picked,
        };
    }

    internal static object? Call(object? callee, CallArgs args)
    {
        return callee switch
        {
            IPyCallable f => f.Invoke(args),
            Undefined u => throw u.Fail(),
            _ => throw new PyException($"'{TypeName(callee)}' object is not callable"),
        };
    }

    /// <summary>Turns a .NET value handed in by the host into a template value; anything unknown is refused.</summary>
    internal static object? FromDotNet(object? v, int depth = 0)
    {
        if (depth > 64)
        {
            throw new PyException("value nested too deeply");
        }

        switch (v)
        {
            case null or string or bool or long or double or PyTuple or PyDict or PyDateTime or PyTimeDelta
                or IPyCallable or IPyObject or Undefined:
                return v;
            case List<object?> l:
                return l;
            case int or short or byte or sbyte or ushort or uint:
                return Convert.ToInt64(v, Inv);
            case ulong u:
                return u <= long.MaxValue ? (long)u : (double)u;
            case float or decimal:
                return Convert.ToDouble(v, Inv);
            case char c:
                return c.ToString();
            case DateTimeOffset dto:
                return PyDateTime.FromOffset(dto, pendulum: true);
            case DateTime dt:
                return dt.Kind == DateTimeKind.Utc ? PyDateTime.FromOffset(new DateTimeOffset(dt), true) : new PyDateTime(dt, null, false);
            case TimeSpan ts:
                return new PyTimeDelta(ts.Ticks);
            case Enum e:
                return e.ToString();
            case System.Text.Json.JsonElement je:
                return FromJson(je);
            case System.Text.Json.Nodes.JsonNode jn:
                return FromJson(System.Text.Json.JsonSerializer.SerializeToElement(jn));
            case IDictionary dict:
                var pd = new PyDict(dict.Count);
                foreach (DictionaryEntry e in dict)
                {
                    pd[PyEqualityComparer.Key(FromDotNet(e.Key, depth + 1))] = FromDotNet(e.Value, depth + 1);
                }

                return pd;
            case IEnumerable seq:
                var list = new List<object?>();
                foreach (var x in seq)
                {
                    list.Add(FromDotNet(x, depth + 1));
                }

                return list;
            default:
                throw new PyException($"a value of .NET type {v.GetType().Name} cannot be handed to a template");
        }
    }

    /// <summary>A JSON value as Python values (dict, list, str, int, float, bool, None).</summary>
    public static object? FromJson(System.Text.Json.JsonElement e)
    {
        switch (e.ValueKind)
        {
            case System.Text.Json.JsonValueKind.Object:
                var d = new PyDict();
                foreach (var p in e.EnumerateObject())
                {
                    d[p.Name] = FromJson(p.Value);
                }

                return d;
            case System.Text.Json.JsonValueKind.Array:
                return e.EnumerateArray().Select(FromJson).ToList();
            case System.Text.Json.JsonValueKind.String:
                return e.GetString();
            case System.Text.Json.JsonValueKind.Number:
                return e.TryGetInt64(out var l) ? (object)l : e.GetDouble();
            case System.Text.Json.JsonValueKind.True:
                return true;
            case System.Text.Json.JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }
}
