using System.Text;

namespace Sirocco.Templating.Expressions;

/// <summary>The Python methods templates may call on built-in values (str, dict, list, datetime, timedelta).</summary>
public static class Builtins
{
    internal static bool TryGetMethod(object? obj, string name, out object? method)
    {
        if (obj is string text)
        {
            // Every str method walks the string at most a few times: charge its length once.
            Budget.Charge(text.Length);
        }

        method = obj switch
        {
            string s => StrMethod(s, name),
            PyDict d => DictMethod(d, name),
            List<object?> l => ListMethod(l, name),
            PyTuple t => TupleMethod(t, name),
            PyDateTime dt => DateTimeMember(dt, name),
            PyTimeDelta td => TimeDeltaMember(td, name),
            _ => null,
        };
        return method is not null;
    }

    private static PyFunction Fn(string name, Func<CallArgs, object?> body) => new(name, body);

    private static string Str(object? v, string function, string arg)
    {
        PyOps.Check(v);
        return v as string ?? throw new PyException($"{function}() argument {arg} must be str, not {PyOps.TypeName(v)}");
    }

    private static object? StrMethod(string s, string name) => name switch
    {
        "upper" => Fn(name, _ => Upper(s)),
        "lower" => Fn(name, _ => s.ToLowerInvariant()),
        "title" => Fn(name, _ => Title(s)),
        "capitalize" => Fn(name, _ => Capitalize(s)),
        "strip" => Fn(name, a => Strip(s, a, true, true)),
        "lstrip" => Fn(name, a => Strip(s, a, true, false)),
        "rstrip" => Fn(name, a => Strip(s, a, false, true)),
        "replace" => Fn(name, a => Replace(s, Str(a.Required(0, "old", name), name, "1"), Str(a.Required(1, "new", name), name, "2"), a.Has(2, "count") ? PyOps.ToLong(a.Get(2, "count")) : -1)),
        "split" => Fn(name, a => Split(s, a.Get(0, "sep"), a.Has(1, "maxsplit") ? PyOps.ToLong(a.Get(1, "maxsplit")) : -1, false)),
        "rsplit" => Fn(name, a => Split(s, a.Get(0, "sep"), a.Has(1, "maxsplit") ? PyOps.ToLong(a.Get(1, "maxsplit")) : -1, true)),
        "splitlines" => Fn(name, _ => SplitLines(s).Select(l => (object?)l).ToList()),
        "startswith" => Fn(name, a => Affix(s, a.Required(0, "prefix", name), true)),
        "endswith" => Fn(name, a => Affix(s, a.Required(0, "suffix", name), false)),
        "format" => Fn(name, a => PyFormat.Format(s, a)),
        "join" => Fn(name, a => Join(s, a.Required(0, "iterable", name))),
        "find" => Fn(name, a => (long)s.IndexOf(Str(a.Required(0, "sub", name), name, "1"), StringComparison.Ordinal)),
        "count" => Fn(name, a => Count(s, Str(a.Required(0, "sub", name), name, "1"))),
        "zfill" => Fn(name, a => ZFill(s, PyOps.ToLong(a.Required(0, "width", name)) is var w && w > PyArith.MaxValueLength ? throw new PyException("string too long for a template") : (int)w)),
        "isdigit" => Fn(name, _ => s.Length > 0 && s.All(char.IsDigit)),
        "isalpha" => Fn(name, _ => s.Length > 0 && s.All(char.IsLetter)),
        "isalnum" => Fn(name, _ => s.Length > 0 && s.All(char.IsLetterOrDigit)),
        "isupper" => Fn(name, _ => s.Any(char.IsLetter) && !s.Any(char.IsLower)),
        "islower" => Fn(name, _ => s.Any(char.IsLetter) && !s.Any(char.IsUpper)),
        "removeprefix" => Fn(name, a => Str(a.Required(0, "prefix", name), name, "1") is var p && s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s),
        "removesuffix" => Fn(name, a => Str(a.Required(0, "suffix", name), name, "1") is var p && p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s),
        _ => null,
    };

    /// <summary>Python's <c>str.title</c>: a letter after a non-letter is title-cased, other letters lower-cased.</summary>
    internal static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var prevCased = false;
        foreach (var c in s)
        {
            if (prevCased)
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                AppendTitle(sb, c);
            }

