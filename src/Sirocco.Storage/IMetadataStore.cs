using Sirocco.Connections;
using Sirocco.Variables;

namespace Sirocco.Storage;

/// <summary>A DAG as the store knows it: what the UI and scheduler need without loading its file.</summary>
public sealed record DagModel
{
    /// <summary>The DAG id.</summary>
    public required string DagId { get; init; }

    /// <summary>The file it was loaded from.</summary>
    public string? FileLoc { get; init; }

    /// <summary>Whether the scheduler creates runs for it.</summary>
    public bool IsPaused { get; init; }

    /// <summary>False once its file is gone; the history is kept.</summary>
    public bool IsActive { get; init; } = true;

    /// <summary>When its file was last parsed.</summary>
    public DateTimeOffset? LastParsedTime { get; init; }

    /// <summary>Description.</summary>
    public string? Description { get; init; }

    /// <summary>The schedule as text.</summary>
    public string? Schedule { get; init; }

    /// <summary>Owners, comma separated.</summary>
    public string? Owners { get; init; }

    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}

/// <summary>A DAG file that failed to load.</summary>
/// <param name="FileName">The file.</param>
/// <param name="Message">What went wrong, with line and column where known.</param>
/// <param name="Timestamp">When it was seen.</param>
public sealed record ImportErrorRecord(string FileName, string Message, DateTimeOffset Timestamp);

/// <summary>A user of the web UI and API.</summary>
/// <param name="Username">Login name.</param>
/// <param name="PasswordHash">The password hash (never the password).</param>
/// <param name="Role">Role: Admin, Op, User or Viewer.</param>
/// <param name="Email">E-mail address.</param>
/// <param name="Active">Whether the user may log in.</param>
/// <param name="SessionsValidAfter">Web sessions and API tokens issued before this time no longer count (set on logout).</param>
public sealed record User(string Username, string PasswordHash, string Role, string? Email = null, bool Active = true, DateTimeOffset? SessionsValidAfter = null)
{
    /// <summary>First name (kept when an update leaves it out).</summary>
    public string? FirstName { get; init; }

    /// <summary>Last name (kept when an update leaves it out).</summary>
    public string? LastName { get; init; }
}

/// <summary>One line of the audit log (Airflow's event log): who did what, when, to which DAG, task or run, from where.</summary>
/// <param name="Id">Its number, assigned when it is added (0 before).</param>
/// <param name="When">When it happened.</param>
/// <param name="Event">What happened, e.g. <c>trigger</c>, <c>api.post_dag_run</c>, <c>cli_tasks_clear</c>, <c>login.failed</c>.</param>
/// <param name="Owner">Who: the user name (the OS user for the CLI).</param>
/// <param name="Origin">From where: <c>ui</c>, <c>api</c> or <c>cli</c>.</param>
/// <param name="DagId">The DAG concerned, if any.</param>
/// <param name="TaskId">The task concerned, if any.</param>
/// <param name="RunId">The run concerned, if any.</param>
/// <param name="MapIndex">The map index concerned, if any.</param>
/// <param name="TryNumber">The try concerned, if any.</param>
/// <param name="Extra">Details (JSON text; never a secret).</param>
public sealed record EventLogEntry(
    long Id, DateTimeOffset When, string Event, string? Owner, string? Origin,
    string? DagId = null, string? TaskId = null, string? RunId = null, int? MapIndex = null, int? TryNumber = null, string? Extra = null);

/// <summary>Which audit log lines to list (every filter optional), newest first unless asked otherwise.</summary>
public sealed record EventLogQuery
{
    /// <summary>Only this DAG.</summary>
    public string? DagId { get; init; }

    /// <summary>Only this task.</summary>
    public string? TaskId { get; init; }

    /// <summary>Only this run.</summary>
    public string? RunId { get; init; }

    /// <summary>Only this owner.</summary>
    public string? Owner { get; init; }

