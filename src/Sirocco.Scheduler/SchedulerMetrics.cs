using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>
/// The scheduler's metrics (System.Diagnostics.Metrics), named as Airflow names them with its <c>airflow.</c> prefix:
/// <c>airflow.ti.start</c>, <c>airflow.ti.finish</c>, <c>airflow.ti_successes</c>, <c>airflow.ti_failures</c>,
/// <c>airflow.dagrun.duration.success|failed</c>, <c>airflow.scheduler_heartbeat</c>, the executor gauges
/// <c>airflow.executor.running_tasks|queued_tasks|open_slots</c>, the pool gauges
/// <c>airflow.pool.open_slots|queued_slots|running_slots|scheduled_slots</c> (tag <c>pool_name</c>, counted over every
/// scheduler of the database) and the DAG-file gauges <c>airflow.dag_processing.import_errors</c>,
/// <c>airflow.dag_processing.total_parse_time</c> and <c>airflow.dagbag_size</c>. Any exporter that listens to the meter
/// <see cref="MeterName"/> sees them (the web server serves them to Prometheus at <c>/metrics</c>). Traces of DAG runs
/// and tries go to the activity source of the same name.
/// </summary>
public static class SchedulerMetrics
{
    /// <summary>The meter (and activity source) every Sirocco scheduler reports on.</summary>
    public const string MeterName = "Sirocco.Scheduler";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ActivitySource Activities = new(MeterName);
    private static readonly ConcurrentDictionary<SiroccoScheduler, bool> Live = new();

    private static readonly Counter<long> TiStart = Meter.CreateCounter<long>("airflow.ti.start", description: "Tries started");
    private static readonly Counter<long> TiFinish = Meter.CreateCounter<long>("airflow.ti.finish", description: "Tries finished, by state");
    private static readonly Counter<long> TiSuccesses = Meter.CreateCounter<long>("airflow.ti_successes", description: "Task instances that succeeded");
    private static readonly Counter<long> TiFailures = Meter.CreateCounter<long>("airflow.ti_failures", description: "Task instances that failed (retries not counted)");
    private static readonly Counter<long> Heartbeat = Meter.CreateCounter<long>("airflow.scheduler_heartbeat", description: "Scheduler heartbeats");
    private static readonly Histogram<double> RunSuccess = Meter.CreateHistogram<double>("airflow.dagrun.duration.success", "ms", "Duration of DAG runs that succeeded");
    private static readonly Histogram<double> RunFailed = Meter.CreateHistogram<double>("airflow.dagrun.duration.failed", "ms", "Duration of DAG runs that failed");
    private static readonly ObservableGauge<long>[] PoolGauges;

    private static IReadOnlyList<(string Pool, long Open, long Queued, long Running, long Scheduled)> _pools = [];
    private static ParseStats? _parse; // replaced whole, so a reader never sees half of one parse and half of another

    static SchedulerMetrics()
    {
        Meter.CreateObservableGauge("airflow.executor.running_tasks", () => (long)Live.Keys.Sum(s => s.RunningTries), description: "Tries running");
        Meter.CreateObservableGauge("airflow.executor.queued_tasks", () => (long)Live.Keys.Sum(s => s.QueuedTries), description: "Task instances queued");
        Meter.CreateObservableGauge("airflow.executor.open_slots", () => (long)Live.Keys.Sum(s => Math.Max(0, s.Parallelism - s.RunningTries)), description: "Free slots of [core] parallelism");
        PoolGauges =
        [
            Meter.CreateObservableGauge("airflow.pool.open_slots", () => PoolMeasurements(p => p.Open), description: "Free slots of each pool"),
            Meter.CreateObservableGauge("airflow.pool.queued_slots", () => PoolMeasurements(p => p.Queued), description: "Slots of each pool taken by queued task instances"),
            Meter.CreateObservableGauge("airflow.pool.running_slots", () => PoolMeasurements(p => p.Running), description: "Slots of each pool taken by running task instances"),
            Meter.CreateObservableGauge("airflow.pool.scheduled_slots", () => PoolMeasurements(p => p.Scheduled), description: "Slots wanted by scheduled task instances of each pool"),
        ];
        Meter.CreateObservableGauge("airflow.dag_processing.import_errors", () => Parse(p => (double)p.Errors), description: "DAG files that failed to load in the latest parse");
        Meter.CreateObservableGauge("airflow.dag_processing.total_parse_time", () => Parse(p => p.ParseSeconds), "s", "Seconds the latest parse of the dags folder took");
        Meter.CreateObservableGauge("airflow.dagbag_size", () => Parse(p => (double)p.Dags), description: "DAGs loaded in the latest parse");
    }

