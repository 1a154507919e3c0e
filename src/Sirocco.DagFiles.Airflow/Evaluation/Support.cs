using System.Globalization;
using Sirocco.Templating.Airflow;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>Conversions from the file's values to the .NET values of the DAG model.</summary>
internal static class Convert
{
    public static DateTimeOffset Date(object? value, string keyword) => value switch
    {
        // A naive datetime is in Airflow's default time zone, UTC.
        PyDateTime d => new DateTimeOffset(d.Wall, d.Offset ?? TimeSpan.Zero),
        _ => throw new KeywordException(keyword, $"{keyword} must be a datetime, not {Interpreter.Describe(value)}"),
    };

    public static TimeSpan Duration(object? value, string keyword) => value switch
    {
        PyTimeDelta t => TimeSpan.FromTicks(t.Ticks),
        long or double => TimeSpan.FromSeconds(PyOps.ToDouble(value)),
        _ => throw new KeywordException(keyword, $"{keyword} must be a timedelta, not {Interpreter.Describe(value)}"),
    };

    public static List<string> StringList(object? value, string keyword)
    {
        IEnumerable<object?> items = value switch
        {
            List<object?> l => l,
            PyTuple t => t.Items,
            _ => throw new KeywordException(keyword, $"{keyword} must be a list of str, not {Interpreter.Describe(value)}"),
        };
        return [.. items.Select(i => i as string ?? throw new KeywordException(keyword, $"{keyword} must be a list of str, but holds {Interpreter.Describe(i)}"))];
    }

    /// <summary>A value for a .NET dictionary or list: datetimes, durations and containers become .NET values.</summary>
    public static object? ToDotNet(object? value)
    {
        Nesting.Check(value);
        return ToDotNetChecked(value);
    }

    private static object? ToDotNetChecked(object? value) => value switch
    {
        PyDateTime d => new DateTimeOffset(d.Wall, d.Offset ?? TimeSpan.Zero),
        PyTimeDelta t => TimeSpan.FromTicks(t.Ticks),
        PyDict d => d.ToDictionary(kv => PyOps.Str(PyEqualityComparer.Unkey(kv.Key)), kv => ToDotNetChecked(kv.Value), StringComparer.Ordinal),
        List<object?> l => l.Select(ToDotNetChecked).ToList(),
        PyTuple t => t.Items.Select(ToDotNetChecked).ToList(),
        IPyObject o => throw new DagEvalException($"a {o.TypeName} cannot be used as a plain value here"),
        _ => value,
    };

    /// <summary>A DAG's default_args: durations as TimeSpan, dates as DateTimeOffset, others as .NET values.</summary>
    public static DefaultArgs DefaultArgs(PyDict source)
    {
        var result = new DefaultArgs();
        foreach (var (k, v) in source)
        {
            if (k is not string key)
            {
                throw new KeywordException("default_args", "default_args keys must be str");
            }

            if (key.StartsWith("on_", StringComparison.Ordinal) && key.EndsWith("_callback", StringComparison.Ordinal))
            {
                continue; // each task's operator makes its callbacks from the file's dict (they run in pods)
            }

            result[key] = v switch
            {
                long l when l is >= int.MinValue and <= int.MaxValue && key is "retries" or "pool_slots" or "priority_weight" => (int)l,
                _ when key == "trigger_rule" && v is string s => TriggerRuleNames.Parse(s),
                IPyObject => v, // tasks-only values (Secrets, Kubernetes models) are applied by the operators
                _ => ToDotNet(v),
            };
        }

        return result;
    }
}