            prevCased = char.IsLetter(c) && (char.IsUpper(c) || char.IsLower(c) || c == 'ß');
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>str.upper</c>, with the full mapping of ß to SS that .NET's invariant upper case lacks.</summary>
    internal static string Upper(string s)
    {
        var upper = s.ToUpperInvariant();
        return upper.Contains('ß', StringComparison.Ordinal) ? upper.Replace("ß", "SS", StringComparison.Ordinal) : upper;
    }

    /// <summary>Python's <c>str.capitalize</c>: the first character title-cased, the rest lower-cased.</summary>
    internal static string Capitalize(string s)
    {
        if (s.Length == 0)
        {
            return s;
        }

        var sb = new StringBuilder(s.Length + 1);
        AppendTitle(sb, s[0]);
        return sb.Append(s[1..].ToLowerInvariant()).ToString();
    }

    /// <summary>Title case of one character (ß becomes Ss, as in Python).</summary>
    internal static void AppendTitle(StringBuilder sb, char c)
    {
        if (c == 'ß')
        {
            sb.Append("Ss");
        }
        else
        {
            sb.Append(char.ToUpperInvariant(c));
        }
    }

    /// <summary>Python's <c>str.splitlines()</c>: every line boundary Python knows, no empty last line.</summary>
    internal static List<string> SplitLines(string s)
    {
        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')
            {
                lines.Add(s[start..i]);
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n')
                {
                    i++;
                }

                start = i + 1;
            }
        }

        if (start < s.Length)
        {
            lines.Add(s[start..]);
        }