    /// <summary>Whether anything listens to the pool gauges (the scheduler reads pool usage from the store only then).</summary>
    internal static bool PoolsObserved => PoolGauges.Any(g => g.Enabled);

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

    internal static void RunFinished(DagRun run, Activity? span)
    {
        if (run.StartDate is { } start && run.EndDate is { } end)
        {
            (run.State == DagRunState.Success ? RunSuccess : RunFailed).Record((end - start).TotalMilliseconds, new KeyValuePair<string, object?>("dag_id", run.DagId));
        }

        if (span is not null)
        {
            span.SetTag("airflow.dag_run.state", run.State.ToName());
            if (run.State != DagRunState.Success)
            {
                span.SetStatus(ActivityStatusCode.Error, "DAG run " + run.State.ToName());
            }

            if (run.EndDate is { } ended && ended.UtcDateTime >= span.StartTimeUtc)
            {
                span.SetEndTime(ended.UtcDateTime);
            }

            span.Stop();
        }
    }

    internal static void Beat() => Heartbeat.Add(1);

    /// <summary>The latest pool usage, with the default pool's size when no row defines it.</summary>
    internal static void SetPools(IEnumerable<PoolStats> pools, int defaultPoolSlots) =>
        _pools = [.. pools.Select(p =>
        {
            var size = p.Slots ?? (p.Name == Pool.DefaultName ? defaultPoolSlots : 0);
            var open = size < 0 ? long.MaxValue : Math.Max(0, size - p.Running - p.Queued);
            return (p.Name, open, (long)p.Queued, (long)p.Running, (long)p.Scheduled);
        })];

    internal static void Parsed(int importErrors, TimeSpan took, int dags) => Volatile.Write(ref _parse, new ParseStats(importErrors, took.TotalSeconds, dags));

    /// <summary>
    /// The span of a DAG run (named by its DAG id, as Airflow names it), started at the run's start, kept by the
    /// scheduler that holds the run and ended when the run ends; null when no tracer listens. It does not become the
    /// ambient activity.
    /// </summary>
    internal static Activity? StartRunSpan(DagRun run, DateTimeOffset now)
    {
        if (!Activities.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            return Activities.StartActivity(
                run.DagId,
                ActivityKind.Internal,
                parentContext: default,
                tags: [new("airflow.dag_run.dag_id", run.DagId), new("airflow.dag_run.run_id", run.RunId), new("airflow.dag_run.run_type", run.RunType.ToString().ToLowerInvariant())],
                startTime: (run.StartDate ?? now).UtcDateTime);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    /// <summary>The span of one try (named by its task id), a child of its run's span; the try's pod span is its child.</summary>
    internal static Activity? StartTrySpan(Activity? runSpan, TaskInstance ti) =>
        Activities.StartActivity(
            ti.TaskId,
            ActivityKind.Internal,
            parentContext: runSpan?.Context ?? default,
            tags:
            [
                new("airflow.task_instance.dag_id", ti.DagId),
                new("airflow.task_instance.task_id", ti.TaskId),
                new("airflow.task_instance.run_id", ti.RunId),
                new("airflow.task_instance.map_index", ti.MapIndex),
                new("airflow.task_instance.try_number", ti.TryNumber),
            ]);

    internal static void EndTrySpan(Activity? span, TryResult result)
    {
        if (span is null)
        {
            return;
        }

        span.SetTag("airflow.task_instance.result", result.ToString().ToLowerInvariant());
        if (result == TryResult.Failed)
        {
            span.SetStatus(ActivityStatusCode.Error, "try failed");
        }
    }

    private static IEnumerable<Measurement<long>> PoolMeasurements(Func<(string Pool, long Open, long Queued, long Running, long Scheduled), long> value) =>
        _pools.Select(p => new Measurement<long>(value(p), new KeyValuePair<string, object?>("pool_name", p.Pool)));

    private static IEnumerable<Measurement<double>> Parse(Func<ParseStats, double> value) =>
        Volatile.Read(ref _parse) is { } p ? [new Measurement<double>(value(p))] : [];

    private sealed record ParseStats(long Errors, double ParseSeconds, long Dags);

    private static TagList Tags(TaskInstance ti) => new() { { "dag_id", ti.DagId }, { "task_id", ti.TaskId } };
}
