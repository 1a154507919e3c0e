using Cronos;

namespace Sirocco.Scheduling;

/// <summary>
/// When a DAG runs, with Airflow 2's data-interval semantics: a timedelta, a cron expression in a time zone, a preset
/// (<c>@once</c>, <c>@hourly</c>, <c>@daily</c>, <c>@weekly</c>, <c>@monthly</c>, <c>@quarterly</c>, <c>@yearly</c>),
/// or none (manual runs only). A <see cref="TimeSpan"/> or a string converts implicitly.
/// </summary>
public abstract class Schedule
{
    private protected Schedule()
    {
    }

    /// <summary>No scheduled runs; the DAG runs only when triggered.</summary>
    public static Schedule None { get; } = new NoSchedule();

    /// <summary>One run, at the start date.</summary>
    public static Schedule Once { get; } = new OnceSchedule();

    /// <summary>
    /// A run each time every one of <paramref name="uris"/> has been updated since the last such run (Airflow's
    /// <c>schedule=[Dataset(...)]</c>, Airflow 3's assets); no runs on a clock.
    /// </summary>
    public static Schedule OnDatasets(IEnumerable<string> uris) => new DatasetSchedule([.. uris]);

    /// <summary>The dataset URIs a dataset schedule waits for; empty for a clock or no schedule.</summary>
    public virtual IReadOnlyList<string> DatasetUris => [];

    /// <summary>A short description as the CLI shows it (<c>1 day, 0:00:00</c>, <c>0 0 * * *</c>, <c>@once</c>, <c>None</c>).</summary>
    public abstract string Description { get; }

    /// <summary>A run every <paramref name="interval"/> counted from the start date (Airflow's timedelta schedule).</summary>
    public static Schedule Every(TimeSpan interval) => new DeltaSchedule(interval);

    /// <summary>A cron expression (five fields) evaluated in <paramref name="timeZone"/> (UTC by default).</summary>
    public static Schedule Cron(string expression, TimeZoneInfo? timeZone = null) =>
        new CronSchedule(expression, expression, timeZone ?? TimeZoneInfo.Utc);

    /// <summary>
    /// Parses a schedule string: a preset, <c>None</c>/empty for no schedule, or a cron expression. The error names
    /// the text.
    /// </summary>
    public static Schedule Parse(string? text, TimeZoneInfo? timeZone = null)
    {
        var tz = timeZone ?? TimeZoneInfo.Utc;
        var t = text?.Trim();
        return t switch
        {
            null or "" or "None" or "none" or "null" => None,
            "@once" => Once,
            "@hourly" => new CronSchedule("@hourly", "0 * * * *", tz),
            "@daily" or "@midnight" => new CronSchedule(t, "0 0 * * *", tz),
            "@weekly" => new CronSchedule("@weekly", "0 0 * * 0", tz),
            "@monthly" => new CronSchedule("@monthly", "0 0 1 * *", tz),
            "@quarterly" => new CronSchedule("@quarterly", "0 0 1 */3 *", tz),
            "@yearly" or "@annually" => new CronSchedule(t, "0 0 1 1 *", tz),
            _ when t.StartsWith('@') => throw new SiroccoException(
                $"unknown schedule preset '{t}'; valid presets: @once, @hourly, @daily, @weekly, @monthly, @quarterly, @yearly"),
            _ => new CronSchedule(t, t, tz),
        };
    }

    /// <summary>A timedelta schedule.</summary>
    public static implicit operator Schedule(TimeSpan interval) => Every(interval);

    /// <summary>A preset or cron schedule in UTC.</summary>
    public static implicit operator Schedule(string text) => Parse(text);

