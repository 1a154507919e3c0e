using Sirocco.Scheduling;

namespace Sirocco;

/// <summary>What a task try sees while it runs: its run, dates, try number, rendered fields and a log.</summary>
public sealed class TaskExecutionContext
{
    /// <summary>Creates the context of one try.</summary>
    public TaskExecutionContext(DagRun dagRun, TaskInstance taskInstance, Action<string> log, CancellationToken shutdown)
    {
        DagRun = dagRun;
        TaskInstance = taskInstance;
        Log = log;
        Shutdown = shutdown;
    }

    /// <summary>The DAG run the try belongs to.</summary>
    public DagRun DagRun { get; }

    /// <summary>The task instance, with its try number.</summary>
    public TaskInstance TaskInstance { get; }

    /// <summary>The run's data interval.</summary>
    public DataInterval DataInterval => DagRun.DataInterval;

    /// <summary>Writes one line to the try's log (secrets are masked by the writer).</summary>
    public Action<string> Log { get; }

    /// <summary>
    /// Cancelled when the process shuts down (not when the try is killed): an operator that can outlive the process,
    /// such as a pod, keeps it running and is re-attached later.
    /// </summary>
    public CancellationToken Shutdown { get; }
}
