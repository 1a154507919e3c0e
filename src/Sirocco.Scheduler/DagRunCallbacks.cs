using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>
/// A DAG's <c>on_success_callback</c> / <c>on_failure_callback</c>, run once when one of its runs ends. The scheduler
/// asks when it decides the run's state and starts them after that state is written, so a run whose end lost to another
/// writer (the scheduler that finished it, a user who cleared it) calls nothing. Each callback runs in the context of
/// the run's last task instance (the last failed one for a failure), as Airflow's, with <c>reason</c> set; it is
/// bounded by ten minutes, written to the run's callback log and the scheduler's log, and changes nothing if it fails.
/// </summary>
internal sealed class DagRunCallbacks
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10); // each callback's, in TryRunner.RunCallbackAsync
    private readonly IMetadataStore _store;
    private readonly SchedulerServices _services;
    private readonly ITaskRenderer? _renderer;
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly List<Asked> _requested = [];
    private readonly HashSet<Task> _running = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();

    public DagRunCallbacks(IMetadataStore store, SchedulerServices services, ITaskRenderer? renderer, SchedulerOptions options, TimeProvider time, ILogger log)
    {
        _store = store;
        _services = services;
        _renderer = renderer;
        _options = options;
        _time = time;
        _log = log;
    }

    /// <summary>
    /// Asks for the callbacks of a run that just ended (nothing when its DAG has none of that kind).
    /// <paramref name="reason"/> is Airflow's: <c>success</c>, <c>task_failure</c> or <c>timed_out</c>.
    /// </summary>
    public void Request(Dag dag, DagRun run, string reason, IEnumerable<TaskInstance> tis)
    {
        var kind = run.State == DagRunState.Success ? "on_success_callback" : "on_failure_callback";
        if (!dag.DagCallbacks.TryGetValue(kind, out var callbacks) || callbacks.Count == 0)
        {
            return;
        }

        // Airflow gives the callback the context of a task instance of the run: the last to fail, else the last to end.
        var ended = tis.Where(t => t.State != TaskInstanceState.Removed).OrderBy(t => t.EndDate ?? DateTimeOffset.MinValue).ToList();
        var ti = (run.State == DagRunState.Failed ? ended.LastOrDefault(t => t.State is TaskInstanceState.Failed) : null) ?? ended.LastOrDefault();
        if (ti is null)
        {
            return;
        }

        _requested.Add(new Asked(dag, run, kind, reason, ti, callbacks));
    }

    /// <summary>Forgets the requests of a run whose end was not written (another writer won).</summary>
    public void Drop(string dagId, string runId) => _requested.RemoveAll(r => r.Run.DagId == dagId && r.Run.RunId == runId);

    /// <summary>Starts what was asked for; called once the runs' end states are written.</summary>
    public void StartRequested()
    {
        foreach (var request in _requested)
        {
            var task = RunAsync(request);
            lock (_lock)
            {
                _running.Add(task);
            }

            _ = task.ContinueWith(
                t =>
                {
                    lock (_lock)
                    {
                        _running.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        _requested.Clear();
    }

    /// <summary>Waits for the running callbacks; with <paramref name="stop"/>, tells them to stop first (shutdown).</summary>
    public async Task WaitAsync(bool stop)
    {
        if (stop)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        Task[] running;
        lock (_lock)
        {
            running = [.. _running];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(stop ? TimeSpan.FromSeconds(30) : Limit + TimeSpan.FromMinutes(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A callback that ignores cancellation is abandoned; its failure was logged by its own task.
        }
    }

    private async Task RunAsync(Asked request)
    {
        await Task.Yield();
        var (dag, run, kind, reason, ti, callbacks) = request;
        var path = Path.Combine(_options.LogFolder, dag.DagId, ".dag_callbacks", AirflowTime.IsoFormat(run.LogicalDate.ToUniversalTime()) + ".log");
        using var log = new TaskLogWriter(path, _services.Masker, _time, _options.LogEcho is { } echo ? line => echo($"{kind}: {line}") : null);
        var context = new TaskExecutionContext
        {
            DagRun = run,
            TaskInstance = ti,
            Log = log.Info,
            Recorder = new RunXComs(_store, dag, run.RunId),
            Config = _services.Config,
            Connections = _services.Connections,
            Variables = _services.Variables,
            Masker = _services.Masker,
            Time = _time,
            DagFolder = dag.FileLoc is { } f ? Path.GetDirectoryName(f) : null,
            Shutdown = _stop.Token,
            Services = _services.Runtime,
            Dag = dag,
        }.ForCallback(kind, exception: null, reason);
        foreach (var callback in callbacks)
        {
            log.Info($"Running {kind} {callback.TaskId} of DAG {dag.DagId} for run {run.RunId} ({run.State.ToName()}, reason {reason}) in the context of {ti.TaskId}");
            var render = _renderer is null ? null : new Func<BaseOperator, BaseOperator>(op => _renderer.Render(op, new RenderRequest(dag, run, ti, _services, _store, _time) { Extra = TryRunner.CallbackKeys(context) }).Task);
            var failure = await TryRunner.RunCallbackAsync(callback, kind, context, log, _time, render, _stop.Token).ConfigureAwait(false);
            SchedulerLog.DagCallbackEnded(_log, kind, callback.TaskId, run.DagId, run.RunId, failure is null ? "finished" : "failed: " + failure);
        }
    }

    private sealed record Asked(Dag Dag, DagRun Run, string Kind, string Reason, TaskInstance Ti, IList<BaseOperator> Callbacks);

    /// <summary>Reads the run's XComs (ForCallback wraps it so that the callback records nothing).</summary>
    private sealed class RunXComs(IMetadataStore store, Dag dag, string runId) : ITaskTryRecorder
    {
        public Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<JsonElement?> PullXComAsync(string taskId, string key, CancellationToken cancellationToken) =>
            MapExpansion.PullAsync(store, dag, runId, taskId, key, cancellationToken);

        public Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