    /// <summary>Only these events (any of them).</summary>
    public IReadOnlyCollection<string>? IncludedEvents { get; init; }

    /// <summary>None of these events.</summary>
    public IReadOnlyCollection<string>? ExcludedEvents { get; init; }

    /// <summary>Only lines at or after this time.</summary>
    public DateTimeOffset? After { get; init; }

    /// <summary>Only lines before this time.</summary>
    public DateTimeOffset? Before { get; init; }

    /// <summary>Most lines returned.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Lines skipped.</summary>
    public int Offset { get; init; }

    /// <summary>Newest first (the default) or oldest first.</summary>
    public bool Descending { get; init; } = true;
}

/// <summary>A pool of task slots.</summary>
/// <param name="Name">Pool name.</param>
/// <param name="Slots">Number of slots; -1 for no limit, as in Airflow.</param>
/// <param name="Description">Description.</param>
public sealed record Pool(string Name, int Slots, string? Description = null)
{
    /// <summary>The pool a task takes when it names none; it cannot be deleted.</summary>
    public const string DefaultName = "default_pool";

    /// <summary>The default pool's size when the database has no row for it (Airflow's <c>default_pool_task_slot_count</c>).</summary>
    public const int DefaultSlots = 128;

    /// <summary>True when the pool takes any number of tasks (slots -1).</summary>
    public bool Unlimited => Slots < 0;

    /// <summary>Slots free given what its queued and running task instances take; null when the pool has no limit.</summary>
    public int? OpenSlots(PoolStats? usage) => Unlimited ? null : Math.Max(0, Slots - (usage?.Running ?? 0) - (usage?.Queued ?? 0));
}

/// <summary>A pool's slots in use across every scheduler, as Airflow's pool statistics count them.</summary>
/// <param name="Name">Pool name (a pool that task instances name but no row defines is listed too).</param>
/// <param name="Slots">Its size, or null when no row defines it.</param>
/// <param name="Running">Slots taken by running task instances.</param>
/// <param name="Queued">Slots taken by queued task instances.</param>
/// <param name="Scheduled">Slots wanted by scheduled task instances (waiting for a slot).</param>
public sealed record PoolStats(string Name, int? Slots, int Running, int Queued, int Scheduled);

/// <summary>The DAGs of the dags folder at one moment, recorded by <see cref="IMetadataStore.SyncDagsAsync"/>.</summary>
/// <param name="Dags">Every DAG loaded (a new DAG's <see cref="DagModel.IsPaused"/> is its initial flag).</param>
/// <param name="ImportErrors">Every file that failed to load.</param>
public sealed record DagSync(IReadOnlyCollection<DagModel> Dags, IReadOnlyCollection<ImportErrorRecord> ImportErrors)
{
    /// <summary>Every DAG warning of the loaded DAGs (they replace the recorded ones).</summary>
    public IReadOnlyCollection<DagWarningRecord> Warnings { get; init; } = [];
}

/// <summary>A DAG warning as recorded (Airflow's <c>dag_warning</c> row).</summary>
/// <param name="DagId">The DAG.</param>
/// <param name="WarningType">The kind of warning.</param>
/// <param name="Message">What is wrong and where.</param>
/// <param name="Timestamp">When the DAG was loaded with it.</param>
public sealed record DagWarningRecord(string DagId, string WarningType, string Message, DateTimeOffset Timestamp);

/// <summary>A long-running job (Airflow's <c>job</c> table): a scheduler or a backfill, with its heartbeat.</summary>
/// <param name="Id">Unique id: host, pid and a random suffix.</param>
/// <param name="JobType"><c>SchedulerJob</c> or <c>BackfillJob</c>, as Airflow names them.</param>
/// <param name="Hostname">The host it runs on.</param>
/// <param name="Pid">Its process id.</param>
/// <param name="State"><c>running</c>, <c>success</c> (ended cleanly) or <c>failed</c> (found dead and adopted).</param>
/// <param name="StartDate">When it started.</param>
/// <param name="EndDate">When it ended, or null.</param>
/// <param name="LatestHeartbeat">Its latest heartbeat.</param>
public sealed record JobRecord(string Id, string JobType, string Hostname, int Pid, string State, DateTimeOffset StartDate, DateTimeOffset? EndDate, DateTimeOffset LatestHeartbeat);

