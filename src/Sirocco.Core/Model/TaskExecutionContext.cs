using System.Text.Json;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Scheduling;
using Sirocco.Variables;

namespace Sirocco;

/// <summary>What a running try may record about itself (the scheduler backs it with the metadata store).</summary>
public interface ITaskTryRecorder
{
    /// <summary>Pushes an XCom of the running task instance (for example <c>pod_name</c>).</summary>
    Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken);

    /// <summary>Pulls an XCom of a task in the same run; null when absent.</summary>
    Task<JsonElement?> PullXComAsync(string taskId, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Records where the try's work runs (for a pod: <c>namespace/name</c>) the moment it exists, so that a try resumed
    /// after a restart finds it again instead of starting a second one.
    /// </summary>
    Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken);

    /// <summary>
    /// Asks that these tasks of the run be skipped when this try succeeds (a branch not taken, a short circuit);
    /// only task instances that have not started are skipped.
    /// </summary>
    void SkipTasks(IReadOnlyCollection<string> taskIds) =>
        throw new NotSupportedException("this recorder cannot skip tasks");
}

/// <summary>
/// What a task try sees while it runs: its run, task instance and try number, a log, configuration, connections and
/// the recorder of its XComs and external id. Template fields have been rendered into the operator before
/// <see cref="BaseOperator.ExecuteAsync"/> is called.
/// </summary>
public sealed class TaskExecutionContext
{
    /// <summary>The DAG run the try belongs to.</summary>
    public required DagRun DagRun { get; init; }

    /// <summary>The task instance, with the try number of this try.</summary>
    public required TaskInstance TaskInstance { get; init; }

    /// <summary>
    /// Writes one line to the try's log. The writer masks registered secrets and adds timestamps; operators write
    /// plain text.
    /// </summary>
    public required Action<string> Log { get; init; }

    /// <summary>Records XComs and the try's external id.</summary>
    public required ITaskTryRecorder Recorder { get; init; }

    /// <summary>The configuration.</summary>
    public required SiroccoConfig Config { get; init; }

    /// <summary>Connections (with environment overrides).</summary>
    public required ConnectionAccessor Connections { get; init; }

    /// <summary>Variables (with environment overrides).</summary>
    public required VariableAccessor Variables { get; init; }

    /// <summary>The masker of this process: register any secret the try comes to know.</summary>
    public required SecretMasker Masker { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Where an earlier attempt of this same try ran (recorded with <see cref="ITaskTryRecorder.RecordExternalIdAsync"/>
    /// before a restart), or null for a fresh try. An operator re-attaches to it when it still exists.
    /// </summary>
    public string? ResumedExternalId { get; init; }

    /// <summary>The folder of the DAG file, against which template files (<c>.sh</c>, <c>.yaml</c>...) resolve.</summary>
    public string? DagFolder { get; init; }

    /// <summary>
    /// Cancelled when the process shuts down (not when the try is killed): an operator whose work can outlive the
    /// process, such as a pod, leaves it running to be re-attached later.
    /// </summary>
    public CancellationToken Shutdown { get; init; }

    /// <summary>The process-wide runtimes operators use (the Kubernetes clients and watches), from the composition root.</summary>
    public IServiceProvider? Services { get; init; }

    /// <summary>The DAG of the run, when the scheduler runs the try (callbacks, which belong to no DAG, read it here).</summary>
    public Dag? Dag { get; init; }

    /// <summary>The run's data interval.</summary>
    public DataInterval DataInterval => DagRun.DataInterval;

    /// <summary>For a callback (<c>on_failure_callback</c>…): which one, e.g. <c>on_failure_callback</c>; null for the task itself.</summary>
    public string? CallbackKind { get; init; }

    /// <summary>For a callback: the try's error, as Airflow's context gives it under <c>exception</c>.</summary>
    public string? CallbackException { get; init; }

    /// <summary>For a DAG-level callback: why the run ended (<c>success</c>, <c>task_failure</c>, <c>timed_out</c>), as Airflow's context gives it under <c>reason</c>.</summary>
    public string? CallbackReason { get; init; }

    /// <summary>The same try's context for one of its callbacks.</summary>
    /// <param name="kind">The callback's name, e.g. <c>on_failure_callback</c>.</param>
    /// <param name="exception">The try's error, if any.</param>
    /// <param name="reason">For a DAG-level callback, why the run ended.</param>
    /// <param name="taskInstance">The task instance as the callback sees it (in the state the try ended in); null keeps this context's.</param>
    public TaskExecutionContext ForCallback(string kind, string? exception, string? reason = null, TaskInstance? taskInstance = null) => new()
    {
        DagRun = DagRun,
        TaskInstance = taskInstance ?? TaskInstance,
        Log = Log,
        Recorder = new CallbackRecorder(Recorder),
        Config = Config,
        Connections = Connections,
        Variables = Variables,
        Masker = Masker,
        Time = Time,
        DagFolder = DagFolder,
        Shutdown = Shutdown,
        Services = Services,
        Dag = Dag,
        CallbackKind = kind,
        CallbackException = exception,
        CallbackReason = reason,
    };
}

/// <summary>
/// What a callback may record: it reads the run's XComs, and records nothing on the task instance whose context it
/// borrows (its own pod is not the try's work, and its result is not the task's XCom).
/// </summary>
internal sealed class CallbackRecorder(ITaskTryRecorder inner) : ITaskTryRecorder
{
    public Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<JsonElement?> PullXComAsync(string taskId, string key, CancellationToken cancellationToken) => inner.PullXComAsync(taskId, key, cancellationToken);

    public Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken) => Task.CompletedTask;
}
