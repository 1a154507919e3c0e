namespace Sirocco.Templating.Expressions;

/// <summary>Python's arithmetic operators over the value model, with size limits so no expression can exhaust memory.</summary>
public static class PyArith
{
    /// <summary>The longest string or list an operator may build.</summary>
    public const int MaxValueLength = 1 << 22;

    /// <summary>Python's binary operator <paramref name="op"/> (<c>+</c>, <c>%</c>, <c>//</c>, <c>**</c>...) on two values, with Python's errors.</summary>
    public static object? Binary(string op, object? a, object? b)
    {
        PyOps.Check(a);
        PyOps.Check(b);
        return op switch
        {
            "+" => Add(a, b),
            "-" => Sub(a, b),
            "*" => Mul(a, b),
            "/" => Div(a, b),
            "//" => FloorDiv(a, b),
            "%" => Mod(a, b),
            "**" => Pow(a, b),
            "~" => Concat(PyOps.Str(a), PyOps.Str(b)),
            _ => throw new PyException($"unknown operator {op}"),
        };
    }

    private static PyException Unsupported(string op, object? a, object? b) =>
        new($"unsupported operand type(s) for {op}: '{PyOps.TypeName(a)}' and '{PyOps.TypeName(b)}'");

    private static bool BothInt(object? a, object? b) => a is long or bool && b is long or bool;

    internal static string Concat(string a, string b)
    {
        Budget.Charge(a.Length + (long)b.Length);
        if ((long)a.Length + b.Length > MaxValueLength)
        {
            throw new PyException("string too long for a template");
        }

        return string.Concat(a, b);
    }

    private static object? Add(object? a, object? b)
    {
        if (BothInt(a, b))
        {
            return Checked(() => checked(PyOps.ToLong(a) + PyOps.ToLong(b)));
        }

        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            return PyOps.ToDouble(a) + PyOps.ToDouble(b);
        }

