using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Variables;

namespace Sirocco.Templating;

/// <summary>
/// What the Airflow template context is built from: one task try of one DAG run. The scheduler maps its model onto
/// this record; nothing here depends on the DAG model types.
/// </summary>
public sealed record AirflowContextInput
{
    /// <summary>The DAG id.</summary>
    public required string DagId { get; init; }

    /// <summary>The task id.</summary>
    public required string TaskId { get; init; }

    /// <summary>The DAG run id, e.g. <c>scheduled__2024-03-15T00:00:00+00:00</c>.</summary>
    public required string RunId { get; init; }

    /// <summary>The run type: <c>scheduled</c>, <c>manual</c> or <c>backfill</c>.</summary>
    public string RunType { get; init; } = "scheduled";

    /// <summary>The run's logical date (Airflow's execution date).</summary>
    public required DateTimeOffset LogicalDate { get; init; }

    /// <summary>Start of the data interval; the logical date when not given.</summary>
    public DateTimeOffset? DataIntervalStart { get; init; }

    /// <summary>End of the data interval; the logical date when not given.</summary>
    public DateTimeOffset? DataIntervalEnd { get; init; }

    /// <summary>The logical date of the previous scheduled run (<c>prev_ds</c>); null when there is none.</summary>
    public DateTimeOffset? PrevLogicalDate { get; init; }

    /// <summary>The logical date of the next scheduled run (<c>next_ds</c>); null when there is none.</summary>
    public DateTimeOffset? NextLogicalDate { get; init; }

    /// <summary>Data interval start of the previous successful run.</summary>
    public DateTimeOffset? PrevDataIntervalStartSuccess { get; init; }

    /// <summary>Data interval end of the previous successful run.</summary>
    public DateTimeOffset? PrevDataIntervalEndSuccess { get; init; }

    /// <summary>Start date of the previous successful run.</summary>
    public DateTimeOffset? PrevStartDateSuccess { get; init; }

    /// <summary>End date of the previous successful run.</summary>
    public DateTimeOffset? PrevEndDateSuccess { get; init; }

    /// <summary>When the DAG run started.</summary>
    public DateTimeOffset? DagRunStartDate { get; init; }

    /// <summary>The try number, from 1.</summary>
    public int TryNumber { get; init; } = 1;

    /// <summary>The map index of a mapped task, -1 otherwise.</summary>
    public int MapIndex { get; init; } = -1;

    /// <summary>The task instance state shown by <c>ti.state</c>.</summary>
    public string State { get; init; } = "running";

    /// <summary>Whether the run was triggered by hand or API rather than by the schedule.</summary>
    public bool ExternalTrigger { get; init; }

    /// <summary>True under <c>tasks test</c>.</summary>
    public bool TestMode { get; init; }

    /// <summary>The DAG's params merged with the run's (values as accepted by <see cref="TemplateContext.Set"/>).</summary>
    public IReadOnlyDictionary<string, object?>? Params { get; init; }

    /// <summary>The DAG run's <c>conf</c>.</summary>
    public IReadOnlyDictionary<string, object?>? DagRunConf { get; init; }

    /// <summary>The operator's class name, shown by <c>{{ task }}</c> (e.g. <c>KubernetesPodOperator</c>).</summary>
    public string OperatorName { get; init; } = "BaseOperator";

    /// <summary>The task's owner.</summary>
    public string Owner { get; init; } = "airflow";

    /// <summary>More attributes of <c>dag</c> (e.g. <c>description</c>, <c>tags</c>), by Airflow's snake_case names.</summary>
    public IReadOnlyDictionary<string, object?>? DagAttributes { get; init; }

    /// <summary>More attributes of <c>task</c> (e.g. <c>retries</c>, <c>queue</c>), by Airflow's snake_case names.</summary>
    public IReadOnlyDictionary<string, object?>? TaskAttributes { get; init; }

    /// <summary>More top-level keys (a callback's <c>reason</c> and <c>exception</c>), strings or null.</summary>
    public IReadOnlyDictionary<string, string?>? Extra { get; init; }
}

/// <summary>Reads XComs for <c>ti.xcom_pull</c>.</summary>
public interface IXComReader
{
    /// <summary>
    /// The value pushed by <paramref name="taskId"/> under <paramref name="key"/> in the run (null when there is none).
    /// A JSON value (<see cref="System.Text.Json.JsonElement"/>) or any value <see cref="TemplateContext.Set"/> accepts.
    /// </summary>
    /// <param name="dagId">The DAG id (the current DAG unless the template names another).</param>
    /// <param name="runId">The DAG run id.</param>
    /// <param name="taskId">The task that pushed the value; null (no <c>task_ids</c> given) means any task of the run,
    /// the most recent value first, as Airflow does.</param>
    /// <param name="key">The XCom key; <c>return_value</c> by default.</param>
    object? Pull(string dagId, string runId, string? taskId, string key);
}

/// <summary>The services the Airflow context reads through; any left null makes its part of the context fail clearly.</summary>
public sealed record AirflowServices
{
    /// <summary>The configuration behind <c>conf.get</c>.</summary>
    public SiroccoConfig? Config { get; init; }

    /// <summary>Variables behind <c>var.value</c> and <c>var.json</c>.</summary>
    public VariableAccessor? Variables { get; init; }

    /// <summary>Connections behind <c>conn</c>.</summary>
    public ConnectionAccessor? Connections { get; init; }

    /// <summary>XComs behind <c>ti.xcom_pull</c>.</summary>
    public IXComReader? XComs { get; init; }

    /// <summary>The clock behind <c>macros.datetime.now()</c> and <c>macros.time.time()</c>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