    /// <summary>
    /// The next run after the last scheduled one, as Airflow's timetables decide it. Returns null when no run is due
    /// any more (no schedule, <c>@once</c> done, or past the end date). The caller creates the run once
    /// <see cref="NextRunInfo.RunAfter"/> is not in the future.
    /// </summary>
    /// <param name="lastAutomated">The data interval of the latest scheduled run, or null for the first.</param>
    /// <param name="startDate">The DAG's start date (earliest logical date); null means nothing is scheduled.</param>
    /// <param name="endDate">The DAG's end date; no run starts after it.</param>
    /// <param name="catchup">Whether missed intervals since the start date are run; false jumps to the latest complete one.</param>
    /// <param name="now">The current time.</param>
    public abstract NextRunInfo? Next(DataInterval? lastAutomated, DateTimeOffset? startDate, DateTimeOffset? endDate, bool catchup, DateTimeOffset now);

    /// <summary>The data interval of a run triggered by hand at <paramref name="runAfter"/>.</summary>
    public abstract DataInterval InferManualDataInterval(DateTimeOffset runAfter);

    /// <inheritdoc/>
    public override string ToString() => Description;

    private sealed class NoSchedule : Schedule
    {
        public override string Description => "None";

        public override NextRunInfo? Next(DataInterval? lastAutomated, DateTimeOffset? startDate, DateTimeOffset? endDate, bool catchup, DateTimeOffset now) => null;

        public override DataInterval InferManualDataInterval(DateTimeOffset runAfter) => DataInterval.Exact(runAfter);
    }

    private sealed class DatasetSchedule(IReadOnlyList<string> uris) : Schedule
    {
        public override string Description => "Dataset: " + string.Join(", ", uris);

        public override IReadOnlyList<string> DatasetUris => uris;

        public override NextRunInfo? Next(DataInterval? lastAutomated, DateTimeOffset? startDate, DateTimeOffset? endDate, bool catchup, DateTimeOffset now) => null;

        public override DataInterval InferManualDataInterval(DateTimeOffset runAfter) => DataInterval.Exact(runAfter);
    }

    private sealed class OnceSchedule : Schedule
    {
        public override string Description => "@once";

        public override NextRunInfo? Next(DataInterval? lastAutomated, DateTimeOffset? startDate, DateTimeOffset? endDate, bool catchup, DateTimeOffset now)
        {
            if (lastAutomated is not null || startDate is not { } start || (endDate is { } end && start > end))
            {
                return null;
            }

            return new NextRunInfo(DataInterval.Exact(start), start);
        }

        public override DataInterval InferManualDataInterval(DateTimeOffset runAfter) => DataInterval.Exact(runAfter);
    }
}

/// <summary>A timedelta schedule: intervals of fixed length starting at the start date.</summary>
internal sealed class DeltaSchedule : Schedule
{
    private readonly TimeSpan _delta;

    public DeltaSchedule(TimeSpan delta)
    {
        if (delta <= TimeSpan.Zero)
        {
            throw new SiroccoException($"schedule interval must be positive, got {delta}");
        }

        _delta = delta;
    }

    /// <summary>Python's <c>str(timedelta)</c>: <c>1 day, 0:00:00</c>.</summary>
    public override string Description
    {
        get
        {
            var d = _delta;
            var time = $"{(int)d.Hours}:{d.Minutes:D2}:{d.Seconds:D2}";
            return d.Days switch
            {
                0 => time,
                1 => $"1 day, {time}",
                var n => $"{n} days, {time}",
            };
        }
    }

    public override NextRunInfo? Next(DataInterval? lastAutomated, DateTimeOffset? startDate, DateTimeOffset? endDate, bool catchup, DateTimeOffset now)
    {
        DateTimeOffset start;
        if (lastAutomated is { } last)
        {
            start = catchup ? last.End : Max(last.End, SkipToLatest(startDate, now));
        }
        else if (startDate is null)
        {
            return null;
        }
        else
        {
            start = catchup ? startDate.Value : SkipToLatest(startDate, now);
        }

        if (endDate is { } e && start > e)
        {
            return null;
        }

        var end = start + _delta;
        return new NextRunInfo(new DataInterval(start, end), end);
    }

    public override DataInterval InferManualDataInterval(DateTimeOffset runAfter) => new(runAfter - _delta, runAfter);

