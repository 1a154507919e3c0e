using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>How a try ended.</summary>
internal enum TryResult
{
    Success,
    Failed,
    Skipped,

    /// <summary>The process is shutting down; the try's work may go on and is resumed after the restart.</summary>
    Interrupted,
}

/// <summary>A finished try, posted back to the scheduler loop.</summary>
internal sealed record TryOutcome(TaskInstance TaskInstance, TryResult Result, string? Message, DateTimeOffset EndDate, string? ExternalId)
{
    /// <summary>A mapped instance's rendered <c>map_index_template</c>, or null.</summary>
    public string? MapIndexName { get; init; }

    /// <summary>Tasks of the run the successful try skips (a branch not taken, a short circuit).</summary>
    public IReadOnlyList<string> SkipTaskIds { get; init; } = [];
}

/// <summary>The production <see cref="ITryExecutor"/>: renders the task, runs its operator, writes the try's log and records its XComs. Never throws.</summary>
internal sealed class TryRunner : ITryExecutor
{
    private readonly IMetadataStore _store;
    private readonly SchedulerServices _services;
    private readonly ITaskRenderer? _renderer;
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;

    public TryRunner(IMetadataStore store, SchedulerServices services, ITaskRenderer? renderer, SchedulerOptions options, TimeProvider time)
    {
        _store = store;
        _services = services;
        _renderer = renderer;
        _options = options;
        _time = time;
    }