/// <summary>The methods that change lists and dicts (the Templating model offers only the reading ones).</summary>
internal static class Mutators
{
    public static NativeFunction? List(List<object?> list, string name, Interpreter interpreter) => name switch
    {
        "append" => new(name, a =>
        {
            list.Add(Single(a, name));
            return Bound(list);
        }),
        "extend" => new(name, a =>
        {
            list.AddRange(interpreter.Iterate(Single(a, name), 0));
            return Bound(list);
        }),
        "insert" => new(name, a =>
        {
            var i = (int)Math.Clamp(PyOps.ToLong(a.Get(0, "index")), -list.Count, list.Count);
            list.Insert(i < 0 ? i + list.Count : i, a.Get(1, "object"));
            return Bound(list);
        }),
        "pop" => new(name, a =>
        {
            if (list.Count == 0)
            {
                throw new DagEvalException("pop from empty list");
            }

            var i = (int)PyOps.ToLong(a.Get(0, "index", -1L));
            i = i < 0 ? i + list.Count : i;
            if (i < 0 || i >= list.Count)
            {
                throw new DagEvalException("pop index out of range");
            }

            var v = list[i];
            list.RemoveAt(i);
            return v;
        }),
        "remove" => new(name, a =>
        {
            var x = Single(a, name);
            Nesting.Check(list);
            Nesting.Check(x);
            var i = list.FindIndex(e => PyOps.Eq(e, x));
            if (i < 0)
            {
                throw new DagEvalException("list.remove(x): x not in list");
            }

            list.RemoveAt(i);
            return null;
        }),
        "copy" => new(name, _ => new List<object?>(list)),
        "sort" => new(name, a =>
        {
            Nesting.Check(list);
            PyOps.Sort(list, (x, y) => PyOps.Compare(x, y, "<"));
            if (Interpreter.Truthy(a.Get(-1, "reverse", false)))
            {
                list.Reverse();
            }

            return null;
        }),
        "reverse" => new(name, _ =>
        {
            list.Reverse();
            return null;
        }),
        "clear" => new(name, _ =>
        {
            list.Clear();
            return null;
        }),
        _ => null,
    };

    private static object? Bound(List<object?> list)
    {
        if (list.Count > PyArith.MaxValueLength)
        {
            throw new DagEvalException("list too long for a DAG file");
        }

        return null;
    }

    public static NativeFunction? Dict(PyDict dict, string name) => name switch
    {
        "update" => new(name, a =>
        {
            if (a.Positional.Count == 1)
            {
                if (a.Positional[0] is not PyDict other)
                {
                    throw new DagEvalException("dict.update() needs a dict");
                }

                foreach (var (k, v) in other)
                {
                    dict[k] = v;
                }
            }

            foreach (var k in a.Keywords)
            {
                dict[k.Name] = k.Value;
            }

            return null;
        }),
        "setdefault" => new(name, a =>
        {
            Nesting.Check(a.Get(0, "key"));
            var key = PyEqualityComparer.Key(a.Get(0, "key"));
            if (!dict.TryGetValue(key, out var v))
            {
                v = a.Get(1, "default");
                dict[key] = v;
            }

            return v;
        }),
        "pop" => new(name, a =>
        {
            Nesting.Check(a.Get(0, "key"));
            var key = PyEqualityComparer.Key(a.Get(0, "key"));
            if (dict.Remove(key, out var v))
            {
                return v;
            }

            return a.Given(1, "default") ? a.Get(1, "default") : throw new DagEvalException($"KeyError: {PyOps.Repr(a.Get(0, "key"))}");
        }),
        "copy" => new(name, _ =>
        {
            var copy = new PyDict(dict.Count);
            foreach (var (k, v) in dict)
            {
                copy[k] = v;
            }

            return copy;
        }),
        "clear" => new(name, _ =>
        {
            dict.Clear();
            return null;
        }),
        _ => null,
    };

    private static object? Single(Args a, string name) =>
        a.Positional.Count == 1 && a.Keywords.Count == 0 ? a.Positional[0] : throw new DagEvalException($"{name}() takes exactly one argument");
}

/// <summary>A time zone value (<c>datetime.timezone.utc</c>, <c>pendulum.timezone("Europe/Paris")</c>).</summary>
internal sealed class TimeZoneValue(string name, TimeZoneInfo zone) : IPyObject
{
    public static readonly TimeZoneValue Utc = new("UTC", TimeZoneInfo.Utc);

    public string Name { get; } = name;

    public TimeZoneInfo Zone { get; } = zone;

    public string TypeName => "Timezone";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name == "name" ? Name : null;
        return value is not null;
    }

    public override string ToString() => $"Timezone('{Name}')";
}

/// <summary>Python's <c>datetime.datetime</c> class, with <c>tzinfo=</c> and <c>now(tz)</c>.</summary>
internal sealed class DateTimeType(TimeProvider time) : IPyObject, IPyCallable
{
    private readonly DateTimeClass _templatingClass = new(time);

    public string TypeName => "type";

    public object? Invoke(CallArgs a)
    {
        int Part(int i, string name, int dflt) => (int)Math.Clamp(PyOps.ToLong(a.Get(i, name, (long)dflt)), -1, 10_000_000);
        DateTime wall;
        try
        {
            wall = new DateTime(Part(0, "year", -1), Part(1, "month", -1), Part(2, "day", -1), Part(3, "hour", 0), Part(4, "minute", 0), Part(5, "second", 0))
                .AddTicks(Part(6, "microsecond", 0) * 10L);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new PyException("year, month or day is out of range", e);
        }