    // Without catchup the latest complete interval is the one ending now; never before the start date.
    private DateTimeOffset SkipToLatest(DateTimeOffset? earliest, DateTimeOffset now)
    {
        var latest = now - _delta;
        return earliest is { } e ? Max(latest, e) : latest;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;
}

/// <summary>A cron schedule evaluated in a time zone; intervals run between consecutive cron times.</summary>
internal sealed class CronSchedule : Schedule
{
    private static readonly TimeSpan[] SearchWindows =
        [TimeSpan.FromHours(2), TimeSpan.FromDays(2), TimeSpan.FromDays(40), TimeSpan.FromDays(400), TimeSpan.FromDays(3000)];

    private readonly string _text;
    private readonly CronExpression _cron;
    private readonly TimeZoneInfo _zone;

    public CronSchedule(string text, string expression, TimeZoneInfo zone)
    {
        _text = text;
        _zone = zone;
        try
        {
            _cron = CronExpression.Parse(expression, CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new SiroccoException($"invalid cron expression '{expression}': {e.Message}", e);
        }
    }

    public override string Description => _text;

    public override NextRunInfo? Next(DataInterval? lastAutomated, DateTimeOffset? startDate, DateTimeOffset? endDate, bool catchup, DateTimeOffset now)
    {
        DateTimeOffset start;
        if (lastAutomated is { } last)
        {
            start = AlignToNext(last.End);
            if (!catchup)
            {
                var latest = SkipToLatest(startDate, now);
                start = latest > start ? latest : start;
            }
        }
        else if (startDate is null)
        {
            return null;
        }
        else
        {
            start = catchup ? AlignToNext(startDate.Value) : SkipToLatest(startDate, now);
        }

        if (endDate is { } e && start > e)
        {
            return null;
        }

        var end = NextAfter(start);
        return new NextRunInfo(new DataInterval(start, end), end);
    }

    public override DataInterval InferManualDataInterval(DateTimeOffset runAfter)
    {
        // The last complete interval before the trigger: at 01:00 on the 25th a daily DAG covers the 24th.
        var end = AlignToPrevious(runAfter);
        return new DataInterval(PreviousBefore(end), end);
    }

    // The start of the latest interval that has ended by now, but not before the (aligned) start date.
    private DateTimeOffset SkipToLatest(DateTimeOffset? earliest, DateTimeOffset now)
    {
        var lastEnd = AlignToPrevious(now);
        var newStart = PreviousBefore(lastEnd);
        if (earliest is null)
        {
            return newStart;
        }

        var aligned = AlignToNext(earliest.Value);
        return aligned > newStart ? aligned : newStart;
    }

    // The first cron time at or after t.
    private DateTimeOffset AlignToNext(DateTimeOffset t) =>
        _cron.GetNextOccurrence(t.ToUniversalTime(), _zone, inclusive: true)?.ToUniversalTime() ?? throw NoOccurrence(t);

    private DateTimeOffset NextAfter(DateTimeOffset t) =>
        _cron.GetNextOccurrence(t.ToUniversalTime(), _zone, inclusive: false)?.ToUniversalTime() ?? throw NoOccurrence(t);

    // The last cron time at or before t.
    private DateTimeOffset AlignToPrevious(DateTimeOffset t) => Previous(t, inclusive: true);

    // The last cron time strictly before t.
    private DateTimeOffset PreviousBefore(DateTimeOffset t) => Previous(t, inclusive: false);

    private DateTimeOffset Previous(DateTimeOffset t, bool inclusive)
    {
        // Cronos only searches forward: look back through growing windows for the last occurrence.
        var to = t.ToUniversalTime();
        foreach (var window in SearchWindows)
        {
            DateTimeOffset? found = null;
            foreach (var o in _cron.GetOccurrences(to - window, to, _zone, fromInclusive: true, toInclusive: inclusive))
            {
                found = o;
            }

            if (found is { } f)
            {
                return f.ToUniversalTime();
            }
        }

        throw NoOccurrence(t);
    }

    private SiroccoException NoOccurrence(DateTimeOffset t) =>
        new($"cron expression '{_text}' has no occurrence near {AirflowTime.IsoFormat(t)}");
}
