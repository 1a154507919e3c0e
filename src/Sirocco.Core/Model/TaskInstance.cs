namespace Sirocco;

/// <summary>A task in a DAG run, with its state and current try.</summary>
public sealed record TaskInstance
{
    /// <summary>The DAG.</summary>
    public required string DagId { get; init; }

    /// <summary>The task.</summary>
    public required string TaskId { get; init; }

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>Index in a mapped task; -1 for an unmapped task.</summary>
    public int MapIndex { get; init; } = -1;

    /// <summary>The state.</summary>
    public TaskInstanceState State { get; init; } = TaskInstanceState.None;

    /// <summary>The current or last try, counted from 1; 0 before the first try.</summary>
    public int TryNumber { get; init; }

    /// <summary>Tries allowed in all: retries + 1.</summary>
    public int MaxTries { get; init; } = 1;

    /// <summary>When the current try started.</summary>
    public DateTimeOffset? StartDate { get; init; }

    /// <summary>When the last try ended.</summary>
    public DateTimeOffset? EndDate { get; init; }

    /// <summary>When the instance was queued.</summary>
    public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>For <see cref="TaskInstanceState.UpForRetry"/>: when the next try may start.</summary>
    public DateTimeOffset? NextRetryAt { get; init; }

    /// <summary>The host that ran the try.</summary>
    public string? Hostname { get; init; }

    /// <summary>The operator's type name.</summary>
    public string? Operator { get; init; }

    /// <summary>The pool.</summary>
    public string Pool { get; init; } = "default_pool";

    /// <summary>Pool slots taken.</summary>
    public int PoolSlots { get; init; } = 1;

    /// <summary>Priority among runnable tasks.</summary>
    public int PriorityWeight { get; init; } = 1;

    /// <summary>Where the task's work ran, e.g. <c>namespace/pod-name</c> for a pod.</summary>
    public string? ExternalId { get; init; }

    /// <summary>
    /// Who set the current state from outside the scheduler (a user marking or clearing it, e.g. <c>admin via web UI</c>);
    /// null when the scheduler set it.
    /// </summary>
    public string? ChangedBy { get; init; }

    /// <summary>A mapped instance's name rendered from its task's <c>map_index_template</c>, shown instead of its index; null when none.</summary>
    public string? RenderedMapIndex { get; init; }

    /// <summary>Duration of the last try.</summary>
    public TimeSpan? Duration => StartDate is { } s && EndDate is { } e ? e - s : null;

    /// <summary>A key unique across task instances: <c>dag/task/run/map_index</c>.</summary>
    public string Key => $"{DagId}/{TaskId}/{RunId}/{MapIndex}";
}

/// <summary>One finished or running try of a task instance, kept for history.</summary>
public sealed record TaskInstanceTry
{
    /// <summary>The DAG.</summary>
    public required string DagId { get; init; }

    /// <summary>The task.</summary>
    public required string TaskId { get; init; }

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>Index in a mapped task; -1 for an unmapped task.</summary>
    public int MapIndex { get; init; } = -1;

    /// <summary>The try number, from 1.</summary>
    public required int TryNumber { get; init; }

    /// <summary>The try's final (or current) state.</summary>
    public TaskInstanceState State { get; init; }

    /// <summary>When the try started.</summary>
    public DateTimeOffset? StartDate { get; init; }

    /// <summary>When the try ended.</summary>
    public DateTimeOffset? EndDate { get; init; }

    /// <summary>The host that ran the try.</summary>
    public string? Hostname { get; init; }

    /// <summary>Where the work ran (for a pod: namespace/name).</summary>
    public string? ExternalId { get; init; }
}