/// <summary>The slots taken by queued and running task instances, across every scheduler.</summary>
/// <param name="PoolSlots">Slots taken per pool.</param>
/// <param name="TasksPerDag">Task instances queued or running per DAG.</param>
public sealed record SlotUsage(IReadOnlyDictionary<string, int> PoolSlots, IReadOnlyDictionary<string, int> TasksPerDag)
{
    /// <summary>Queued and running instances per task, keyed <c>dag/task</c> (for <c>max_active_tis_per_dag</c>).</summary>
    public IReadOnlyDictionary<string, int> InstancesPerTask { get; init; } = new Dictionary<string, int>();

    /// <summary>Queued and running instances per task and run, keyed <c>dag/task/run</c> (for <c>max_active_tis_per_dagrun</c>).</summary>
    public IReadOnlyDictionary<string, int> InstancesPerTaskRun { get; init; } = new Dictionary<string, int>();
}

/// <summary>A dataset (asset) updated by a successful task.</summary>
/// <param name="Uri">The dataset's URI.</param>
/// <param name="DagId">The DAG of the task that updated it.</param>
/// <param name="TaskId">The task.</param>
/// <param name="RunId">The run.</param>
/// <param name="MapIndex">The task instance's map index (-1 when unmapped).</param>
/// <param name="Timestamp">When.</param>
public sealed record DatasetUpdate(string Uri, string DagId, string TaskId, string RunId, int MapIndex, DateTimeOffset Timestamp);

/// <summary>Filters for listing DAG runs.</summary>
public sealed record DagRunQuery
{
    /// <summary>Only runs of this DAG.</summary>
    public string? DagId { get; init; }

    /// <summary>Only runs in one of these states.</summary>
    public IReadOnlyCollection<DagRunState>? States { get; init; }

    /// <summary>Most rows returned.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Rows skipped.</summary>
    public int Offset { get; init; }

    /// <summary>Newest logical date first (default) or oldest first.</summary>
    public bool Descending { get; init; } = true;
}

/// <summary>
/// The metadata store: Variables, Connections, DAGs, runs, task instances and their tries, XCom, import errors,
/// users and pools. One contract, several databases (SQLite now). Variable and Connection reads are synchronous because
/// templates read them while rendering; everything else is asynchronous.
/// </summary>
public interface IMetadataStore : IVariableStore, IConnectionStore, IAsyncDisposable
{
    /// <summary>Applies the migrations not applied yet; returns the versions applied now.</summary>
    Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>The highest migration applied (0 for an empty database).</summary>
    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Re-encrypts every encrypted Variable value and connection password and extra with the first key of
    /// <c>[core] fernet_key</c>, after reading them with any of its keys (<c>sirocco rotate-fernet-key</c>); returns
    /// the rows rewritten.
    /// </summary>
    Task<int> RotateFernetKeyAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates or updates a DAG row, keeping its paused flag unless <paramref name="dag"/> is new.</summary>
    Task UpsertDagAsync(DagModel dag, CancellationToken cancellationToken = default);

    /// <summary>The DAG row, or null.</summary>
    Task<DagModel?> GetDagAsync(string dagId, CancellationToken cancellationToken = default);

    /// <summary>Every DAG row, ordered by id.</summary>
    Task<IReadOnlyList<DagModel>> ListDagsAsync(CancellationToken cancellationToken = default);

