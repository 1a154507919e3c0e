using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>Recovery and reconciliation: the store's state wins over this loop's (changes from the UI, API, CLI or another scheduler), runs taken over resume their tries, the pass's writes are compare-and-set.</summary>
public sealed partial class SiroccoScheduler
{
    /// <summary>Sees what other processes changed: paused flags, pools, triggered and cleared runs.</summary>
    private async Task SweepStoreAsync(CancellationToken ct)
    {
        _dagModels = (await _store.ListDagsAsync(ct).ConfigureAwait(false)).ToDictionary(d => d.DagId, StringComparer.Ordinal);
        await LoadPoolsAsync(ct).ConfigureAwait(false);
        var active = await ClaimRunsAsync(ct).ConfigureAwait(false);

        // Runs this loop holds that another writer finished, requeued or deleted, and task instances a user marked or
        // cleared: the stored state wins, and a try whose task instance is no longer running it is ended.
        var activeRuns = active.ToDictionary(r => (r.DagId, r.RunId));

        // Every change from outside (a mark or a clear) writes changed_by, so only those rows can differ from what this
        // loop holds: thousands of running task instances are not read and parsed again on every sweep. Read before the
        // runs are compared, so a change made meanwhile is seen now or on the next sweep.
        var changedOutside = (await _store.ListTaskInstancesChangedOutsideAsync(JobId, ct).ConfigureAwait(false))
            .ToLookup(ti => (ti.DagId, ti.RunId));
        foreach (var run in _runs.Values.ToList())
        {
            var key = (run.Run.DagId, run.Run.RunId);
            var storedRun = activeRuns.TryGetValue(key, out var a) ? a : await _store.GetDagRunAsync(key.DagId, key.RunId, ct).ConfigureAwait(false);
            if (storedRun is { State: DagRunState.Queued or DagRunState.Running } && !activeRuns.ContainsKey(key))
            {
                // Still active but no longer ours: another scheduler adopted it while this one was unresponsive. Its
                // tries go on there; here they are let go without touching their work.
                _runs.Remove(key);
                foreach (var r in _running.Values.Where(r => r.Ti.DagId == key.DagId && r.Ti.RunId == key.RunId).ToList())
                {
                    await r.Control.ShutdownAsync().ConfigureAwait(false);
                }

                continue;
            }

            await TakeStoredRunAsync(run.Run, storedRun, ct).ConfigureAwait(false);
            if (!_runs.ContainsKey(key))
            {
                continue;
            }

            foreach (var stored in changedOutside[key])
            {
                if (run.Tis.TryGet(stored.TaskId, stored.MapIndex, out var mine) && (mine.State != stored.State || mine.TryNumber != stored.TryNumber || mine.MaxTries != stored.MaxTries))
                {
                    await TakeStoredAsync(mine, stored, ct).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Takes a task instance as stored (another writer changed it); ends its try if that try no longer runs.</summary>
    private async Task TakeStoredAsync(TaskInstance mine, TaskInstance? stored, CancellationToken ct)
    {
        if (!_runs.TryGetValue((mine.DagId, mine.RunId), out var run))
        {
            return;
        }

        if (stored is null)
        {
            await TakeStoredRunAsync(run.Run, await _store.GetDagRunAsync(mine.DagId, mine.RunId, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return;
        }

        _changes++;
        run.Tis.Remove(mine); // a lost expansion held the instance under its new map index
        run.Tis.Put(stored);
        run.Dirty = true;
        if (_running.TryGetValue(stored.Key, out var r) && (stored.State != TaskInstanceState.Running || stored.TryNumber != r.Ti.TryNumber))
        {
            await KillTryAsync(r, $"its state was set to {stored.State.ToName()} by {stored.ChangedBy ?? "another process"}").ConfigureAwait(false);
        }
    }

    /// <summary>Takes a run as stored: a run finished or deleted by another writer is let go, its tries ended.</summary>
    private async Task TakeStoredRunAsync(DagRun mine, DagRun? stored, CancellationToken ct)
    {
        var key = (mine.DagId, mine.RunId);
        if (!_runs.TryGetValue(key, out var run) || (stored is not null && stored.State == run.Run.State))
        {
            return;
        }

        _changes++;
        if (stored is { State: DagRunState.Queued or DagRunState.Running })
        {
            run.Run = stored;
            run.Dirty = true;
            return;
        }

        _runs.Remove(key);
        var reason = stored is null ? "its DAG run was deleted" : $"its DAG run was set to {stored.State.ToName()} by another process";
        if (stored is not null)
        {
            // The task instances say who: a run marked from outside marks its unfinished task instances with it.
            foreach (var ti in await _store.ListTaskInstancesAsync(key.DagId, key.RunId, ct).ConfigureAwait(false))
            {
                if (_running.TryGetValue(ti.Key, out var r) && ti.ChangedBy is not null)
                {
                    await KillTryAsync(r, $"its state was set to {ti.State.ToName()} by {ti.ChangedBy}").ConfigureAwait(false);
                }
            }
        }

        foreach (var r in _running.Values.Where(r => r.Ti.DagId == key.DagId && r.Ti.RunId == key.RunId).ToList())
        {
            await KillTryAsync(r, reason).ConfigureAwait(false);
        }
    }

    /// <summary>At start: the DAGs, then the runs this scheduler claims or adopts (their tries resume as they are activated).</summary>
    private async Task RecoverAsync(CancellationToken ct)
    {
        await CollectDagsAsync(ct).ConfigureAwait(false);
        await SweepStoreAsync(ct).ConfigureAwait(false);
        await FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A run this scheduler just took (created, claimed, or adopted from a dead scheduler): tries that were running
    /// resume when their work was recorded (a pod), else count as failed attempts and follow the retry rules; queued
    /// ones go back to scheduled. Nothing that finished runs again.
    /// </summary>
    private async Task ResumeTriesAsync(ActiveRun run, CancellationToken ct)
    {
        foreach (var ti in run.Tis.Values.Where(t => t.State is TaskInstanceState.Queued or TaskInstanceState.Running && run.Dag.HasTask(t.TaskId)).ToList())
        {
            if (_running.ContainsKey(ti.Key))
            {
                continue;
            }

            if (ti.State == TaskInstanceState.Queued || ti.TryNumber == 0)
            {
                Set(run, ti with { State = TaskInstanceState.Scheduled });
            }
            else if (ti.ExternalId is { } external)
            {
                Start(run, ti, external);
            }
            else if (run.Dag.GetTask(ti.TaskId).FindsItsWorkAfterRestart)
            {
                // Interrupted between creating its pod and recording it: the same try looks for its pod by its labels
                // (an empty location: resumed, but nowhere recorded).
                Start(run, ti, resumedExternalId: string.Empty);
            }
            else
            {
                var path = TaskLogPaths.For(_options.LogFolder, ti.DagId, ti.TaskId, run.Run.LogicalDate, ti.TryNumber, ti.MapIndex);
                using (var log = new TaskLogWriter(path, _services.Masker, _time))
                {
                    log.Error($"Try {ti.TryNumber} was interrupted: its scheduler stopped while it ran and it has no external work to resume.");
                }

                await ApplyOutcomeAsync(new TryOutcome(ti, TryResult.Failed, "interrupted by a scheduler restart", _time.GetUtcNow(), null), ct).ConfigureAwait(false);
            }
        }
    }

    private void Set(ActiveRun run, TaskInstance ti, TaskInstanceTry? tryRecord = null, bool clearXComs = false)
    {
        _changes++;
        var seen = run.Tis.Get(ti);
        ti = ti with { ChangedBy = null };
        run.Tis.Put(ti);
        _writes.Set(seen, ti, tryRecord, clearXComs);
    }

    private void SetRun(ActiveRun run, DagRun after)
    {
        _changes++;
        _writes.SetRun(run.Run.State, after);
        run.Run = after;
    }

    /// <summary>
    /// Writes the pass's state changes in one transaction. Changes that lost to another writer (a user who marked,
    /// cleared or deleted meanwhile) are not written: the stored state is taken instead. Returns the keys of the task
    /// instances whose change lost.
    /// </summary>
    private async Task<HashSet<string>> FlushAsync(CancellationToken ct)
    {
        if (_writes.IsEmpty)
        {
            return [];
        }

        var batch = _writes.Take();
        IReadOnlyList<StateConflict> conflicts;
        try
        {
            conflicts = await _store.SaveAsync(batch, ct).ConfigureAwait(false);
        }
        catch
        {
            _writes.Restore(batch); // not committed: written by the next pass
            throw;
        }

        var lost = await TakeConflictsAsync(conflicts, ct).ConfigureAwait(false);

        // The ends of runs are written now: their DAG callbacks start (a run whose end lost was dropped above).
        _dagCallbacks.StartRequested();
        return lost;
    }

    private async Task<HashSet<string>> TakeConflictsAsync(IReadOnlyList<StateConflict> conflicts, CancellationToken ct)
    {
        var lost = new HashSet<string>(StringComparer.Ordinal);
        foreach (var conflict in conflicts)
        {
            if (conflict.TaskInstance is { } change)
            {
                lost.Add(change.After.Key);
                await TakeStoredAsync(change.After, conflict.StoredTaskInstance, ct).ConfigureAwait(false);
            }
            else if (conflict.DagRun is { } runChange)
            {
                _dagCallbacks.Drop(runChange.After.DagId, runChange.After.RunId);
                await TakeStoredRunAsync(runChange.After, conflict.StoredRun, ct).ConfigureAwait(false);
            }
        }

        return lost;
    }
}