        return a.Get(7, "tzinfo") switch
        {
            null => new PyDateTime(wall, null, false),
            TimeZoneValue tz => new PyDateTime(wall, tz.Zone.GetUtcOffset(wall), false) { ZoneName = tz.Name },
            var other => throw new PyException($"tzinfo argument must be None or of a tzinfo subclass, not type '{PyOps.TypeName(other)}'"),
        };
    }

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "now" => new PyFunction(name, a => Now(a.Get(0, "tz"))),
            "today" => new PyFunction(name, _ => Now(null)),
            "utcnow" => new PyFunction(name, _ => new PyDateTime(time.GetUtcNow().UtcDateTime, null, false)),
            _ => null,
        };

        // strptime and fromisoformat are the Templating model's own.
        return value is not null || _templatingClass.TryGetAttr(name, out value);
    }

    private PyDateTime Now(object? tz) => tz switch
    {
        null => new PyDateTime(time.GetLocalNow().DateTime, null, false),
        TimeZoneValue z => PyDateTime.FromOffset(TimeZoneInfo.ConvertTime(time.GetUtcNow(), z.Zone), false),
        _ => throw new PyException("tz argument must be an instance of tzinfo"),
    };

    public override string ToString() => "<class 'datetime.datetime'>";
}

/// <summary>The part of pendulum DAG files use: <c>datetime</c>, <c>today</c>, <c>now</c>, <c>yesterday</c>, <c>duration</c>, <c>timezone</c>.</summary>
internal static class Pendulum
{
    public static TimeZoneInfo? Zone(string name)
    {
        if (name is "UTC" or "utc" or "Z")
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    private static TimeZoneValue ZoneArg(object? tz) => tz switch
    {
        null => TimeZoneValue.Utc,
        TimeZoneValue z => z,
        string s => new TimeZoneValue(s, Zone(s) ?? throw new DagEvalException($"Invalid timezone '{s}'")),
        _ => throw new DagEvalException($"tz must be a str or a timezone, not {Interpreter.Describe(tz)}"),
    };

    private static PyDateTime At(DateTime wall, TimeZoneValue tz) =>
        new(wall, tz.Zone.GetUtcOffset(DateTime.SpecifyKind(wall, DateTimeKind.Unspecified)), true) { ZoneName = tz.Name };

    public static Dictionary<string, object?> Members(TimeProvider time, NativeFunction timedelta)
    {
        PyDateTime Today(Args a, int days)
        {
            var tz = ZoneArg(a.Get(0, "tz"));
            var local = TimeZoneInfo.ConvertTime(time.GetUtcNow(), tz.Zone);
            return At(local.Date.AddDays(days), tz);
        }

        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["datetime"] = new NativeFunction("pendulum.datetime", a =>
            {
                a.Check("pendulum.datetime", 7, "year", "month", "day", "hour", "minute", "second", "microsecond", "tz");
                int Part(int i, string name, int dflt) => (int)Math.Clamp(PyOps.ToLong(a.Get(i, name, (long)dflt)), -1, 10_000_000);
                try
                {
                    var wall = new DateTime(Part(0, "year", -1), Part(1, "month", -1), Part(2, "day", -1), Part(3, "hour", 0), Part(4, "minute", 0), Part(5, "second", 0))
                        .AddTicks(Part(6, "microsecond", 0) * 10L);
                    return At(wall, ZoneArg(a.Get(-1, "tz")));
                }
                catch (ArgumentOutOfRangeException)
                {
                    throw new DagEvalException("year, month or day is out of range");
                }
            }),
            ["today"] = new NativeFunction("pendulum.today", a => Today(a, 0)),
            ["yesterday"] = new NativeFunction("pendulum.yesterday", a => Today(a, -1)),
            ["tomorrow"] = new NativeFunction("pendulum.tomorrow", a => Today(a, 1)),
            ["now"] = new NativeFunction("pendulum.now", a =>
            {
                var tz = ZoneArg(a.Get(0, "tz"));
                return PyDateTime.FromOffset(TimeZoneInfo.ConvertTime(time.GetUtcNow(), tz.Zone), true);
            }),
            ["duration"] = timedelta,
            ["timezone"] = new NativeFunction("pendulum.timezone", a => ZoneArg(a.Get(0, "name"))),
            ["UTC"] = TimeZoneValue.Utc,
            ["parse"] = new NativeFunction("pendulum.parse", a =>
            {
                var text = a.Get(0, "text") as string ?? throw new DagEvalException("pendulum.parse() needs a str");
                return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)
                    ? PyDateTime.FromOffset(dto, true)
                    : throw new DagEvalException($"Unable to parse string [{text}]");
            }),
        };
    }
}