    /// <summary>Pauses or unpauses a DAG; false when it is unknown.</summary>
    Task<bool> SetDagPausedAsync(string dagId, bool paused, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records the DAGs of the dags folder in one transaction: a row per DAG (an existing DAG keeps its paused flag),
    /// the DAGs no longer present marked inactive (their history kept), the import errors replaced by these.
    /// </summary>
    Task SyncDagsAsync(DagSync sync, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a DAG run. A run with the same run id or the same logical date is found by its key and refused with a
    /// <see cref="DagRunExistsException"/> naming it.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="claimedBy">The job that holds it from the start (a backfill or <c>dags test</c>), or null.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task CreateDagRunAsync(DagRun run, string? claimedBy = null, CancellationToken cancellationToken = default);

    /// <summary>The run, or null.</summary>
    Task<DagRun?> GetDagRunAsync(string dagId, string runId, CancellationToken cancellationToken = default);

    /// <summary>Runs matching the query.</summary>
    Task<IReadOnlyList<DagRun>> ListDagRunsAsync(DagRunQuery query, CancellationToken cancellationToken = default);

    /// <summary>Deletes a run with its task instances, tries and XComs; false when it did not exist.</summary>
    Task<bool> DeleteDagRunAsync(string dagId, string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every record of a DAG (its runs, task instances, tries, XComs and its row; the audit log keeps its
    /// lines), as <c>airflow dags delete</c>; returns how many rows went. Refused while any of its task instances is
    /// queued or running. A DAG whose file is still in the folder comes back at the next parse.
    /// </summary>
    Task<int> DeleteDagAsync(string dagId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Purges old records, as <c>airflow db clean</c>: finished DAG runs that ended before <paramref name="before"/>
    /// (with their task instances, tries and XComs; each DAG's latest run is kept), audit log lines and finished jobs
    /// older than it, among <paramref name="tables"/> (<see cref="CleanableTables"/>). Returns the rows per table;
    /// with <paramref name="dryRun"/> only counts them.
    /// </summary>
    Task<IReadOnlyList<(string Table, int Rows)>> CleanAsync(DateTimeOffset before, IReadOnlyCollection<string> tables, bool dryRun, CancellationToken cancellationToken = default);

    /// <summary>The tables <see cref="CleanAsync"/> can purge.</summary>
    static IReadOnlyList<string> CleanableTables { get; } = ["dag_run", "log", "job"];

    /// <summary>The task instance, or null.</summary>
    Task<TaskInstance?> GetTaskInstanceAsync(string dagId, string taskId, string runId, int mapIndex = -1, CancellationToken cancellationToken = default);

    /// <summary>The task instances of a run.</summary>
    Task<IReadOnlyList<TaskInstance>> ListTaskInstancesAsync(string dagId, string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The task instances of the active runs <paramref name="jobId"/> holds that were changed from outside their
    /// scheduler (marked or cleared by a user, so <see cref="TaskInstance.ChangedBy"/> is set): what a scheduler compares
    /// with the runs it keeps in memory, without reading every task instance it holds.
    /// </summary>
    Task<IReadOnlyList<TaskInstance>> ListTaskInstancesChangedOutsideAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Task instances in the given states, across DAGs (what the scheduler works on).</summary>
    Task<IReadOnlyList<TaskInstance>> ListTaskInstancesByStateAsync(IReadOnlyCollection<TaskInstanceState> states, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a batch of compare-and-set changes in one transaction. Returns the changes that lost (their rows had
    /// been changed by another writer), with the rows as stored now; the others are written.
    /// </summary>
    Task<IReadOnlyList<StateConflict>> SaveAsync(StateBatch batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="pending"/> (as <see cref="SaveAsync"/>), then starts tries under the database's start
    /// lock, so that limits hold across schedulers: reads the slots every scheduler's queued and running task instances
    /// take, lets <paramref name="decide"/> choose the tries to start within them, and writes its batch, all in one
    /// transaction. Returns the changes of both batches that lost.
    /// </summary>
    Task<IReadOnlyList<StateConflict>> StartTriesAsync(StateBatch pending, Func<SlotUsage, StateBatch> decide, CancellationToken cancellationToken = default);

    /// <summary>
    /// Clears task instances (state none, as many tries again as the task has retries) in one transaction; a finished
    /// run goes back to queued. Running ones are cleared too: their scheduler ends the try. Returns the task instances
    /// cleared (or that would be, when dry). A row changed meanwhile by another writer fails it all with a
    /// <see cref="StateConflictException"/>.
    /// </summary>
    Task<IReadOnlyList<TaskInstance>> ClearTaskInstancesAsync(ClearRequest request, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets a task instance's state from outside the scheduler (mark success, failed or skipped), if it is still as
    /// <paramref name="expected"/> (state and try number), else a <see cref="StateConflictException"/>. A finished
    /// run goes back to queued so that its scheduler decides its state again. Returns the task instance as written.
    /// </summary>
    Task<TaskInstance> MarkTaskInstanceAsync(TaskInstance expected, TaskInstanceState state, StateActor actor, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets a run's state from outside the scheduler, with its unfinished task instances (success or failed), if its
    /// state is still <paramref name="expected"/>'s, else a <see cref="StateConflictException"/>.
    /// </summary>
    Task<DagRun> MarkDagRunAsync(DagRun expected, DagRunState state, StateActor actor, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records where a running try's work runs (a pod), on the task instance and its try record, if the task instance
    /// is still running that try; false when it no longer is (its state was changed meanwhile).
    /// </summary>
    Task<bool> RecordTryExternalIdAsync(TaskInstance running, string externalId, CancellationToken cancellationToken = default);

    /// <summary>Every recorded try of a task instance, by try number.</summary>
    Task<IReadOnlyList<TaskInstanceTry>> ListTriesAsync(string dagId, string taskId, string runId, int mapIndex = -1, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces an XCom.</summary>
    Task SetXComAsync(XComEntry entry, CancellationToken cancellationToken = default);

    /// <summary>The XCom, or null.</summary>
    Task<XComEntry?> GetXComAsync(string dagId, string taskId, string runId, string key, int mapIndex = -1, CancellationToken cancellationToken = default);

    /// <summary>The XComs of a run (optionally of one task).</summary>
    Task<IReadOnlyList<XComEntry>> ListXComsAsync(string dagId, string runId, string? taskId = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes the XComs of a task instance (before a new try).</summary>
    Task ClearXComsAsync(string dagId, string taskId, string runId, int mapIndex = -1, CancellationToken cancellationToken = default);

    /// <summary>Records (or replaces) the import error of a file.</summary>
    Task SetImportErrorAsync(ImportErrorRecord error, CancellationToken cancellationToken = default);

    /// <summary>Removes the import error of a file that loads again.</summary>
    Task ClearImportErrorAsync(string fileName, CancellationToken cancellationToken = default);

    /// <summary>Every import error, by file name.</summary>
    Task<IReadOnlyList<ImportErrorRecord>> ListImportErrorsAsync(CancellationToken cancellationToken = default);

    /// <summary>The DAG warnings of one DAG, or of all (by DAG, then kind, then message).</summary>
    Task<IReadOnlyList<DagWarningRecord>> ListDagWarningsAsync(string? dagId = null, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a user.</summary>
    Task UpsertUserAsync(User user, CancellationToken cancellationToken = default);

    /// <summary>The user, or null.</summary>
    Task<User?> GetUserAsync(string username, CancellationToken cancellationToken = default);

    /// <summary>Every user, by name.</summary>
    Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a user; false when unknown.</summary>
    Task<bool> DeleteUserAsync(string username, CancellationToken cancellationToken = default);

    /// <summary>Adds a line to the audit log; returns it with its number.</summary>
    Task<EventLogEntry> AddEventLogAsync(EventLogEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Audit log lines matching <paramref name="query"/>, and how many match in all.</summary>
    Task<(IReadOnlyList<EventLogEntry> Items, int Total)> ListEventLogsAsync(EventLogQuery query, CancellationToken cancellationToken = default);

    /// <summary>One audit log line, or null.</summary>
    Task<EventLogEntry?> GetEventLogAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether several schedulers may share this database (PostgreSQL: yes, with row claims; SQLite: one scheduler).
    /// </summary>
    bool SupportsManySchedulers { get; }

    /// <summary>
    /// Records a job that starts. When <paramref name="refuseIfAliveSince"/> is given and another running job of the
    /// same type has beaten since then, nothing is written and that job is returned (the caller refuses to start).
    /// </summary>
    Task<JobRecord?> StartJobAsync(JobRecord job, DateTimeOffset? refuseIfAliveSince = null, CancellationToken cancellationToken = default);

    /// <summary>Records a job's heartbeat; false when the job is no longer running (another scheduler adopted its work).</summary>
    Task<bool> HeartbeatJobAsync(string jobId, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Records that a job ended cleanly: the runs it held are released for another job to take.</summary>
    Task EndJobAsync(string jobId, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Jobs of a type (all types when null), newest heartbeat first; only running ones when asked.</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsAsync(string? jobType = null, bool runningOnly = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adopts the work of jobs whose heartbeat is older than <paramref name="staleBefore"/>: each such job is marked
    /// failed and the runs it held become <paramref name="adopterId"/>'s, atomically, so that exactly one survivor
    /// adopts each dead job. Runs held by a job id that is not running (never registered, or ended) are adopted too.
    /// Returns the jobs adopted.
    /// </summary>
    Task<IReadOnlyList<JobRecord>> AdoptStaleJobsAsync(string adopterId, DateTimeOffset staleBefore, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Claims up to <paramref name="limit"/> queued or running runs that no job holds; returns them.</summary>
    Task<IReadOnlyList<DagRun>> ClaimRunsAsync(string jobId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Claims one run if no job holds it (or <paramref name="jobId"/> already does); false when another job holds it.</summary>
    Task<bool> ClaimRunAsync(string jobId, string dagId, string runId, CancellationToken cancellationToken = default);

    /// <summary>The queued and running runs a job holds.</summary>
    Task<IReadOnlyList<DagRun>> ListClaimedRunsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The latest heartbeat of any running job of a type, or null when none runs.</summary>
    Task<DateTimeOffset?> GetHeartbeatAsync(string jobType, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a pool.</summary>
    Task SetPoolAsync(Pool pool, CancellationToken cancellationToken = default);

    /// <summary>Every pool, by name.</summary>
    Task<IReadOnlyList<Pool>> ListPoolsAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a pool; false when there is none of that name. The default pool cannot be deleted.</summary>
    Task<bool> DeletePoolAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every pool defined or named by a task instance, with the slots its scheduled, queued and running task instances take.</summary>
    Task<IReadOnlyList<PoolStats>> ListPoolStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>Records that a task updated a dataset and queues the update for each DAG scheduled on it.</summary>
    Task RecordDatasetUpdateAsync(DatasetUpdate update, IReadOnlyCollection<string> consumers, CancellationToken cancellationToken = default);

    /// <summary>The queued dataset updates: which dataset each waiting DAG has seen updated since its last such run.</summary>
    Task<IReadOnlyList<(string Uri, string TargetDagId)>> ListDatasetQueueAsync(CancellationToken cancellationToken = default);

    /// <summary>The latest dataset updates, newest first (of one dataset when <paramref name="uri"/> is given).</summary>
    Task<IReadOnlyList<DatasetUpdate>> ListDatasetUpdatesAsync(string? uri = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a dataset-triggered run and takes the DAG's queued updates of <paramref name="uris"/>, in one
    /// transaction; false (nothing changed) when another writer took them first.
    /// </summary>
    Task<bool> CreateDatasetTriggeredRunAsync(DagRun run, IReadOnlyCollection<string> uris, CancellationToken cancellationToken = default);
}
