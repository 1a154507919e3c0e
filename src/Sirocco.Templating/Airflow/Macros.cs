using System.Globalization;
using System.Text;
using Sirocco.Templating.Expressions;
using Sirocco.Templating.Jinja;

namespace Sirocco.Templating.Airflow;

/// <summary>Airflow's <c>macros</c>: <c>ds_add</c>, <c>ds_format</c>, <c>datetime</c>, <c>timedelta</c>, <c>time</c>, <c>uuid</c>, <c>random</c>, <c>json</c>.</summary>
internal sealed class MacrosObject : IPyObject
{
    private readonly Dictionary<string, object?> _members;

    public MacrosObject(TimeProvider time)
    {
        _members = new(StringComparer.Ordinal)
        {
            ["ds_add"] = new PyFunction("ds_add", DsAdd),
            ["ds_format"] = new PyFunction("ds_format", DsFormat),
            ["datetime"] = new DateTimeClass(time),
            ["timedelta"] = new PyFunction("timedelta", PyTimeDelta.FromArgs),
            ["time"] = new AttributeObject("module", "<module 'time'>", new(StringComparer.Ordinal)
            {
                ["time"] = new PyFunction("time", _ => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond),
            }),
            ["uuid"] = new AttributeObject("module", "<module 'uuid'>", new(StringComparer.Ordinal)
            {
                ["uuid4"] = new PyFunction("uuid4", _ => new UuidObject(Guid.NewGuid())),
            }),
            ["random"] = new PyFunction("random", _ => Random.Shared.NextDouble()),
            ["json"] = new AttributeObject("module", "<module 'json'>", new(StringComparer.Ordinal)
            {
                ["dumps"] = new PyFunction("dumps", Dumps),
                ["loads"] = new PyFunction("loads", Loads),
            }),
        };
    }

    public string TypeName => "module";

    public bool TryGetAttr(string name, out object? value) => _members.TryGetValue(name, out value);

    public override string ToString() => "<module 'airflow.macros'>";

    /// <summary>The days from 0001-01-01 to 9999-12-31.</summary>
    private const long MaxDays = 3_652_058;

    private static object? DsAdd(CallArgs a)
    {
        var ds = PyOps.Str(a.Required(0, "ds", "ds_add"));
        var days = PyOps.ToLong(a.Required(1, "days", "ds_add"));
        if (days == 0)
        {
            return ds;
        }

        // More days than the calendar spans (years 1 to 9999) cannot give a date, and their ticks would overflow.
        if (days is > MaxDays or < -MaxDays)
        {
            throw new PyException("date value out of range");
        }

        var date = PyDateTime.Strptime(ds, "%Y-%m-%d");
        return date.Add(days * TimeSpan.TicksPerDay).Strftime("%Y-%m-%d");
    }

    private static object? DsFormat(CallArgs a)
    {
        var ds = PyOps.Str(a.Required(0, "ds", "ds_format"));
        var input = PyOps.Str(a.Required(1, "input_format", "ds_format"));
        var output = PyOps.Str(a.Required(2, "output_format", "ds_format"));
        return PyDateTime.Strptime(ds, input).Strftime(output);
    }

    private static object? Dumps(CallArgs a)
    {
        var sb = new StringBuilder();
        var indent = a.Get(1, "indent");
        JinjaFilters.WriteJson(sb, a.Required(0, "obj", "dumps"), indent is null ? -1 : (int)Math.Min(64, PyOps.ToLong(indent)), 0, PyOps.Truthy(a.Get(-1, "sort_keys", false)));
        Budget.Charge(sb.Length);
        return sb.ToString();
    }

    private static object? Loads(CallArgs a)
    {
        var text = PyOps.Str(a.Required(0, "s", "loads"));
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            return PyOps.FromJson(doc.RootElement);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new PyException($"Expecting value: {e.Message}", e);
        }
    }
}

/// <summary>Python's <c>datetime.datetime</c> class: callable, with <c>now</c>, <c>utcnow</c>, <c>strptime</c>, <c>fromisoformat</c>.</summary>
public sealed class DateTimeClass(TimeProvider time) : IPyObject, IPyCallable
{
    /// <inheritdoc />
    public string TypeName => "type";

    /// <inheritdoc />
    public object? Invoke(CallArgs a)
    {
        int Part(int i, string name, int dflt) => (int)Math.Clamp(PyOps.ToLong(a.Get(i, name, (long)dflt)), int.MinValue, int.MaxValue);
        try
        {
            var wall = new DateTime(
                Part(0, "year", -1), Part(1, "month", -1), Part(2, "day", -1), Part(3, "hour", 0), Part(4, "minute", 0), Part(5, "second", 0))
                .AddTicks(Part(6, "microsecond", 0) * 10L);
            return new PyDateTime(wall, null, false);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new PyException("year, month or day is out of range", e);
        }
    }

    /// <inheritdoc />
    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "now" => new PyFunction(name, _ => new PyDateTime(time.GetLocalNow().DateTime, null, false)),
            "utcnow" => new PyFunction(name, _ => new PyDateTime(time.GetUtcNow().UtcDateTime, null, false)),
            "strptime" => new PyFunction(name, a => PyDateTime.Strptime(PyOps.Str(a.Required(0, "date_string", name)), PyOps.Str(a.Required(1, "format", name)))),
            "fromisoformat" => new PyFunction(name, a => FromIso(PyOps.Str(a.Required(0, "date_string", name)))),
            _ => null,
        };
        return value is not null;
    }

    private static PyDateTime FromIso(string text)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dto)
            && (text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > 9))
        {
            return PyDateTime.FromOffset(dto, pendulum: false);
        }

        return DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dt)
            ? new PyDateTime(dt, null, false)
            : throw new PyException($"Invalid isoformat string: {PyOps.Repr(text)}");
    }

    /// <inheritdoc />
    public override string ToString() => "<class 'datetime.datetime'>";
}

/// <summary>A <c>uuid.UUID</c>.</summary>
internal sealed class UuidObject(Guid value) : IPyObject
{
    public string TypeName => "UUID";

    public bool TryGetAttr(string name, out object? result)
    {
        result = name == "hex" ? value.ToString("N") : null;
        return result is not null;
    }

    public override string ToString() => value.ToString("D");
}
