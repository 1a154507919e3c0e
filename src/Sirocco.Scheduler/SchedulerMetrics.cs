using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sirocco.Scheduler;

/// <summary>
/// The scheduler's metrics (System.Diagnostics.Metrics), named as Airflow names them with its <c>airflow.</c> prefix:
/// <c>airflow.ti.start</c>, <c>airflow.ti.finish</c>, <c>airflow.ti_successes</c>, <c>airflow.ti_failures</c>,
/// <c>airflow.dagrun.duration.success|failed</c>, <c>airflow.scheduler_heartbeat</c> and the executor gauges
/// <c>airflow.executor.running_tasks|queued_tasks|open_slots</c>. Any exporter that listens to the meter
/// <see cref="MeterName"/> sees them (the web server serves them to Prometheus at <c>/metrics</c>).
/// </summary>
public static class SchedulerMetrics
{
    /// <summary>The meter every Sirocco scheduler reports on.</summary>
    public const string MeterName = "Sirocco.Scheduler";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<SiroccoScheduler, bool> Live = new();

    private static readonly Counter<long> TiStart = Meter.CreateCounter<long>("airflow.ti.start", description: "Tries started");
    private static readonly Counter<long> TiFinish = Meter.CreateCounter<long>("airflow.ti.finish", description: "Tries finished, by state");
    private static readonly Counter<long> TiSuccesses = Meter.CreateCounter<long>("airflow.ti_successes", description: "Task instances that succeeded");
    private static readonly Counter<long> TiFailures = Meter.CreateCounter<long>("airflow.ti_failures", description: "Task instances that failed (retries not counted)");
    private static readonly Counter<long> Heartbeat = Meter.CreateCounter<long>("airflow.scheduler_heartbeat", description: "Scheduler heartbeats");
    private static readonly Histogram<double> RunSuccess = Meter.CreateHistogram<double>("airflow.dagrun.duration.success", "ms", "Duration of DAG runs that succeeded");
    private static readonly Histogram<double> RunFailed = Meter.CreateHistogram<double>("airflow.dagrun.duration.failed", "ms", "Duration of DAG runs that failed");

    static SchedulerMetrics()
    {
        Meter.CreateObservableGauge("airflow.executor.running_tasks", () => (long)Live.Keys.Sum(s => s.RunningTries), description: "Tries running");
        Meter.CreateObservableGauge("airflow.executor.queued_tasks", () => (long)Live.Keys.Sum(s => s.QueuedTries), description: "Task instances queued");
        Meter.CreateObservableGauge("airflow.executor.open_slots", () => (long)Live.Keys.Sum(s => Math.Max(0, s.Parallelism - s.RunningTries)), description: "Free slots of [core] parallelism");
    }

    internal static void Register(SiroccoScheduler scheduler) => Live[scheduler] = true;

    internal static void Unregister(SiroccoScheduler scheduler) => Live.TryRemove(scheduler, out _);

    internal static void TryStarted(TaskInstance ti) => TiStart.Add(1, Tags(ti));

    internal static void TryFinished(TaskInstance ti, TaskInstanceState state)
    {
        TiFinish.Add(1, new TagList { { "dag_id", ti.DagId }, { "task_id", ti.TaskId }, { "state", state.ToName() } });
        if (state == TaskInstanceState.Success)
        {
            TiSuccesses.Add(1, Tags(ti));
        }
        else if (state == TaskInstanceState.Failed)
        {
            TiFailures.Add(1, Tags(ti));
        }
    }

    internal static void RunFinished(DagRun run)
    {
        if (run.StartDate is { } start && run.EndDate is { } end)
        {
            (run.State == DagRunState.Success ? RunSuccess : RunFailed).Record((end - start).TotalMilliseconds, new KeyValuePair<string, object?>("dag_id", run.DagId));
        }
    }

    internal static void Beat() => Heartbeat.Add(1);

    private static TagList Tags(TaskInstance ti) => new() { { "dag_id", ti.DagId }, { "task_id", ti.TaskId } };
}
