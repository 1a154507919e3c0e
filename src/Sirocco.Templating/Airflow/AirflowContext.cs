using Sirocco.Templating.Airflow;
using Sirocco.Templating.Expressions;

namespace Sirocco.Templating;

/// <summary>Builds Airflow's template context (<c>ds</c>, <c>ti</c>, <c>var</c>, <c>conn</c>, <c>conf</c>, <c>macros</c> and the rest).</summary>
public static class AirflowContext
{
    /// <summary>The context for one task try.</summary>
    /// <param name="input">The run and task the context describes.</param>
    /// <param name="services">Configuration, Variables, Connections and XComs the context reads through.</param>
    public static TemplateContext Build(AirflowContextInput input, AirflowServices services)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(services);
        var logical = Date(input.LogicalDate);
        var start = Date(input.DataIntervalStart ?? input.LogicalDate);
        var end = Date(input.DataIntervalEnd ?? input.LogicalDate);
        var ds = logical.Strftime("%Y-%m-%d");
        var dsNodash = logical.Strftime("%Y%m%d");
        var ts = logical.IsoFormat();
        var yesterday = logical.Add(-TimeSpan.TicksPerDay);
        var tomorrow = logical.Add(TimeSpan.TicksPerDay);
        var prev = input.PrevLogicalDate is { } p ? Date(p) : null;
        var next = input.NextLogicalDate is { } n ? Date(n) : null;
        var @params = ToDict(input.Params);

        var dag = new AttributeObject("DAG", $"<DAG: {input.DagId}>", Attributes(input.DagAttributes, new()
        {
            ["dag_id"] = input.DagId,
            ["params"] = @params,
            ["owner"] = input.Owner,
        }));
        var task = new AttributeObject(input.OperatorName, $"<Task({input.OperatorName}): {input.TaskId}>", Attributes(input.TaskAttributes, new()
        {
            ["task_id"] = input.TaskId,
            ["dag_id"] = input.DagId,
            ["owner"] = input.Owner,
            ["dag"] = dag,
        }));
        var ti = new TaskInstanceObject(input, services.XComs, task);
        var dagRun = new AttributeObject("DagRun", $"<DagRun {input.DagId} @ {ts}: {input.RunId}, state:running, queued_at: None. externally triggered: {(input.ExternalTrigger ? "True" : "False")}>", new(StringComparer.Ordinal)
        {
            ["dag_id"] = input.DagId,
            ["run_id"] = input.RunId,
            ["run_type"] = input.RunType,
            ["conf"] = ToDict(input.DagRunConf),
            ["logical_date"] = logical,
            ["execution_date"] = logical,
            ["data_interval_start"] = start,
            ["data_interval_end"] = end,
            ["external_trigger"] = input.ExternalTrigger,
            ["start_date"] = input.DagRunStartDate is { } sd ? Date(sd) : null,
        });

        var values = new Dictionary<string, object?>(64, StringComparer.Ordinal)
        {
            ["dag"] = dag,
            ["task"] = task,
            ["ti"] = ti,
            ["task_instance"] = ti,
            ["dag_run"] = dagRun,
            ["run_id"] = input.RunId,
            ["params"] = @params,
            ["test_mode"] = input.TestMode,
            ["logical_date"] = logical,
            ["execution_date"] = logical,
            ["data_interval_start"] = start,
            ["data_interval_end"] = end,
            ["ds"] = ds,
            ["ds_nodash"] = dsNodash,
            ["ts"] = ts,
            ["ts_nodash"] = logical.Strftime("%Y%m%dT%H%M%S"),
            ["ts_nodash_with_tz"] = ts.Replace("-", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal),
            ["yesterday_ds"] = yesterday.Strftime("%Y-%m-%d"),
            ["yesterday_ds_nodash"] = yesterday.Strftime("%Y%m%d"),
            ["tomorrow_ds"] = tomorrow.Strftime("%Y-%m-%d"),
            ["tomorrow_ds_nodash"] = tomorrow.Strftime("%Y%m%d"),
            ["prev_ds"] = prev?.Strftime("%Y-%m-%d"),
            ["prev_ds_nodash"] = prev?.Strftime("%Y%m%d"),
            ["prev_execution_date"] = prev,
            ["next_ds"] = next?.Strftime("%Y-%m-%d"),
            ["next_ds_nodash"] = next?.Strftime("%Y%m%d"),
            ["next_execution_date"] = next,
            ["prev_data_interval_start_success"] = Date(input.PrevDataIntervalStartSuccess),
            ["prev_data_interval_end_success"] = Date(input.PrevDataIntervalEndSuccess),
            ["prev_start_date_success"] = Date(input.PrevStartDateSuccess),
            ["prev_end_date_success"] = Date(input.PrevEndDateSuccess),
            ["prev_execution_date_success"] = Date(input.PrevDataIntervalStartSuccess),
            ["task_instance_key_str"] = $"{input.DagId}__{input.TaskId}__{dsNodash}",
            ["var"] = new VarObject(services.Variables),
            ["conn"] = new ConnObject(services.Connections),
            ["conf"] = new ConfObject(services.Config),
            ["macros"] = MacrosFor.GetValue(services.Time, time => new MacrosObject(time)),
            ["map_index_template"] = null,
            ["expanded_ti_count"] = null,
            ["inlets"] = new List<object?>(),
            ["outlets"] = new List<object?>(),
            ["templates_dict"] = null,
        };
        foreach (var (key, value) in input.Extra ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        return new TemplateContext(values);
    }

    /// <summary>The macros object holds no per-run state, so one serves every context with the same clock.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TimeProvider, MacrosObject> MacrosFor = [];

    private static PyDateTime Date(DateTimeOffset value) => PyDateTime.FromOffset(value.ToUniversalTime(), pendulum: true);

    private static PyDateTime? Date(DateTimeOffset? value) => value is { } v ? Date(v) : null;

    private static PyDict ToDict(IReadOnlyDictionary<string, object?>? values)
    {
        var d = new PyDict();
        if (values is not null)
        {
            foreach (var (k, v) in values)
            {
                d[k] = Convert(v);
            }
        }

        return d;
    }

    private static object? Convert(object? value)
    {
        try
        {
            return PyOps.FromDotNet(value);
        }
        catch (PyException e)
        {
            throw new ArgumentException(e.Message, nameof(value), e);
        }
    }

    private static Dictionary<string, object?> Attributes(IReadOnlyDictionary<string, object?>? extra, Dictionary<string, object?> fixedOnes)
    {
        var all = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                all[k] = Convert(v);
            }
        }

        foreach (var (k, v) in fixedOnes)
        {
            all[k] = v;
        }

        return all;
    }
}
