using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>Tries: started under the store's start lock, run as async tasks, their outcomes applied; shutdown leaves their work running.</summary>
public sealed partial class SiroccoScheduler
{
    private async Task LaunchAsync(CancellationToken ct)
    {
        var ready = _runs.Values
            .Where(r => r.Run.State == DagRunState.Running && !IsPaused(r.Run.DagId))
            // A task instance whose previous try is still ending (killed after a user cleared it) waits for it.
            .SelectMany(r => r.Tis.Values.Where(t => t.State == TaskInstanceState.Scheduled && !_running.ContainsKey(t.Key)).Select(t => (Run: r, Ti: t)))
            .ToDictionary(c => c.Ti.Key, StringComparer.Ordinal);
        var free = _options.Parallelism - _running.Count;
        if (ready.Count == 0 || free <= 0)
        {
            return;
        }

        WarnUnknownPools(ready.Values.Select(c => c.Ti));

        // In one transaction: what the pass changed, then the choice made under the start lock with the slots every
        // scheduler's tries take. A try starts only once its running state is stored, so a crash never loses track of
        // started work; a start that lost to another writer (a user marked or cleared the task meanwhile) does not
        // happen.
        var candidates = ready.Values
            .Select(c =>
            {
                var task = c.Run.Dag.GetTask(c.Ti.TaskId);
                return new LaunchCandidate(c.Ti, c.Run.Dag.MaxActiveTasks ?? _options.MaxActiveTasksPerDag, c.Run.Run.LogicalDate, task.MaxActiveTisPerDag, task.MaxActiveTisPerDagrun);
            })
            .ToList();
        var started = new List<TaskInstance>();
        var pending = _writes.Take();
        IReadOnlyList<StateConflict> conflicts;
        try
        {
            conflicts = await _store.StartTriesAsync(
                pending,
                usage =>
                {
                    started.Clear();
                    var now = _time.GetUtcNow();
                    foreach (var ti in LaunchDecisions.Choose(candidates, usage, _pools, free))
                    {
                        started.Add(ti with
                        {
                            State = TaskInstanceState.Running,
                            TryNumber = ti.TryNumber + 1,
                            QueuedAt = now,
                            StartDate = now,
                            EndDate = null,
                            NextRetryAt = null,
                            Hostname = _options.Hostname,
                            ExternalId = null,
                            ChangedBy = null,
                        });
                    }

                    return new StateBatch
                    {
                        TaskInstances = [.. started.Select(s => new TaskInstanceChange(ready[s.Key].Ti, s) { Try = TryRecord(s), ClearXComs = true })],
                    };
                },
                ct).ConfigureAwait(false);
        }
        catch
        {
            _writes.Restore(pending); // nothing was committed and no try started: the next pass writes and decides again
            throw;
        }

        var lost = await TakeConflictsAsync(conflicts, ct).ConfigureAwait(false);
        foreach (var ti in started.Where(t => !lost.Contains(t.Key)))
        {
            var run = ready[ti.Key].Run;
            _changes++;
            run.Tis.Put(ti);
            Start(run, ti, resumedExternalId: null);
        }
    }

    private void Start(ActiveRun run, TaskInstance ti, string? resumedExternalId)
    {
        var control = new TryControl();
        TriesStarted++;
        SchedulerMetrics.TryStarted(ti);
        SchedulerLog.TryStarted(_log, ti.DagId, ti.TaskId, ti.RunId, ti.MapIndex, ti.TryNumber);
        var task = RunTryAsync(run, ti, resumedExternalId, control);
        _running[ti.Key] = new RunningTry(ti, control, task);
    }