        switch (a)
        {
            case string s when b is string t:
                return Concat(s, t);
            case string when b is not string:
                throw new PyException($"can only concatenate str (not \"{PyOps.TypeName(b)}\") to str");
            case List<object?> l when b is List<object?> m:
                Guard(l.Count + (long)m.Count);
                return l.Concat(m).ToList();
            case List<object?> when b is not List<object?>:
                throw new PyException($"can only concatenate list (not \"{PyOps.TypeName(b)}\") to list");
            case PyTuple t when b is PyTuple u:
                Guard(t.Count + (long)u.Count);
                return new PyTuple([.. t.Items, .. u.Items]);
            case PyDateTime d when b is PyTimeDelta td:
                return d.Add(td.Ticks);
            case PyTimeDelta td when b is PyDateTime d:
                return d.Add(td.Ticks);
            case PyTimeDelta x when b is PyTimeDelta y:
                return new PyTimeDelta(Checked(() => checked(x.Ticks + y.Ticks)));
            default:
                throw Unsupported("+", a, b);
        }
    }

    private static object? Sub(object? a, object? b)
    {
        if (BothInt(a, b))
        {
            return Checked(() => checked(PyOps.ToLong(a) - PyOps.ToLong(b)));
        }

        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            return PyOps.ToDouble(a) - PyOps.ToDouble(b);
        }

        return a switch
        {
            PyDateTime d when b is PyTimeDelta td => d.Add(-td.Ticks),
            PyDateTime d when b is PyDateTime e => d.Subtract(e),
            PyTimeDelta x when b is PyTimeDelta y => new PyTimeDelta(Checked(() => checked(x.Ticks - y.Ticks))),
            _ => throw Unsupported("-", a, b),
        };
    }

    private static object? Mul(object? a, object? b)
    {
        if (BothInt(a, b))
        {
            return Checked(() => checked(PyOps.ToLong(a) * PyOps.ToLong(b)));
        }

        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            return PyOps.ToDouble(a) * PyOps.ToDouble(b);
        }

        if (b is string or List<object?> or PyTuple && a is long or bool)
        {
            (a, b) = (b, a);
        }

        switch (a)
        {
            case string s when b is long or bool:
                return string.Concat(Enumerable.Repeat(s, Repeats(s.Length, PyOps.ToLong(b))));
            case List<object?> l when b is long or bool:
                var m = Repeats(l.Count, PyOps.ToLong(b));
                var repeated = new List<object?>(l.Count * m);
                for (var i = 0; i < m; i++)
                {
                    repeated.AddRange(l);
                }

                return repeated;
            case PyTuple t when b is long or bool:
                return new PyTuple([.. Enumerable.Range(0, Repeats(t.Count, PyOps.ToLong(b))).SelectMany(_ => t.Items)]);
            case PyTimeDelta td when b is long or double:
                return new PyTimeDelta((long)Math.Round(td.Ticks * PyOps.ToDouble(b)));
            case long or double when b is PyTimeDelta td2:
                return new PyTimeDelta((long)Math.Round(td2.Ticks * PyOps.ToDouble(a)));
            case string or List<object?> or PyTuple:
                throw new PyException($"can't multiply sequence by non-int of type '{PyOps.TypeName(b)}'");
            default:
                throw Unsupported("*", a, b);
        }
    }

    private static object? Div(object? a, object? b)
    {
        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            var d = PyOps.ToDouble(b);
            if (d == 0)
            {
                throw new PyException(BothInt(a, b) ? "division by zero" : "float division by zero");
            }

            return PyOps.ToDouble(a) / d;
        }

        if (a is PyTimeDelta x && b is PyTimeDelta y)
        {
            return y.Ticks == 0 ? throw new PyException("division by zero") : (double)x.Ticks / y.Ticks;
        }

        throw Unsupported("/", a, b);
    }

    private static object? FloorDiv(object? a, object? b)
    {
        if (BothInt(a, b))
        {
            long x = PyOps.ToLong(a), y = PyOps.ToLong(b);
            if (y == 0)
            {
                throw new PyException("integer division or modulo by zero");
            }

            if (x == long.MinValue && y == -1)
            {
                throw new PyException("integer overflow");
            }

            var q = x / y;
            return (x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q;
        }

        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            var d = PyOps.ToDouble(b);
            return d == 0 ? throw new PyException("float floor division by zero") : FloatFloorDiv(PyOps.ToDouble(a), d);
        }

        throw Unsupported("//", a, b);
    }

    private static object? Mod(object? a, object? b)
    {
        if (a is string fmt)
        {
            return PyFormat.Percent(fmt, b);
        }

        if (BothInt(a, b))
        {
            long x = PyOps.ToLong(a), y = PyOps.ToLong(b);
            if (y == 0)
            {
                throw new PyException("integer division or modulo by zero");
            }

            if (y == -1)
            {
                return 0L;
            }

            var r = x % y;
            return r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
        }

        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            double x = PyOps.ToDouble(a), y = PyOps.ToDouble(b);
            if (y == 0)
            {
                throw new PyException("float modulo");
            }

            var r = x % y;
            return r != 0 ? ((r < 0) != (y < 0) ? r + y : r) : Math.CopySign(0.0, y);
        }

        throw Unsupported("%", a, b);
    }

    private static object? Pow(object? a, object? b)
    {
        if (BothInt(a, b))
        {
            long x = PyOps.ToLong(a), y = PyOps.ToLong(b);
            if (y < 0)
            {
                return x == 0 ? throw new PyException("0.0 cannot be raised to a negative power") : Math.Pow(x, y);
            }

            long result = 1;
            return Checked(() =>
            {
                for (long i = 0; i < y; i++)
                {
                    result = checked(result * x);
                    if (result is 0 or 1 && (x is 0 or 1))
                    {
                        break;
                    }

                    if (x == -1)
                    {
                        return y % 2 == 0 ? 1 : -1;
                    }
                }

                return result;
            });
        }

        if (PyOps.IsNumber(a) && PyOps.IsNumber(b))
        {
            var x = PyOps.ToDouble(a);
            var y = PyOps.ToDouble(b);
            if (x == 0 && y < 0)
            {
                throw new PyException("0.0 cannot be raised to a negative power");
            }

            return Math.Pow(x, y);
        }

        throw Unsupported("** or pow()", a, b);
    }

    /// <summary>CPython's float floor division, from fmod, so that <c>1e3 // 0.1</c> is 9999.0 as in Python.</summary>
    private static double FloatFloorDiv(double x, double y)
    {
        var mod = x % y;
        var div = (x - mod) / y;
        if (mod != 0 && ((y < 0) != (mod < 0)))
        {
            div -= 1.0;
        }

        if (div == 0)
        {
            return Math.CopySign(0.0, x / y);
        }

        var floor = Math.Floor(div);
        return div - floor > 0.5 ? floor + 1.0 : floor;
    }

    /// <summary>Python's unary minus.</summary>
    public static object? Negate(object? v) => v switch
    {
        long l => l == long.MinValue ? throw new PyException("integer overflow") : -l,
        bool b => b ? -1L : 0L,
        double d => -d,
        PyTimeDelta t => new PyTimeDelta(-t.Ticks),
        Undefined u => throw u.Fail(),
        _ => throw new PyException($"bad operand type for unary -: '{PyOps.TypeName(v)}'"),
    };

    /// <summary>Python's unary plus.</summary>
    public static object? Plus(object? v) => v switch
    {
        long or double or PyTimeDelta => v,
        bool b => b ? 1L : 0L,
        Undefined u => throw u.Fail(),
        _ => throw new PyException($"bad operand type for unary +: '{PyOps.TypeName(v)}'"),
    };

    /// <summary>
    /// How many copies <c>sequence * times</c> makes of a sequence of <paramref name="length"/> items: none for an empty
    /// sequence or a count below 1 (as in Python, whatever the count), else the count, refused when the result would pass
    /// <see cref="MaxValueLength"/>. The check divides rather than multiplies: a count near 2**63 would overflow the product.
    /// </summary>
    private static int Repeats(int length, long times)
    {
        if (length == 0 || times <= 0)
        {
            return 0;
        }

        if (times > MaxValueLength / length)
        {
            throw new PyException("value too large for a template");
        }

        Guard(length * times);
        return (int)times;
    }

    private static void Guard(long length)
    {
        Budget.Charge(length);
        if (length > MaxValueLength)
        {
            throw new PyException("value too large for a template");
        }
    }

    private static T Checked<T>(Func<T> f)
    {
        try
        {
            return f();
        }
        catch (OverflowException e)
        {
            // Python's int has no bound; ours is 64-bit and says so instead of wrapping.
            throw new PyException("integer overflow (templates use 64-bit integers)", e);
        }
    }
}
