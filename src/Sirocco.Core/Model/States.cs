namespace Sirocco;

/// <summary>The state of a task instance, as Airflow names them (<see cref="StateNames"/> gives the snake_case text).</summary>
public enum TaskInstanceState
{
    /// <summary>No state yet: dependencies not met or not considered.</summary>
    None,

    /// <summary>Dependencies met; waiting for a slot.</summary>
    Scheduled,

    /// <summary>Handed to the runner.</summary>
    Queued,

    /// <summary>A try is running.</summary>
    Running,

    /// <summary>Finished successfully.</summary>
    Success,

    /// <summary>Failed with no retries left.</summary>
    Failed,

    /// <summary>Failed; another try will run after the retry delay.</summary>
    UpForRetry,

    /// <summary>A sensor in reschedule mode waiting for its next poke.</summary>
    UpForReschedule,

    /// <summary>An upstream task failed, so this one will not run.</summary>
    UpstreamFailed,

    /// <summary>Skipped.</summary>
    Skipped,

    /// <summary>The task no longer exists in the DAG.</summary>
    Removed,
}

/// <summary>The state of a DAG run.</summary>
public enum DagRunState
{
    /// <summary>Created, waiting for a run slot (max_active_runs).</summary>
    Queued,

    /// <summary>Tasks are being scheduled.</summary>
    Running,

    /// <summary>Every leaf task succeeded or was skipped.</summary>
    Success,

    /// <summary>A leaf task failed or the run timed out.</summary>
    Failed,
}

/// <summary>How a DAG run came to be.</summary>
public enum DagRunType
{
    /// <summary>Created by the scheduler for a data interval.</summary>
    Scheduled,

    /// <summary>Triggered by a user or the API.</summary>
    Manual,

    /// <summary>Created by a backfill.</summary>
    Backfill,

    /// <summary>Created when the datasets (assets) the DAG is scheduled on were updated.</summary>
    DatasetTriggered,
}

/// <summary>Airflow's text for states and run types (<c>up_for_retry</c>, <c>scheduled</c>, ...).</summary>
public static class StateNames
{
    /// <summary>The snake_case name of a task instance state (<c>null</c> text for <see cref="TaskInstanceState.None"/> is "none").</summary>
    public static string ToName(this TaskInstanceState state) => state switch
    {
        TaskInstanceState.None => "none",
        TaskInstanceState.UpForRetry => "up_for_retry",
        TaskInstanceState.UpForReschedule => "up_for_reschedule",
        TaskInstanceState.UpstreamFailed => "upstream_failed",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>The lower-case name of a DAG run state.</summary>
    public static string ToName(this DagRunState state) => state.ToString().ToLowerInvariant();

    /// <summary>The lower-case name of a run type; also the prefix of its run ids.</summary>
    public static string ToName(this DagRunType type) => type == DagRunType.DatasetTriggered ? "dataset_triggered" : type.ToString().ToLowerInvariant();

    /// <summary>Parses a task instance state name; the error lists the valid names.</summary>
    public static TaskInstanceState ParseTaskInstanceState(string name)
    {
        foreach (var s in Enum.GetValues<TaskInstanceState>())
        {
            if (string.Equals(s.ToName(), name, StringComparison.OrdinalIgnoreCase))
            {
                return s;
            }
        }

        throw new SiroccoException(
            $"unknown task state '{name}'; valid states: {string.Join(", ", Enum.GetValues<TaskInstanceState>().Select(s => s.ToName()))}");
    }

    /// <summary>Parses a DAG run state name.</summary>
    public static DagRunState ParseDagRunState(string name) =>
        Enum.TryParse<DagRunState>(name, ignoreCase: true, out var s) && !int.TryParse(name, out _)
            ? s
            : throw new SiroccoException($"unknown DAG run state '{name}'; valid states: queued, running, success, failed");

    /// <summary>Parses a run type name.</summary>
    public static DagRunType ParseDagRunType(string name) =>
        name is "dataset_triggered" or "asset_triggered" ? DagRunType.DatasetTriggered
        : Enum.TryParse<DagRunType>(name, ignoreCase: true, out var t) && !int.TryParse(name, out _) && t != DagRunType.DatasetTriggered
            ? t
            : throw new SiroccoException($"unknown run type '{name}'; valid types: scheduled, manual, backfill, dataset_triggered");

    /// <summary>Whether no further change is expected without a user clearing the task.</summary>
    public static bool IsFinished(this TaskInstanceState state) =>
        state is TaskInstanceState.Success or TaskInstanceState.Failed or TaskInstanceState.Skipped
            or TaskInstanceState.UpstreamFailed or TaskInstanceState.Removed;
}