    private async Task RunTryAsync(ActiveRun run, TaskInstance ti, string? resumedExternalId, TryControl control)
    {
        await Task.Yield();

        // The try's span is the ambient activity while it runs, so the pod's span (Kubernetes code) is its child.
        using var span = SchedulerMetrics.StartTrySpan(run.Span, ti);
        TryOutcome outcome;
        try
        {
            outcome = await _executor.RunAsync(new TryRequest(run.Dag, run.Run, ti, resumedExternalId, MappedArguments(run, ti)), control).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // An executor must report a failure as an outcome; one that throws instead fails the try rather than
            // leave it running forever.
            SchedulerLog.ExecutorThrew(_log, e, ti.DagId, ti.TaskId, ti.RunId, ti.MapIndex, ti.TryNumber);
            outcome = new TryOutcome(ti, TryResult.Failed, $"the executor failed: {e.Message}", _time.GetUtcNow(), null);
        }

        SchedulerMetrics.EndTrySpan(span, outcome.Result);
        await _outcomes.Writer.WriteAsync(outcome, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ApplyOutcomeAsync(TryOutcome outcome, CancellationToken ct)
    {
        var ti = outcome.TaskInstance;
        if (_running.TryGetValue(ti.Key, out var running) && running.Ti.TryNumber == ti.TryNumber)
        {
            _running.Remove(ti.Key);
            running.Control.Dispose();
        }

        if (outcome.Result == TryResult.Interrupted)
        {
            return; // left running in the store; the next start resumes it
        }

        _runs.TryGetValue((ti.DagId, ti.RunId), out var run);
        var task = run?.Dag.HasTask(ti.TaskId) == true ? run.Dag.GetTask(ti.TaskId) : null;
        var state = outcome.Result switch
        {
            TryResult.Success => TaskInstanceState.Success,
            TryResult.Skipped => TaskInstanceState.Skipped,
            _ when ti.TryNumber < ti.MaxTries && task is not null => TaskInstanceState.UpForRetry,
            _ => TaskInstanceState.Failed,
        };
        var finished = ti with
        {
            State = state,
            EndDate = outcome.EndDate,
            ExternalId = outcome.ExternalId ?? ti.ExternalId,
            RenderedMapIndex = outcome.MapIndexName ?? ti.RenderedMapIndex,
            NextRetryAt = state == TaskInstanceState.UpForRetry ? outcome.EndDate + RetryDelays.Next(task!, ti.DagId, run!.Run.LogicalDate, ti.TryNumber + 1) : null,
            ChangedBy = null,
        };

        // The try's record is history: written even when a user changed the task instance meanwhile.
        _writes.FinishedTry(TryRecord(finished));
        SchedulerMetrics.TryFinished(finished, state);
        SchedulerLog.TryFinished(_log, ti.DagId, ti.TaskId, ti.RunId, ti.MapIndex, ti.TryNumber, state.ToName());
        if (run is null || !run.Tis.TryGet(ti.TaskId, ti.MapIndex, out var current) || current.State != TaskInstanceState.Running || current.TryNumber != ti.TryNumber)
        {
            return; // the run timed out or a user changed the state meanwhile: theirs stands
        }

        Set(run, finished with { MaxTries = current.MaxTries, StartDate = current.StartDate });
        foreach (var skipped in outcome.SkipTaskIds.SelectMany(run.Tis.Of).Where(t => t.State == TaskInstanceState.None).ToList())
        {
            // As Airflow's SkipMixin: a branch not taken or a short circuit ends these before they start.
            Set(run, skipped with { State = TaskInstanceState.Skipped, StartDate = outcome.EndDate, EndDate = outcome.EndDate });
        }

        run.Dirty = true;
        TaskInstanceFinished?.Invoke(finished);
        if (state == TaskInstanceState.Success && task is { Outlets.Count: > 0 })
        {
            await RecordDatasetUpdatesAsync(task, finished, ct).ConfigureAwait(false);
        }
    }

    private async Task DrainAsync(bool stopCallbacks)
    {
        // Shutdown: running tries leave their external work running and return quickly.
        foreach (var r in _running.Values.ToList())
        {
            await r.Control.ShutdownAsync().ConfigureAwait(false);
        }

        foreach (var r in _running.Values.ToList())
        {
            try
            {
                await r.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A try that ignores cancellation is abandoned; the restart treats it as interrupted.
            }
        }

        while (_outcomes.Reader.TryRead(out var outcome))
        {
            if (outcome.Result != TryResult.Interrupted)
            {
                await ApplyOutcomeAsync(outcome, CancellationToken.None).ConfigureAwait(false);
            }
        }

        await FlushAsync(CancellationToken.None).ConfigureAwait(false);

        // DAG callbacks of runs that ended: awaited (dags test, backfill), or told to stop (shutdown).
        await _dagCallbacks.WaitAsync(stopCallbacks).ConfigureAwait(false);
    }

    private static TaskInstanceTry TryRecord(TaskInstance ti) => new()
    {
        DagId = ti.DagId,
        TaskId = ti.TaskId,
        RunId = ti.RunId,
        MapIndex = ti.MapIndex,
        TryNumber = ti.TryNumber,
        State = ti.State,
        StartDate = ti.StartDate,
        EndDate = ti.EndDate,
        Hostname = ti.Hostname,
        ExternalId = ti.ExternalId,
    };

    /// <summary>
    /// Says once, in the scheduler's log, which pool is missing and which tasks wait for it (as Airflow's scheduler
    /// does); said again if the pool is deleted after it was created.
    /// </summary>
    private void WarnUnknownPools(IEnumerable<TaskInstance> ready)
    {
        _warnedPools.RemoveWhere(_pools.ContainsKey);
        foreach (var group in ready.Where(t => t.Pool != Pool.DefaultName && !_pools.ContainsKey(t.Pool)).GroupBy(t => t.Pool, StringComparer.Ordinal))
        {
            if (_warnedPools.Add(group.Key))
            {
                var tasks = string.Join(", ", group.Select(t => $"{t.DagId}.{t.TaskId}").Distinct(StringComparer.Ordinal).Take(5));
                SchedulerLog.UnknownPool(_log, group.Key, tasks);
                _options.LogEcho?.Invoke($"Tasks using non-existent pool '{group.Key}' will not be scheduled (waiting: {tasks}); create it with `sirocco pools set {group.Key} SLOTS DESCRIPTION`, the API or Admin > Pools");
            }
        }
    }
}