        return lines;
    }

    internal static string Strip(string s, CallArgs a, bool left, bool right)
    {
        var chars = a.Get(0, "chars");
        PyOps.Check(chars);
        if (chars is null)
        {
            return left && right ? s.Trim() : left ? s.TrimStart() : s.TrimEnd();
        }

        var set = (chars as string ?? throw new PyException($"strip arg must be None or str")).ToCharArray();
        return left && right ? s.Trim(set) : left ? s.TrimStart(set) : s.TrimEnd(set);
    }

    internal static string Replace(string s, string old, string @new, long count)
    {
        Budget.Charge(s.Length);
        if (count < 0)
        {
            if (old.Length == 0)
            {
                return Guard(@new + string.Join(@new, s.Select(c => c.ToString())) + (s.Length > 0 ? @new : string.Empty));
            }

            var estimate = (long)s.Length + ((long)Math.Max(0, @new.Length - old.Length) * (s.Length / old.Length));
            if (estimate > PyArith.MaxValueLength)
            {
                throw new PyException("string too long for a template");
            }

            return s.Replace(old, @new, StringComparison.Ordinal);
        }

        var sb = new StringBuilder();
        var pos = 0;
        for (long n = 0; n < count; n++)
        {
            var i = old.Length == 0 ? (pos <= s.Length ? pos : -1) : s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0)
            {
                break;
            }

            sb.Append(s, pos, i - pos).Append(@new);
            if (old.Length == 0)
            {
                if (i < s.Length)
                {
                    sb.Append(s[i]);
                }

                pos = i + 1;
            }
            else
            {
                pos = i + old.Length;
            }

            if (sb.Length > PyArith.MaxValueLength)
            {
                throw new PyException("string too long for a template");
            }
        }

        if (pos < s.Length)
        {
            sb.Append(s, pos, s.Length - pos);
        }

        return sb.ToString();
    }

    private static string Guard(string s) => s.Length > PyArith.MaxValueLength ? throw new PyException("string too long for a template") : s;

    private static List<object?> Split(string s, object? sep, long maxsplit, bool fromRight)
    {
        Budget.Charge(s.Length);
        PyOps.Check(sep);
        List<string> parts;
        if (sep is null)
        {
            var words = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (maxsplit < 0 || words.Length <= maxsplit + 1)
            {
                return [.. words];
            }

            // With a limit, the remainder keeps its inner white space.
            parts = [];
            var rest = fromRight ? s.TrimEnd() : s.TrimStart();
            for (var n = 0; n < maxsplit; n++)
            {
                if (fromRight)
                {
                    var k = rest.LastIndexOfAny([' ', '\t', '\n', '\r', '\f', '\v']);
                    parts.Insert(0, rest[(k + 1)..]);
                    rest = rest[..k].TrimEnd();
                }
                else
                {
                    var k = rest.IndexOfAny([' ', '\t', '\n', '\r', '\f', '\v']);
                    parts.Add(rest[..k]);
                    rest = rest[k..].TrimStart();
                }
            }

            if (fromRight)
            {
                parts.Insert(0, rest);
            }
            else
            {
                parts.Add(rest);
            }

            return [.. parts];
        }

        var sepText = sep as string ?? throw new PyException($"must be str or None, not {PyOps.TypeName(sep)}");
        if (sepText.Length == 0)
        {
            throw new PyException("empty separator");
        }

        parts = [.. s.Split(sepText)];
        if (maxsplit >= 0 && parts.Count > maxsplit + 1)
        {
            if (fromRight)
            {
                var keep = parts.Count - (int)maxsplit;
                parts = [string.Join(sepText, parts.Take(keep)), .. parts.Skip(keep)];
            }
            else
            {
                parts = [.. parts.Take((int)maxsplit), string.Join(sepText, parts.Skip((int)maxsplit))];
            }
        }

        return [.. parts];
    }

    private static bool Affix(string s, object? affix, bool start)
    {
        PyOps.Check(affix);
        var options = affix is PyTuple t ? t.Items : [affix];
        foreach (var o in options)
        {
            var text = o as string ?? throw new PyException($"{(start ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {PyOps.TypeName(o)}");
            if (start ? s.StartsWith(text, StringComparison.Ordinal) : s.EndsWith(text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    internal static string Join(string sep, object? iterable)
    {
        var sb = new StringBuilder();
        var i = 0;
        foreach (var item in PyOps.Iterate(iterable))
        {
            if (item is not string s)
            {
                throw new PyException($"sequence item {i}: expected str instance, {PyOps.TypeName(item)} found");
            }

            if (i++ > 0)
            {
                sb.Append(sep);
            }

            sb.Append(s);
            if (sb.Length > PyArith.MaxValueLength)
            {
                throw new PyException("string too long for a template");
            }
        }

        Budget.Charge(sb.Length + (long)i);
        return sb.ToString();
    }

    private static long Count(string s, string sub)
    {
        Budget.Charge(s.Length);
        if (sub.Length == 0)
        {
            return s.Length + 1;
        }

        long n = 0;
        for (var i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static string ZFill(string s, int width)
    {
        if (s.Length >= width)
        {
            return s;
        }

        var sign = s.Length > 0 && s[0] is '+' or '-' ? s[0].ToString() : string.Empty;
        return sign + new string('0', width - s.Length) + s[sign.Length..];
    }

    private static object? DictMethod(PyDict d, string name) => name switch
    {
        "get" => Fn(name, a => d.TryGetValue(PyEqualityComparer.Key(Checked(a.Required(0, "key", name))), out var v) ? v : a.Get(1, "default")),
        "items" => Fn(name, _ => d.Select(kv => (object?)new PyTuple([PyEqualityComparer.Unkey(kv.Key), kv.Value])).ToList()),
        "keys" => Fn(name, _ => d.Keys.Select(PyEqualityComparer.Unkey).ToList()),
        "values" => Fn(name, _ => d.Values.ToList()),
        _ => null,
    };

    private static object? Checked(object? v)
    {
        PyOps.Check(v);
        return v;
    }

    private static object? ListMethod(List<object?> l, string name) => name switch
    {
        "index" => Fn(name, a =>
        {
            var x = a.Required(0, "value", name);
            var i = l.FindIndex(e => PyOps.Eq(e, x));
            return i >= 0 ? i : throw new PyException($"{PyOps.Repr(x)} is not in list");
        }),
        "count" => Fn(name, a => (long)l.Count(e => PyOps.Eq(e, a.Required(0, "value", name)))),
        _ => null,
    };

    private static object? TupleMethod(PyTuple t, string name) => name switch
    {
        "index" => Fn(name, a =>
        {
            var x = a.Required(0, "value", name);
            var i = Array.FindIndex(t.Items, e => PyOps.Eq(e, x));
            return i >= 0 ? i : throw new PyException("tuple.index(x): x not in tuple");
        }),
        "count" => Fn(name, a => (long)t.Items.Count(e => PyOps.Eq(e, a.Required(0, "value", name)))),
        _ => null,
    };

    private static object? DateTimeMember(PyDateTime dt, string name) => name switch
    {
        "year" => (long)dt.Wall.Year,
        "month" => (long)dt.Wall.Month,
        "day" => (long)dt.Wall.Day,
        "hour" => (long)dt.Wall.Hour,
        "minute" => (long)dt.Wall.Minute,
        "second" => (long)dt.Wall.Second,
        "microsecond" => (long)dt.Microsecond,
        "day_of_week" when dt.IsPendulum => (long)dt.Wall.DayOfWeek,
        "day_of_year" when dt.IsPendulum => (long)dt.Wall.DayOfYear,
        "int_timestamp" when dt.IsPendulum => dt.ToOffset().ToUnixTimeSeconds(),
        "strftime" => Fn(name, a => dt.Strftime(Str(a.Required(0, "format", name), name, "1"))),
        "isoformat" => Fn(name, a => dt.IsoFormat(a.Get(0, "sep", "T") as string ?? "T")),
        "format" when dt.IsPendulum => Fn(name, a => dt.PendulumFormat(Str(a.Required(0, "fmt", name), name, "1"))),
        "to_date_string" when dt.IsPendulum => Fn(name, _ => dt.Strftime("%Y-%m-%d")),
        "to_datetime_string" when dt.IsPendulum => Fn(name, _ => dt.Strftime("%Y-%m-%d %H:%M:%S")),
        "weekday" => Fn(name, _ => (long)(((int)dt.Wall.DayOfWeek + 6) % 7)),
        "isoweekday" => Fn(name, _ => (long)(((int)dt.Wall.DayOfWeek + 6) % 7) + 1),
        "timestamp" => Fn(name, _ => (dt.ToOffset() - DateTimeOffset.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond),
        "add" when dt.IsPendulum => Fn(name, a => dt.Add(PyTimeDelta.FromArgs(a).Ticks)),
        "subtract" when dt.IsPendulum => Fn(name, a => dt.Add(-PyTimeDelta.FromArgs(a).Ticks)),
        "replace" => Fn(name, a => Replace(dt, a)),
        "in_timezone" or "in_tz" when dt.IsPendulum => Fn(name, a => InTimezone(dt, PyOps.Str(a.Required(0, "tz", name)))),
        "date" => Fn(name, _ => new PyDateTime(dt.Wall.Date, null, dt.IsPendulum) { IsDate = true }),
        _ => null,
    };

    /// <summary>pendulum's <c>in_timezone</c>: the same instant in an IANA zone (or UTC).</summary>
    private static PyDateTime InTimezone(PyDateTime dt, string zone)
    {
        TimeZoneInfo tz;
        try
        {
            tz = zone.Equals("UTC", StringComparison.OrdinalIgnoreCase) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(zone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new PyException($"Invalid timezone '{zone}'", e);
        }

        var converted = TimeZoneInfo.ConvertTime(dt.ToOffset(), tz);
        return new PyDateTime(converted.DateTime, converted.Offset, pendulum: true) { ZoneName = tz.Id };
    }

    private static PyDateTime Replace(PyDateTime dt, CallArgs a)
    {
        int Part(string key, int current) => a.Has(-1, key) ? (int)PyOps.ToLong(a.Get(-1, key)) : current;
        var w = dt.Wall;
        try
        {
            var wall = new DateTime(Part("year", w.Year), Part("month", w.Month), Part("day", w.Day), Part("hour", w.Hour), Part("minute", w.Minute), Part("second", w.Second))
                .AddTicks(Part("microsecond", dt.Microsecond) * 10L);
            return new PyDateTime(wall, dt.Offset, dt.IsPendulum);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new PyException("date value out of range", e);
        }
    }

    private static object? TimeDeltaMember(PyTimeDelta td, string name) => name switch
    {
        "days" => td.Days,
        "seconds" => td.Seconds,
        "microseconds" => td.Microseconds,
        "total_seconds" => Fn(name, _ => td.TotalSeconds),
        _ => null,
    };
}