    public async Task<TryOutcome> RunAsync(TryRequest request, TryControl control)
    {
        var (_, run, ti, _, _) = request;
        var path = TaskLogPaths.For(_options.LogFolder, ti.DagId, ti.TaskId, run.LogicalDate, ti.TryNumber, ti.MapIndex);
        var logger = _options.LoggerFactory?.CreateLogger("Sirocco.Scheduler") ?? NullLogger.Instance;
        var uploader = RemoteLogUploader.Start(_services.Runtime, path, TaskLogPaths.RemoteName(ti.DagId, ti.TaskId, ti.RunId, ti.TryNumber, ti.MapIndex), _options.RemoteLogUploadInterval, _time, logger);
        try
        {
            return await RunLoggedAsync(request, control, path).ConfigureAwait(false);
        }
        finally
        {
            if (uploader is not null)
            {
                await uploader.FinishAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<TryOutcome> RunLoggedAsync(TryRequest request, TryControl control, string path)
    {
        var (dag, run, ti, resumedExternalId, _) = request;
        var task = dag.GetTask(ti.TaskId);
        using var log = new TaskLogWriter(path, _services.Masker, _time, _options.LogEcho is { } echo ? line => echo($"{ti.TaskId}: {line}") : null);
        var recorder = new Recorder(_store, dag, ti, _time);
        var context = new TaskExecutionContext
        {
            DagRun = run,
            TaskInstance = ti,
            Log = log.Info,
            Recorder = recorder,
            Config = _services.Config,
            Connections = _services.Connections,
            Variables = _services.Variables,
            Masker = _services.Masker,
            Time = _time,
            ResumedExternalId = resumedExternalId,
            DagFolder = dag.FileLoc is { } f ? Path.GetDirectoryName(f) : null,
            Shutdown = control.Shutdown,
            Services = _services.Runtime,
            Dag = dag,
        };
        var outcome = await AttemptAsync(request, control, task, log, recorder, context).ConfigureAwait(false);
        var kind = outcome.Result switch
        {
            TryResult.Success => "on_success_callback",
            TryResult.Skipped => "on_skipped_callback",
            TryResult.Failed when ti.TryNumber < ti.MaxTries => "on_retry_callback",
            TryResult.Failed => "on_failure_callback",
            _ => null,
        };
        if (kind is not null)
        {
            // The callback sees the task instance in the state the try ended in, as Airflow's (ti.state in a notifier's subject).
            var state = outcome.Result switch
            {
                TryResult.Success => TaskInstanceState.Success,
                TryResult.Skipped => TaskInstanceState.Skipped,
                _ when kind == "on_retry_callback" => TaskInstanceState.UpForRetry,
                _ => TaskInstanceState.Failed,
            };
            await RunCallbacksAsync(task, kind, outcome.Message, context, log, control, ti with { State = state, EndDate = outcome.EndDate }).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>
    /// Runs a task's callbacks of one kind in the try's context, each bounded by ten minutes and the scheduler's
    /// shutdown; a failing callback is logged and changes nothing, as in Airflow.
    /// </summary>
    private async Task RunCallbacksAsync(BaseOperator task, string kind, string? error, TaskExecutionContext context, TaskLogWriter log, TryControl control, TaskInstance? endedAs = null)
    {
        if (!task.TaskCallbacks.TryGetValue(kind, out var callbacks) || callbacks.Count == 0)
        {
            return;
        }

        foreach (var callback in callbacks)
        {
            log.Info($"Running {kind} {callback.TaskId}");
            var callbackContext = context.ForCallback(kind, error, taskInstance: endedAs);
            var render = _renderer is null ? null : new Func<BaseOperator, BaseOperator>(op =>
                _renderer.Render(op, new RenderRequest(context.Dag!, context.DagRun, callbackContext.TaskInstance, _services, _store, _time) { Extra = CallbackKeys(callbackContext) }).Task);
            await RunCallbackAsync(callback, kind, callbackContext, log, _time, render, control.Shutdown).ConfigureAwait(false);
        }
    }

    /// <summary>What Airflow adds to a callback's context: <c>exception</c> and <c>reason</c>.</summary>
    internal static Dictionary<string, string?> CallbackKeys(TaskExecutionContext context) => new(StringComparer.Ordinal)
    {
        ["exception"] = context.CallbackException,
        ["reason"] = context.CallbackReason ?? context.CallbackKind,
    };

    /// <summary>
    /// Runs one callback, bounded by ten minutes and <paramref name="shutdown"/>; its end (or its failure, which
    /// changes nothing, as in Airflow) goes to <paramref name="log"/>; <paramref name="render"/> renders its template
    /// fields first. Returns null when it finished, else why it failed.
    /// </summary>
    internal static async Task<string?> RunCallbackAsync(BaseOperator callback, string kind, TaskExecutionContext context, TaskLogWriter log, TimeProvider time, Func<BaseOperator, BaseOperator>? render, CancellationToken shutdown)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(10), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(limit.Token, shutdown);
        try
        {
            // Rendered with the callback's context (a notifier's subject and body are templates).
            var copy = render is null ? callback.CloneForTry() : render(callback.CloneForTry());
            await copy.ExecuteAsync(context, linked.Token).ConfigureAwait(false);
            log.Info($"{kind} {callback.TaskId} finished");
            return null;
        }
#pragma warning disable CA1031 // a callback's failure is reported in the log and never changes a task's or a run's state
        catch (Exception e)
#pragma warning restore CA1031
        {
            var why = e is OperationCanceledException ? "it ran longer than 10 minutes or the scheduler stopped" : e.Message;
            log.Error($"{kind} {callback.TaskId} failed: {why}");
            return why;
        }
    }

    private async Task<TryOutcome> AttemptAsync(TryRequest request, TryControl control, BaseOperator task, TaskLogWriter log, Recorder recorder, TaskExecutionContext context)
    {
        var (dag, run, ti, resumedExternalId, _) = request;
        var kill = control.Kill;
        var shutdown = control.Shutdown;
        try
        {
            log.Info(resumedExternalId is null
                ? $"Starting attempt {ti.TryNumber} of {ti.MaxTries}: {task.OperatorName} {ti.DagId}.{ti.TaskId} run_id={ti.RunId} on {_options.Hostname}"
                : $"Resuming attempt {ti.TryNumber} of {ti.MaxTries} after a restart: {task.OperatorName} {ti.DagId}.{ti.TaskId} run_id={ti.RunId}; "
                    + (resumedExternalId.Length > 0 ? $"its work runs at {resumedExternalId}" : "where its work runs was not recorded: the operator looks for it"));

            var copy = task.CloneForTry();
            if (task.IsMapped)
            {
                var arguments = request.MappedArguments ?? await MapExpansion.ArgumentsAsync(_store, dag, ti, task, kill).ConfigureAwait(false);
                copy.ApplyMappedArguments(arguments);
                log.Info($"Map index {ti.MapIndex}: " + string.Join(", ", arguments.Select(a => $"{a.Key}={Truncate(a.Value.GetRawText())}")));
            }

            if (_renderer is not null)
            {
                var rendered = _renderer.Render(copy, new RenderRequest(dag, run, ti, _services, _store, _time));
                copy = rendered.Task;
                foreach (var (field, value) in rendered.Fields)
                {
                    log.Info($"Rendered {field}: {value}");
                }

                if (rendered.MapIndexName is { } mapName)
                {
                    recorder.MapIndexName = mapName;
                    log.Info($"Rendered map_index_template: {mapName}");
                }
            }

            using var timeout = task.ExecutionTimeout is { } limit ? new CancellationTokenSource(limit, _time) : null;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(kill, timeout?.Token ?? CancellationToken.None);
            await RunCallbacksAsync(task, "on_execute_callback", null, context, log, control).ConfigureAwait(false);
            object? result;
            try
            {
                result = await copy.ExecuteAsync(context, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (shutdown.IsCancellationRequested && !kill.IsCancellationRequested)
            {
                log.Warning("The scheduler is shutting down; the try will be resumed when it restarts.");
                return new TryOutcome(ti, TryResult.Interrupted, null, _time.GetUtcNow(), recorder.ExternalId);
            }
            catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true)
            {
                var message = $"Timeout: the try ran longer than execution_timeout ({task.ExecutionTimeout}) and was stopped";
                log.Error(message);
                return Done(ti, TryResult.Failed, message, log, recorder);
            }
            catch (OperationCanceledException) when (kill.IsCancellationRequested)
            {
                var message = control.KillReason is { } reason ? $"The try was killed: {reason}" : "The try was killed";
                log.Error(message);
                return Done(ti, TryResult.Failed, message, log, recorder);
            }

            if (result is not null && task.DoXcomPush)
            {
                var value = result as JsonElement? ?? JsonSerializer.SerializeToElement(result, result.GetType());
                await recorder.PushXComAsync(XComEntry.ReturnValueKey, value, CancellationToken.None).ConfigureAwait(false);
                log.Info($"Pushed XCom {XComEntry.ReturnValueKey}: {Truncate(value.GetRawText())}");
            }

            return Done(ti, TryResult.Success, null, log, recorder);
        }
        catch (TaskSkippedException e)
        {
            log.Info(e.Message);
            return Done(ti, TryResult.Skipped, e.Message, log, recorder);
        }
        catch (SiroccoException e)
        {
            log.Error(e.Message);
            return Done(ti, TryResult.Failed, e.Message, log, recorder);
        }
        catch (Exception e)
        {
            log.Error($"Task failed with {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            return Done(ti, TryResult.Failed, $"{e.GetType().Name}: {e.Message}", log, recorder);
        }
    }

    private TryOutcome Done(TaskInstance ti, TryResult result, string? message, TaskLogWriter log, Recorder recorder)
    {
        var end = _time.GetUtcNow();
        log.Info(result switch
        {
            TryResult.Success => $"Marking task as SUCCESS. dag_id={ti.DagId}, task_id={ti.TaskId}, run_id={ti.RunId}",
            TryResult.Skipped => $"Marking task as SKIPPED. dag_id={ti.DagId}, task_id={ti.TaskId}, run_id={ti.RunId}",
            _ => $"Try {ti.TryNumber} of {ti.MaxTries} FAILED. dag_id={ti.DagId}, task_id={ti.TaskId}, run_id={ti.RunId}",
        });
        return new TryOutcome(ti, result, message, end, recorder.ExternalId) { MapIndexName = recorder.MapIndexName, SkipTaskIds = result == TryResult.Success ? recorder.SkippedTasks : [] };
    }

    private static string Truncate(string s) => s.Length <= 500 ? s : s[..500] + "…";

    private sealed class Recorder : ITaskTryRecorder
    {
        private readonly IMetadataStore _store;
        private readonly Dag _dag;
        private readonly TaskInstance _ti;
        private readonly TimeProvider _time;

        public Recorder(IMetadataStore store, Dag dag, TaskInstance ti, TimeProvider time)
        {
            _store = store;
            _dag = dag;
            _ti = ti;
            _time = time;
            ExternalId = ti.ExternalId;
        }

        public string? ExternalId { get; private set; }

        /// <summary>The instance's rendered <c>map_index_template</c>, kept with its outcome.</summary>
        public string? MapIndexName { get; set; }

        /// <summary>The tasks the try asked to skip (a branch not taken, a short circuit).</summary>
        public List<string> SkippedTasks { get; } = [];

        public void SkipTasks(IReadOnlyCollection<string> taskIds) => SkippedTasks.AddRange(taskIds);

        public Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken) =>
            _store.SetXComAsync(
                new XComEntry { DagId = _ti.DagId, TaskId = _ti.TaskId, RunId = _ti.RunId, MapIndex = _ti.MapIndex, Key = key, Value = value, Timestamp = _time.GetUtcNow() },
                cancellationToken);

        public Task<JsonElement?> PullXComAsync(string taskId, string key, CancellationToken cancellationToken) =>
            MapExpansion.PullAsync(_store, _dag, _ti.RunId, taskId, key, cancellationToken);

        public async Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken)
        {
            ExternalId = externalId;

            // Written at once to the task instance and its try, so that a restart finds the work even if this process
            // dies the next instant. When the task instance no longer runs this try (a user marked or cleared it),
            // nothing is written: the scheduler ends the try and its work.
            await _store.RecordTryExternalIdAsync(_ti, externalId, cancellationToken).ConfigureAwait(false);
        }
    }
}
