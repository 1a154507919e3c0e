using System.Globalization;
using System.Text;

namespace Sirocco.Templating.Expressions;

/// <summary>
/// A datetime as templates see it: Python's <c>datetime</c> (naive or with an offset) or, for the Airflow context's
/// dates, a pendulum <c>DateTime</c> (same behaviour, but <c>str()</c> is the ISO form with a <c>T</c>).
/// </summary>
public sealed class PyDateTime
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A datetime: the wall-clock time, its UTC offset (null when naive), and whether it behaves as pendulum's.</summary>
    public PyDateTime(DateTime wall, TimeSpan? offset, bool pendulum)
    {
        Wall = DateTime.SpecifyKind(wall, DateTimeKind.Unspecified);
        Offset = offset;
        IsPendulum = pendulum;
    }

    /// <summary>The wall-clock time.</summary>
    public DateTime Wall { get; }

    /// <summary>The UTC offset, or null for a naive datetime.</summary>
    public TimeSpan? Offset { get; }

    /// <summary>Whether the value behaves as a pendulum DateTime (Airflow's context dates) rather than a plain datetime.</summary>
    internal bool IsPendulum { get; }

    /// <summary>A date without time (Python's <c>date</c>): prints as <c>YYYY-MM-DD</c>.</summary>
    public bool IsDate { get; init; }

    /// <summary>The zone name <c>%Z</c> shows, when known (UTC for the context's dates).</summary>
    public string? ZoneName { get; init; }

    /// <summary>An aware datetime from a <see cref="DateTimeOffset"/>.</summary>
    public static PyDateTime FromOffset(DateTimeOffset value, bool pendulum) => new(value.DateTime, value.Offset, pendulum);

    /// <summary>The microsecond field (0-999999).</summary>
    internal int Microsecond => (int)(Wall.Ticks % TimeSpan.TicksPerSecond / 10);

    /// <summary>The datetime as a <see cref="DateTimeOffset"/> (naive ones as UTC).</summary>
    public DateTimeOffset ToOffset() => new(Wall, Offset ?? TimeSpan.Zero);

    internal PyDateTime Add(long ticks)
    {
        try
        {
            if (IsDate)
            {
                return new PyDateTime(Wall.AddDays(Math.Floor((double)ticks / TimeSpan.TicksPerDay)), null, IsPendulum) { IsDate = true };
            }

            return new PyDateTime(Wall.AddTicks(ticks), Offset, IsPendulum) { ZoneName = ZoneName };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new PyException("date value out of range", e);
        }
    }

    internal PyTimeDelta Subtract(PyDateTime other)
    {
        if (Offset.HasValue != other.Offset.HasValue)
        {
            throw new PyException("can't subtract offset-naive and offset-aware datetimes");
        }

        var delta = new PyTimeDelta((ToOffset() - other.ToOffset()).Ticks);
        if (IsPendulum && other.IsPendulum)
        {
            // pendulum 2 gives a Period, whose str() names both ends.
            delta.PeriodText = $"<Period [{other.IsoFormat()} -> {IsoFormat()}]>";
        }

        return delta;
    }

    internal int CompareTo(PyDateTime other, string op)
    {
        if (IsDate != other.IsDate)
        {
            if (op is "==" or "!=")
            {
                return 1;
            }

            throw new PyException($"can't compare {(IsDate ? "datetime.date" : "datetime.datetime")} to {(other.IsDate ? "datetime.date" : "datetime.datetime")}");
        }

        if (Offset.HasValue != other.Offset.HasValue)
        {
            if (op is "==" or "!=")
            {
                return 1;
            }

            throw new PyException("can't compare offset-naive and offset-aware datetimes");
        }

        return ToOffset().CompareTo(other.ToOffset());
    }

    internal string IsoFormat(string sep = "T")
    {
        if (IsDate)
        {
            return Wall.ToString("yyyy-MM-dd", Inv);
        }

        var sb = new StringBuilder();
        sb.Append(Wall.ToString("yyyy-MM-dd", Inv)).Append(sep).Append(Wall.ToString("HH:mm:ss", Inv));
        if (Microsecond != 0)
        {
            sb.Append('.').Append(Microsecond.ToString("000000", Inv));
        }

        if (Offset is { } off)
        {
            sb.Append(OffsetText(off, ":"));
        }

        return sb.ToString();
    }

    private static string OffsetText(TimeSpan off, string sep)
    {
        var sign = off < TimeSpan.Zero ? "-" : "+";
        var a = off.Duration();
        return sign + a.Hours.ToString("00", Inv) + sep + a.Minutes.ToString("00", Inv);
    }

    /// <inheritdoc />
    public override string ToString() => IsoFormat(IsPendulum ? "T" : " ");

    internal string Repr()
    {
        if (IsDate)
        {
            return string.Create(Inv, $"{(IsPendulum ? "Date" : "datetime.date")}({Wall.Year}, {Wall.Month}, {Wall.Day})");
        }

        if (IsPendulum)
        {
            var tz = Offset == TimeSpan.Zero ? "Timezone('UTC')" : $"Timezone('{OffsetText(Offset ?? TimeSpan.Zero, ":")}')";
            return string.Create(Inv, $"DateTime({Wall.Year}, {Wall.Month}, {Wall.Day}, {Wall.Hour}, {Wall.Minute}, {Wall.Second}{(Microsecond != 0 ? ", " + Microsecond : string.Empty)}, tzinfo={tz})");
        }

        var parts = new List<int> { Wall.Year, Wall.Month, Wall.Day, Wall.Hour, Wall.Minute };
        if (Wall.Second != 0 || Microsecond != 0)
        {
            parts.Add(Wall.Second);
        }

        if (Microsecond != 0)
        {
            parts.Add(Microsecond);
        }

        var text = string.Join(", ", parts.Select(p => p.ToString(Inv)));
        return Offset is null ? $"datetime.datetime({text})" : $"datetime.datetime({text}, tzinfo=datetime.timezone.utc)";
    }

    /// <summary>Python's <c>strftime</c> (C locale).</summary>
    internal string Strftime(string format)
    {
        // The Airflow context formats these for every task try: skip the general path.
        switch (format)
        {
            case "%Y-%m-%d" when Wall.Year >= 1000:
                return Wall.ToString("yyyy-MM-dd", Inv);
            case "%Y%m%d" when Wall.Year >= 1000:
                return Wall.ToString("yyyyMMdd", Inv);
            case "%Y%m%dT%H%M%S" when Wall.Year >= 1000:
                return Wall.ToString("yyyyMMdd'T'HHmmss", Inv);
        }

        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                sb.Append(c);
                continue;
            }

            var d = format[++i];
            var w = Wall;
            _ = d switch
            {
                'Y' => sb.Append(w.Year.ToString(Inv)),
                'y' => sb.Append((w.Year % 100).ToString("00", Inv)),
                'm' => sb.Append(w.Month.ToString("00", Inv)),
                'd' => sb.Append(w.Day.ToString("00", Inv)),
                'e' => sb.Append(w.Day.ToString(Inv).PadLeft(2)),
                'H' => sb.Append(w.Hour.ToString("00", Inv)),
                'I' => sb.Append(((w.Hour + 11) % 12 + 1).ToString("00", Inv)),
                'p' => sb.Append(w.Hour < 12 ? "AM" : "PM"),
                'M' => sb.Append(w.Minute.ToString("00", Inv)),
                'S' => sb.Append(w.Second.ToString("00", Inv)),
                'f' => sb.Append(Microsecond.ToString("000000", Inv)),
                'j' => sb.Append(w.DayOfYear.ToString("000", Inv)),
                'U' => sb.Append(((w.DayOfYear - 1 + 7 - (int)w.DayOfWeek) / 7).ToString("00", Inv)),
                'W' => sb.Append(((w.DayOfYear - 1 + 7 - (((int)w.DayOfWeek + 6) % 7)) / 7).ToString("00", Inv)),
                'a' => sb.Append(w.ToString("ddd", Inv)),
                'A' => sb.Append(w.ToString("dddd", Inv)),
                'b' or 'h' => sb.Append(w.ToString("MMM", Inv)),
                'B' => sb.Append(w.ToString("MMMM", Inv)),
                'w' => sb.Append(((int)w.DayOfWeek).ToString(Inv)),
                'u' => sb.Append((w.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)w.DayOfWeek).ToString(Inv)),
                'z' => sb.Append(Offset is { } o ? OffsetText(o, string.Empty) : string.Empty),
                'Z' => sb.Append(ZoneName ?? (Offset is { } z ? (z == TimeSpan.Zero ? "UTC" : "UTC" + OffsetText(z, ":")) : string.Empty)),
                'F' => sb.Append(w.ToString("yyyy-MM-dd", Inv)),
                'T' => sb.Append(w.ToString("HH:mm:ss", Inv)),
                'D' => sb.Append(w.ToString("MM/dd/yy", Inv)),
                'G' => sb.Append(ISOWeek.GetYear(w).ToString(Inv)),
                'V' => sb.Append(ISOWeek.GetWeekOfYear(w).ToString("00", Inv)),
                '%' => sb.Append('%'),
                _ => sb.Append('%').Append(d),
            };
        }

        return sb.ToString();
    }

    /// <summary>pendulum's <c>format</c> tokens (the common ones); text in brackets is kept as is.</summary>
    internal string PendulumFormat(string format)
    {
        string[] tokens =
        [
            "YYYY", "YY", "MMMM", "MMM", "MM", "M", "DDDD", "DD", "Do", "D", "dddd", "ddd", "d", "HH", "H", "hh", "h",
            "mm", "m", "ss", "s", "A", "a", "ZZ", "Z", "X", "z",
        ];
        var sb = new StringBuilder();
        var w = Wall;
        for (var i = 0; i < format.Length;)
        {
            if (format[i] == '[')
            {
                var end = format.IndexOf(']', i);
                if (end > i)
                {
                    sb.Append(format, i + 1, end - i - 1);
                    i = end + 1;
                    continue;
                }
            }

            var token = tokens.FirstOrDefault(t => string.CompareOrdinal(format, i, t, 0, t.Length) == 0);
            if (token is null)
            {
                sb.Append(format[i++]);
                continue;
            }

            i += token.Length;
            sb.Append(token switch
            {
                "YYYY" => w.Year.ToString("0000", Inv),
                "YY" => (w.Year % 100).ToString("00", Inv),
                "MMMM" => w.ToString("MMMM", Inv),
                "MMM" => w.ToString("MMM", Inv),
                "MM" => w.Month.ToString("00", Inv),
                "M" => w.Month.ToString(Inv),
                "DDDD" => w.DayOfYear.ToString("000", Inv),
                "DD" => w.Day.ToString("00", Inv),
                "Do" => w.Day.ToString(Inv) + Ordinal(w.Day),
                "D" => w.Day.ToString(Inv),
                "dddd" => w.ToString("dddd", Inv),
                "ddd" => w.ToString("ddd", Inv),
                "d" => ((int)w.DayOfWeek).ToString(Inv),
                "HH" => w.Hour.ToString("00", Inv),
                "H" => w.Hour.ToString(Inv),
                "hh" => ((w.Hour + 11) % 12 + 1).ToString("00", Inv),
                "h" => ((w.Hour + 11) % 12 + 1).ToString(Inv),
                "mm" => w.Minute.ToString("00", Inv),
                "m" => w.Minute.ToString(Inv),
                "ss" => w.Second.ToString("00", Inv),
                "s" => w.Second.ToString(Inv),
                "A" => w.Hour < 12 ? "AM" : "PM",
                "a" => w.Hour < 12 ? "am" : "pm",
                "ZZ" => OffsetText(Offset ?? TimeSpan.Zero, string.Empty),
                "Z" => OffsetText(Offset ?? TimeSpan.Zero, ":"),
                "X" => ToOffset().ToUnixTimeSeconds().ToString(Inv),
                _ => Offset == TimeSpan.Zero ? "UTC" : OffsetText(Offset ?? TimeSpan.Zero, ":"),
            });
        }

        return sb.ToString();
    }

    private static string Ordinal(int day) => (day % 100) is 11 or 12 or 13 ? "th" : (day % 10) switch
    {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    };

    /// <summary>Python's <c>datetime.strptime</c> for the numeric directives and month names.</summary>
    internal static PyDateTime Strptime(string text, string format)
    {
        int year = 1900, month = 1, day = 1, hour = 0, minute = 0, second = 0, micro = 0;
        var pos = 0;
        PyException Mismatch() => new($"time data {PyOps.Repr(text)} does not match format {PyOps.Repr(format)}");
        int Digits(int max)
        {
            var start = pos;
            while (pos < text.Length && pos - start < max && char.IsAsciiDigit(text[pos]))
            {
                pos++;
            }

            return pos == start ? throw Mismatch() : int.Parse(text.AsSpan(start, pos - start), Inv);
        }

        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] == '%' && i + 1 < format.Length)
            {
                switch (format[++i])
                {
                    case 'Y': year = Digits(4); break;
                    case 'y': year = 2000 + Digits(2); year = year >= 2069 ? year - 100 : year; break;
                    case 'm': month = Digits(2); break;
                    case 'd': day = Digits(2); break;
                    case 'H': hour = Digits(2); break;
                    case 'M': minute = Digits(2); break;
                    case 'S': second = Digits(2); break;
                    case 'f': var s = pos; micro = Digits(6); micro *= (int)Math.Pow(10, 6 - (pos - s)); break;
                    case 'j': var doy = Digits(3); month = 1; day = doy; break;
                    case 'b' or 'B':
                        var names = format[i] == 'b' ? Inv.DateTimeFormat.AbbreviatedMonthNames : Inv.DateTimeFormat.MonthNames;
                        var k = Array.FindIndex(names, n => n.Length > 0 && string.Compare(text, pos, n, 0, n.Length, StringComparison.OrdinalIgnoreCase) == 0);
                        if (k < 0)
                        {
                            throw Mismatch();
                        }

                        month = k + 1;
                        pos += names[k].Length;
                        break;
                    case '%':
                        if (pos >= text.Length || text[pos] != '%')
                        {
                            throw Mismatch();
                        }

                        pos++;
                        break;
                    default:
                        throw new PyException($"'{format[i]}' is a bad directive in format '%{format[i]}'");
                }
            }
            else
            {
                if (pos >= text.Length || text[pos] != format[i])
                {
                    throw Mismatch();
                }

                pos++;
            }
        }

        if (pos != text.Length)
        {
            throw new PyException($"unconverted data remains: {text[pos..]}");
        }

        try
        {
            var dt = new DateTime(year, month, 1, hour, minute, second).AddDays(day - 1).AddTicks(micro * 10L);
            if (day > DateTime.DaysInMonth(year, month) && format.Contains("%d", StringComparison.Ordinal))
            {
                throw new PyException("day is out of range for month");
            }

            return new PyDateTime(dt, null, false);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new PyException("day is out of range for month", e);
        }
    }
}

