namespace Sirocco.Storage;

/// <summary>Who changed a run's or task instance's state, and through what: written with the change and into the try's log.</summary>
/// <param name="Who">The user (or the scheduler's host).</param>
/// <param name="Via">The channel: <c>web UI</c>, <c>REST API</c>, <c>CLI</c>, <c>scheduler</c>.</param>
public sealed record StateActor(string Who, string Via)
{
    /// <summary>The text stored in <c>task_instance.changed_by</c>: <c>admin via web UI</c>.</summary>
    public override string ToString() => $"{Who} via {Via}";
}

/// <summary>
/// A compare-and-set change of one task instance: written only when the stored row still has
/// <see cref="Before"/>'s state and try number (or, for an insert, does not exist yet).
/// </summary>
/// <param name="Before">The row as the writer last saw it; null to insert a new task instance.</param>
/// <param name="After">The row to write.</param>
public sealed record TaskInstanceChange(TaskInstance? Before, TaskInstance After)
{
    /// <summary>A try record written in the same transaction, only when this change wins.</summary>
    public TaskInstanceTry? Try { get; init; }

    /// <summary>Whether the task instance's XComs are deleted with this change (a new try starts).</summary>
    public bool ClearXComs { get; init; }

    /// <summary>A change that inserts a new task instance.</summary>
    public static TaskInstanceChange Insert(TaskInstance ti) => new(null, ti);
}

/// <summary>A compare-and-set change of a DAG run: written only when the stored run still has <see cref="ExpectedState"/>.</summary>
/// <param name="ExpectedState">The state the writer last saw.</param>
/// <param name="After">The run to write (state, dates, conf).</param>
public sealed record DagRunChange(DagRunState ExpectedState, DagRun After);

/// <summary>A change that lost: the stored row no longer had the expected state, and is given as it is now.</summary>
/// <param name="TaskInstance">The task instance change that lost, or null.</param>
/// <param name="StoredTaskInstance">The task instance as stored now (null when it is gone).</param>
/// <param name="DagRun">The run change that lost, or null.</param>
/// <param name="StoredRun">The run as stored now (null when it is gone).</param>
public sealed record StateConflict(TaskInstanceChange? TaskInstance, TaskInstance? StoredTaskInstance, DagRunChange? DagRun, DagRun? StoredRun);

/// <summary>
/// State changes written together in one transaction (the scheduler's changes of one pass). Each change is a
/// compare-and-set: a change whose row was changed meanwhile by another writer is not written and is reported as a
/// <see cref="StateConflict"/>; the others are. A database error rolls back the whole batch.
/// </summary>
public sealed record StateBatch
{
    /// <summary>Task instances to insert or change.</summary>
    public IReadOnlyCollection<TaskInstanceChange> TaskInstances { get; init; } = [];

    /// <summary>DAG runs whose state and dates to change.</summary>
    public IReadOnlyCollection<DagRunChange> DagRuns { get; init; } = [];

    /// <summary>
    /// Records of tries that ended, written whatever the task instance's state is now: a try's history is a fact even
    /// when a user changed the task instance's state while it ran.
    /// </summary>
    public IReadOnlyCollection<TaskInstanceTry> FinishedTries { get; init; } = [];

    /// <summary>Whether there is nothing to write.</summary>
    public bool IsEmpty => TaskInstances.Count == 0 && DagRuns.Count == 0 && FinishedTries.Count == 0;
}

/// <summary>What to clear (Airflow's clear): task instances go back to no state with one more try allowed.</summary>
public sealed record ClearRequest
{
    /// <summary>The DAG.</summary>
    public required string DagId { get; init; }

    /// <summary>The runs to clear in.</summary>
    public required IReadOnlyCollection<string> RunIds { get; init; }

    /// <summary>Only these tasks (already expanded to downstream tasks when wanted); null for all.</summary>
    public IReadOnlyCollection<string>? TaskIds { get; init; }

    /// <summary>Only failed and upstream_failed task instances.</summary>
    public bool OnlyFailed { get; init; }

    /// <summary>Report what would be cleared without changing anything.</summary>
    public bool DryRun { get; init; }

    /// <summary>Each task's retries (to allow as many tries again); a task missing here gets none.</summary>
    public IReadOnlyDictionary<string, int> Retries { get; init; } = new Dictionary<string, int>();

    /// <summary>Who clears, and through what.</summary>
    public required StateActor Actor { get; init; }
}

/// <summary>A state change lost to another writer: the row is no longer in the state the writer saw.</summary>
public sealed class StateConflictException : SiroccoException
{
    /// <summary>Creates the exception.</summary>
    public StateConflictException(string message)
        : base(message)
    {
    }
}

/// <summary>A DAG run with the same run id or logical date already exists.</summary>
public sealed class DagRunExistsException : SiroccoException
{
    /// <summary>Creates the exception naming the run that exists.</summary>
    public DagRunExistsException(string dagId, string existingRunId, string message)
        : base(message)
    {
        DagId = dagId;
        ExistingRunId = existingRunId;
    }

    /// <summary>The DAG.</summary>
    public string DagId { get; }

    /// <summary>The run that exists.</summary>
    public string ExistingRunId { get; }
}
