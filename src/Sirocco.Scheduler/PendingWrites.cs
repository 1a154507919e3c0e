using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>
/// The scheduler's state changes of one pass, written in one transaction. Each change remembers the state the
/// scheduler last saw (the first one of the pass), so that the store writes it only if nobody changed the row since.
/// </summary>
internal sealed class PendingWrites
{
    private Dictionary<string, TaskInstanceChange> _tis = new(StringComparer.Ordinal);
    private Dictionary<(string, string), DagRunChange> _runs = [];
    private List<TaskInstanceTry> _finishedTries = [];

    public bool IsEmpty => _tis.Count == 0 && _runs.Count == 0 && _finishedTries.Count == 0;

    /// <summary>A new task instance, inserted unless one with its key exists.</summary>
    public void Insert(TaskInstance ti) => _tis[ti.Key] = TaskInstanceChange.Insert(ti);

    /// <summary>A task instance's change from <paramref name="seen"/> (what the scheduler holds) to <paramref name="after"/>.</summary>
    public void Set(TaskInstance seen, TaskInstance after, TaskInstanceTry? tryRecord = null, bool clearXComs = false)
    {
        // A change of this pass to the same row comes first; a mapped task's expansion renames its row (-1 to 0), so
        // the earlier change is found under the key the row had.
        var before = seen;
        if (_tis.Remove(seen.Key, out var prior))
        {
            before = prior.Before!;
            tryRecord ??= prior.Try;
            clearXComs |= prior.ClearXComs;
            if (prior.Before is null)
            {
                _tis[after.Key] = TaskInstanceChange.Insert(after) with { Try = tryRecord, ClearXComs = clearXComs };
                return;
            }
        }

        _tis[after.Key] = new TaskInstanceChange(before, after) { Try = tryRecord, ClearXComs = clearXComs };
    }

    /// <summary>A run's change from the state the scheduler holds.</summary>
    public void SetRun(DagRunState seen, DagRun after)
    {
        var key = (after.DagId, after.RunId);
        _runs[key] = new DagRunChange(_runs.TryGetValue(key, out var prior) ? prior.ExpectedState : seen, after);
    }

    /// <summary>The record of a try that ended, written whatever its task instance's state is now.</summary>
    public void FinishedTry(TaskInstanceTry attempt) => _finishedTries.Add(attempt);

    /// <summary>
    /// Puts back a batch the store did not commit (the database failed), so that the next pass writes it: a change
    /// made since keeps its new state and takes the batch's expected one, which is still what the store holds.
    /// </summary>
    public void Restore(StateBatch batch)
    {
        foreach (var c in batch.TaskInstances)
        {
            _tis[c.After.Key] = _tis.TryGetValue(c.After.Key, out var later)
                ? later with { Before = c.Before, Try = later.Try ?? c.Try, ClearXComs = later.ClearXComs || c.ClearXComs }
                : c;
        }

        foreach (var c in batch.DagRuns)
        {
            var key = (c.After.DagId, c.After.RunId);
            _runs[key] = _runs.TryGetValue(key, out var later) ? later with { ExpectedState = c.ExpectedState } : c;
        }

        _finishedTries.InsertRange(0, batch.FinishedTries);
    }

    /// <summary>The pass's changes as one batch; starts a new pass.</summary>
    public StateBatch Take()
    {
        var batch = new StateBatch { TaskInstances = [.. _tis.Values], DagRuns = [.. _runs.Values], FinishedTries = _finishedTries };
        _tis = new Dictionary<string, TaskInstanceChange>(StringComparer.Ordinal);
        _runs = [];
        _finishedTries = [];
        return batch;
    }
}

/// <summary>How the scheduler ends a running try: kill it (its work is stopped, with the reason in its log) or leave it
/// running for a restart to resume (shutdown).</summary>
internal sealed class TryControl : IDisposable
{
    private readonly CancellationTokenSource _kill = new();
    private readonly CancellationTokenSource _shutdown = new();

    public CancellationToken Kill => _kill.Token;

    public CancellationToken Shutdown => _shutdown.Token;

    /// <summary>Why the try was killed (e.g. who marked its task instance failed), or null.</summary>
    public string? KillReason { get; private set; }

    public Task KillAsync(string reason)
    {
        KillReason ??= reason;
        return _kill.CancelAsync();
    }

    public Task ShutdownAsync() => _shutdown.CancelAsync();

    public void Dispose()
    {
        _kill.Dispose();
        _shutdown.Dispose();
    }
}
