using Microsoft.Extensions.Logging;

namespace Sirocco.Scheduler;

/// <summary>
/// What the scheduler tells whoever runs it (category <c>Sirocco.Scheduler</c>): its start and stop, DAG runs created and
/// ended, tries started and ended, tries ended from outside, DAG files that failed to load, heartbeat trouble. Task logs
/// are separate (one file per try); these lines are for the operator of the service.
/// </summary>
internal static partial class SchedulerLog
{
    /// <summary>The category of the scheduler's own log.</summary>
    public const string Category = "Sirocco.Scheduler";

    [LoggerMessage(1, LogLevel.Information, "Scheduler job {JobId} started on {Hostname} (pid {Pid})")]
    public static partial void Started(ILogger logger, string jobId, string hostname, int pid);

    [LoggerMessage(2, LogLevel.Information, "Scheduler job {JobId} stopped")]
    public static partial void Stopped(ILogger logger, string jobId);

    [LoggerMessage(3, LogLevel.Information, "Created DAG run {DagId} {RunId}")]
    public static partial void RunCreated(ILogger logger, string dagId, string runId);

    [LoggerMessage(4, LogLevel.Information, "DAG run {DagId} {RunId} finished: {State} in {Seconds:0.###} s")]
    public static partial void RunFinished(ILogger logger, string dagId, string runId, string state, double seconds);

    [LoggerMessage(5, LogLevel.Information, "Started try {TryNumber} of {DagId}.{TaskId} (run {RunId}, map index {MapIndex})")]
    public static partial void TryStarted(ILogger logger, string dagId, string taskId, string runId, int mapIndex, int tryNumber);

    [LoggerMessage(6, LogLevel.Information, "Try {TryNumber} of {DagId}.{TaskId} (run {RunId}, map index {MapIndex}) ended: {State}")]
    public static partial void TryFinished(ILogger logger, string dagId, string taskId, string runId, int mapIndex, int tryNumber, string state);

    [LoggerMessage(7, LogLevel.Warning, "Ending try {TryNumber} of {DagId}.{TaskId} (run {RunId}): {Reason}")]
    public static partial void TryKilled(ILogger logger, string dagId, string taskId, string runId, int tryNumber, string reason);

    [LoggerMessage(8, LogLevel.Warning, "DAG file {File} failed to load: {Error}")]
    public static partial void ImportError(ILogger logger, string file, string error);

    [LoggerMessage(9, LogLevel.Warning, "Scheduler heartbeat failed, retried in {Seconds:0.#} s: {Error}")]
    public static partial void HeartbeatFailed(ILogger logger, double seconds, string error);

    [LoggerMessage(12, LogLevel.Warning, "Scheduler pass failed on the metadata database (attempt {Attempt} of {MaxAttempts}), retried in {Seconds:0.#} s: {Error}")]
    public static partial void PassFailed(ILogger logger, int attempt, int maxAttempts, double seconds, string error);

    [LoggerMessage(10, LogLevel.Error, "Scheduler job {JobId} lost its runs: its heartbeat was older than {Threshold} s and another scheduler adopted them")]
    public static partial void AdoptedAway(ILogger logger, string jobId, double threshold);

    [LoggerMessage(11, LogLevel.Information, "Loaded {Dags} DAGs, {Errors} import errors, in {Milliseconds:0} ms")]
    public static partial void DagsLoaded(ILogger logger, int dags, int errors, double milliseconds);

    [LoggerMessage(13, LogLevel.Warning, "Tasks using non-existent pool '{Pool}' will not be scheduled (waiting: {Tasks}); create it with `sirocco pools set {Pool} SLOTS DESCRIPTION`, the API or Admin > Pools")]
    public static partial void UnknownPool(ILogger logger, string pool, string tasks);

    [LoggerMessage(14, LogLevel.Error, "Could not expand mapped task {DagId}.{TaskId} (run {RunId}): {Reason}")]
    public static partial void ExpansionFailed(ILogger logger, string dagId, string taskId, string runId, string reason);

    [LoggerMessage(15, LogLevel.Information, "Expanded mapped task {DagId}.{TaskId} (run {RunId}) into {Count} instances")]
    public static partial void Expanded(ILogger logger, string dagId, string taskId, string runId, long count);

    [LoggerMessage(16, LogLevel.Information, "Dataset {Uri} updated by {DagId}.{TaskId}; queued for {Consumers} DAG(s)")]
    public static partial void DatasetUpdated(ILogger logger, string uri, string dagId, string taskId, int consumers);

    [LoggerMessage(17, LogLevel.Information, "Created dataset-triggered run {RunId} of {DagId} (datasets: {Uris})")]
    public static partial void DatasetRunCreated(ILogger logger, string dagId, string runId, string uris);

    [LoggerMessage(18, LogLevel.Information, "DAG callback {Kind} {CallbackId} of run {RunId} of {DagId} {Outcome}")]
    public static partial void DagCallbackEnded(ILogger logger, string kind, string callbackId, string dagId, string runId, string outcome);

    [LoggerMessage(19, LogLevel.Error, "The executor threw on try {TryNumber} of {DagId}.{TaskId} (run {RunId}, map index {MapIndex}); the try fails")]
    public static partial void ExecutorThrew(ILogger logger, Exception error, string dagId, string taskId, string runId, int mapIndex, int tryNumber);
}