/// <summary>Python's <c>timedelta</c>, kept in .NET ticks (100 ns).</summary>
public sealed class PyTimeDelta
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A timedelta of <paramref name="ticks"/> (100 ns units).</summary>
    public PyTimeDelta(long ticks) => Ticks = ticks;

    /// <summary>Python's <c>timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)</c>.</summary>
    public static PyTimeDelta FromArgs(CallArgs a)
    {
        string[] names = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"];
        long[] ticks = [TimeSpan.TicksPerDay, TimeSpan.TicksPerSecond, 10, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerMinute, TimeSpan.TicksPerHour, TimeSpan.TicksPerDay * 7];
        a.AtMost(names.Length, "timedelta");
        double total = 0;
        for (var i = 0; i < names.Length; i++)
        {
            var v = a.Get(i, names[i]);
            if (v is not null)
            {
                total += PyOps.ToDouble(v) * ticks[i];
            }
        }

        if (a.Keywords?.Find(kv => !names.Contains(kv.Key)) is { Key: not null } bad)
        {
            throw new PyException($"'{bad.Key}' is an invalid keyword argument for __new__()");
        }

        if (Math.Abs(total) > TimeSpan.MaxValue.Ticks)
        {
            throw new PyException("days must be in -999999999..999999999");
        }

        return new PyTimeDelta((long)Math.Round(total));
    }

    /// <summary>The length in 100 ns units.</summary>
    public long Ticks { get; }

    /// <summary>For the difference of two pendulum dates: what <c>str()</c> shows instead.</summary>
    internal string? PeriodText { get; set; }

    /// <summary>Python's normalised days (may be negative).</summary>
    internal long Days => (long)Math.Floor((double)Ticks / TimeSpan.TicksPerDay);

    /// <summary>Python's normalised seconds, 0 to 86399.</summary>
    public long Seconds => (Ticks - (Days * TimeSpan.TicksPerDay)) / TimeSpan.TicksPerSecond;

    internal long Microseconds => (Ticks - (Days * TimeSpan.TicksPerDay)) % TimeSpan.TicksPerSecond / 10;

    /// <summary>Python's <c>total_seconds()</c>.</summary>
    public double TotalSeconds => (double)Ticks / TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override string ToString()
    {
        if (PeriodText is not null)
        {
            return PeriodText;
        }

        var hh = Seconds / 3600;
        var mm = Seconds / 60 % 60;
        var ss = Seconds % 60;
        var s = string.Create(Inv, $"{hh}:{mm:00}:{ss:00}");
        if (Days != 0)
        {
            s = string.Create(Inv, $"{Days} day{(Math.Abs(Days) != 1 ? "s" : string.Empty)}, ") + s;
        }

        if (Microseconds != 0)
        {
            s += "." + Microseconds.ToString("000000", Inv);
        }

        return s;
    }

    internal string Repr()
    {

        var parts = new List<string>();
        if (Days != 0)
        {
            parts.Add(string.Create(Inv, $"days={Days}"));
        }

        if (Seconds != 0)
        {
            parts.Add(string.Create(Inv, $"seconds={Seconds}"));
        }

        if (Microseconds != 0)
        {
            parts.Add(string.Create(Inv, $"microseconds={Microseconds}"));
        }

        return parts.Count == 0 ? "datetime.timedelta(0)" : $"datetime.timedelta({string.Join(", ", parts)})";
    }
}
