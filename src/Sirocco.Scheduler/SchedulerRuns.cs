using Sirocco.Scheduling;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>Runs: scheduled run creation, queued runs started within max_active_runs, task readiness by trigger rules and depends_on_past, run ends and timeouts.</summary>
public sealed partial class SiroccoScheduler
{
    private async Task<List<DateTimeOffset>> CreateScheduledRunsAsync(CancellationToken ct)
    {
        var wakeTimes = new List<DateTimeOffset>();
        var now = _time.GetUtcNow();
        foreach (var dag in _dags.Values)
        {
            if (!_dagModels.TryGetValue(dag.DagId, out var model) || model.IsPaused)
            {
                continue;
            }

            if (!_lastAutomated.TryGetValue(dag.DagId, out var last))
            {
                last = await LastAutomatedIntervalAsync(dag.DagId, ct).ConfigureAwait(false);
            }

            var catchup = dag.Catchup ?? _options.CatchupByDefault;
            var maxRuns = dag.MaxActiveRuns ?? _options.MaxActiveRunsPerDag;
            while (dag.Schedule.Next(last, dag.StartDate, dag.EndDate, catchup, now) is { } next)
            {
                if (next.RunAfter > now)
                {
                    wakeTimes.Add(next.RunAfter);
                    break;
                }

                if (ActiveRunCount(dag.DagId) >= maxRuns)
                {
                    break; // a run slot frees when a run ends, which wakes the loop
                }

                var run = DagRun.Create(dag.DagId, DagRunType.Scheduled, next.LogicalDate, next.Interval, now);
                try
                {
                    await _store.CreateDagRunAsync(run, JobId, ct).ConfigureAwait(false);
                    SchedulerLog.RunCreated(_log, run.DagId, run.RunId);
                }
                catch (DagRunExistsException)
                {
                    // Already created (by an earlier life of this scheduler, another scheduler, or a backfill): move past
                    // it, taking it if nobody holds it.
                    if (!await _store.ClaimRunAsync(JobId, run.DagId, run.RunId, ct).ConfigureAwait(false))
                    {
                        last = next.Interval;
                        _lastAutomated[dag.DagId] = last;
                        continue;
                    }
                }

                last = next.Interval;
                _lastAutomated[dag.DagId] = last;
                var stored = await _store.GetDagRunAsync(run.DagId, run.RunId, ct).ConfigureAwait(false);
                if (stored is { State: DagRunState.Queued or DagRunState.Running } && !_runs.ContainsKey((run.DagId, run.RunId)))
                {
                    await ActivateRunAsync(stored, ct).ConfigureAwait(false);
                }
            }

            _lastAutomated[dag.DagId] = last;
        }

        return wakeTimes;
    }

    private async Task<DataInterval?> LastAutomatedIntervalAsync(string dagId, CancellationToken ct)
    {
        DataInterval? last = null;
        var offset = 0;
        while (true)
        {
            var page = await _store.ListDagRunsAsync(new DagRunQuery { DagId = dagId, Limit = 500, Offset = offset }, ct).ConfigureAwait(false);
            var found = page.FirstOrDefault(r => r.RunType == DagRunType.Scheduled);
            if (found is not null)
            {
                return found.DataInterval;
            }

            if (page.Count < 500)
            {
                return last;
            }

            offset += page.Count;
        }
    }

    // Tasks of a paused DAG do not start (running ones finish), as in Airflow; dags test and backfill ignore it.
    private bool IsPaused(string dagId) => _onlyRuns is null && (_dagModels.GetValueOrDefault(dagId)?.IsPaused ?? false);

    private int ActiveRunCount(string dagId) => _runs.Values.Count(r => r.Run.DagId == dagId && r.Run.State is DagRunState.Running or DagRunState.Queued);

    private async Task StartQueuedRunsAsync(CancellationToken ct)
    {
        foreach (var group in _runs.Values.Where(r => r.Run.State == DagRunState.Queued).GroupBy(r => r.Run.DagId).ToList())
        {
            var dag = _dags[group.Key];
            var paused = _dagModels.GetValueOrDefault(group.Key)?.IsPaused ?? true;
            var max = dag.MaxActiveRuns ?? _options.MaxActiveRunsPerDag;
            var running = _runs.Values.Count(r => r.Run.DagId == group.Key && r.Run.State == DagRunState.Running);
            foreach (var run in group.OrderBy(r => r.Run.LogicalDate))
            {
                // As in Airflow: runs of a paused DAG stay queued, manual ones included.
                if (paused || running >= max)
                {
                    break;
                }

                SetRun(run, run.Run with { State = DagRunState.Running, StartDate = _time.GetUtcNow() });
                run.Dirty = true;
                running++;
            }
        }
    }

    private async Task ActivateRunAsync(DagRun run, CancellationToken ct)
    {
        if (!_dags.TryGetValue(run.DagId, out var dag))
        {
            return;
        }

        var seenState = run.State;
        if (_onlyRuns is not null && run.State == DagRunState.Queued)
        {
            run = run with { State = DagRunState.Running, StartDate = _time.GetUtcNow() };
            _writes.SetRun(seenState, run);
        }

        var tis = new RunTaskInstances(await _store.ListTaskInstancesAsync(run.DagId, run.RunId, ct).ConfigureAwait(false));
        var weights = Weights(dag);
        foreach (var task in dag.Tasks)
        {
            if (!tis.HasTask(task.TaskId))
            {
                // A mapped task has one instance (index -1) until it is expanded.
                var ti = new TaskInstance
                {
                    DagId = dag.DagId,
                    TaskId = task.TaskId,
                    RunId = run.RunId,
                    State = _onlyTask is null || _onlyTask == task.TaskId ? TaskInstanceState.None : TaskInstanceState.Removed,
                    MaxTries = task.Retries + 1,
                    Operator = task.OperatorName,
                    Pool = task.Pool,
                    PoolSlots = task.PoolSlots,
                    PriorityWeight = weights[task.TaskId],
                };
                _writes.Insert(ti);
                tis.Put(ti);
            }
        }

        foreach (var ti in tis.Values.Where(t => !dag.HasTask(t.TaskId) && !t.State.IsFinished()).ToList())
        {
            var removed = ti with { State = TaskInstanceState.Removed, ChangedBy = null };
            tis.Put(removed);
            _writes.Set(ti, removed);
        }

        var active = new ActiveRun(run, dag, tis) { Span = SchedulerMetrics.StartRunSpan(run, _time.GetUtcNow()) };
        _runs[(run.DagId, run.RunId)] = active;
        _changes++;
        await ResumeTriesAsync(active, ct).ConfigureAwait(false);
    }

    private IReadOnlyList<BaseOperator> Order(Dag dag)
    {
        if (!_order.TryGetValue(dag.DagId, out var order))
        {
            order = dag.TopologicalOrder();
            _order[dag.DagId] = order;
        }

        return order;
    }

    private IReadOnlyDictionary<string, int> Weights(Dag dag)
    {
        if (!_weights.TryGetValue(dag.DagId, out var w))
        {
            w = PriorityWeights.Compute(dag);
            _weights[dag.DagId] = w;
        }

        return w;
    }

    /// <summary>Moves a running run's task instances along; finishes the run when all are done.</summary>
    private async Task<DateTimeOffset?> UpdateRunAsync(ActiveRun run, CancellationToken ct)
    {
        if (run.Run.State != DagRunState.Running)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        DateTimeOffset? wakeAt = null;

        if (run.Dag.DagrunTimeout is { } limit && run.Run.StartDate is { } started)
        {
            if (now - started >= limit)
            {
                await TimeOutRunAsync(run, ct).ConfigureAwait(false);
                return null;
            }

            wakeAt = started + limit;
        }

        // Retries whose delay has passed become schedulable; the others wake the loop when due.
        foreach (var ti in run.Tis.Values.Where(t => t.State == TaskInstanceState.UpForRetry).ToList())
        {
            if (ti.NextRetryAt is { } at && at > now)
            {
                wakeAt = wakeAt is { } w && w <= at ? w : at;
                continue;
            }

            Set(run, ti with { State = TaskInstanceState.Scheduled });
        }

        if (run.Dirty)
        {
            run.Dirty = false;
            var changed = true;
            while (changed)
            {
                changed = false;
                foreach (var task in Order(run.Dag))
                {
                    var waiting = run.Tis.Of(task.TaskId).Where(t => t.State == TaskInstanceState.None).ToList();
                    if (waiting.Count == 0)
                    {
                        continue;
                    }

                    var readiness = _onlyTask == task.TaskId
                        ? Readiness.Run
                        : TriggerRules.Evaluate(task.TriggerRule, UpstreamCounts.Of(task.UpstreamTaskIds.SelectMany(run.Tis.Of).Select(t => t.State)));
                    if (readiness == Readiness.Run && task.DependsOnPast && !await PastSucceededAsync(run, task, ct).ConfigureAwait(false))
                    {
                        readiness = Readiness.Wait;
                    }

                    if (readiness == Readiness.Run && task.IsMapped)
                    {
                        changed |= await ExpandAsync(run, task, waiting, ct).ConfigureAwait(false);
                        continue;
                    }

                    if (readiness == Readiness.Run && EndsWithoutTry(task))
                    {
                        foreach (var ti in waiting)
                        {
                            var done = SucceededWithoutTry(ti, now);
                            Set(run, done);
                            TaskInstanceFinished?.Invoke(done);
                        }

                        changed = true; // its downstream tasks may be ready in this same pass
                        continue;
                    }

                    var state = readiness switch
                    {
                        Readiness.Run => TaskInstanceState.Scheduled,
                        Readiness.Skip => TaskInstanceState.Skipped,
                        Readiness.UpstreamFailed => TaskInstanceState.UpstreamFailed,
                        _ => TaskInstanceState.None,
                    };
                    if (state != TaskInstanceState.None)
                    {
                        var end = state is TaskInstanceState.Skipped or TaskInstanceState.UpstreamFailed ? now : (DateTimeOffset?)null;
                        foreach (var ti in waiting)
                        {
                            Set(run, ti with { State = state, EndDate = end ?? ti.EndDate });
                        }

                        changed |= state != TaskInstanceState.Scheduled;
                    }
                }
            }

            if (run.Tis.Values.All(t => t.State.IsFinished()))
            {
                await FinishRunAsync(run, ct).ConfigureAwait(false);
                return null;
            }
        }

        return wakeAt;
    }

    /// <summary>
    /// As Airflow's scheduler: an EmptyOperator with no <c>on_execute_callback</c>, no <c>on_success_callback</c> and
    /// no outlets succeeds as soon as it is ready, without a try, a slot or a log (<c>tasks test</c> of it still runs it).
    /// </summary>
    private bool EndsWithoutTry(BaseOperator task) =>
        task is EmptyOperator && _onlyTask != task.TaskId && task.Outlets.Count == 0
        && !HasCallbacks(task, "on_execute_callback") && !HasCallbacks(task, "on_success_callback");

    /// <summary>
    /// The instance of such a task, ended: its try number goes up as for a try (Airflow 2.10 and 3 do the same), though
    /// no try runs.
    /// </summary>
    private static TaskInstance SucceededWithoutTry(TaskInstance ti, DateTimeOffset now) =>
        ti with { State = TaskInstanceState.Success, TryNumber = ti.TryNumber + 1, StartDate = now, EndDate = now, Hostname = null };

    private static bool HasCallbacks(BaseOperator task, string kind) => task.TaskCallbacks.TryGetValue(kind, out var callbacks) && callbacks.Count > 0;

    private async Task<bool> PastSucceededAsync(ActiveRun run, BaseOperator task, CancellationToken ct)
    {
        // The task's instance in the previous run (by logical date) must have succeeded or been skipped.
        // Runs this loop holds are newer than the store (their writes may still be pending).
        var earlier = await _store.ListDagRunsAsync(new DagRunQuery { DagId = run.Run.DagId, Limit = 1000 }, ct).ConfigureAwait(false);
        var previous = earlier.Where(r => r.LogicalDate < run.Run.LogicalDate).MaxBy(r => r.LogicalDate);
        if (previous is null)
        {
            return true;
        }

        var ti = _runs.TryGetValue((previous.DagId, previous.RunId), out var held)
            ? held.Tis.Of(task.TaskId).FirstOrDefault()
            : await _store.GetTaskInstanceAsync(previous.DagId, task.TaskId, previous.RunId, -1, ct).ConfigureAwait(false);
        return ti is null || ti.State is TaskInstanceState.Success or TaskInstanceState.Skipped;
    }

    private async Task FinishRunAsync(ActiveRun run, CancellationToken ct)
    {
        // A run fails when a leaf task failed or is upstream_failed, as in Airflow.
        var leaves = run.Dag.Tasks.Where(t => t.DownstreamTaskIds.Count == 0).SelectMany(t => run.Tis.Of(t.TaskId)).Select(t => t.State);
        var failed = leaves.Any(s => s is TaskInstanceState.Failed or TaskInstanceState.UpstreamFailed);
        SetRun(run, run.Run with { State = failed ? DagRunState.Failed : DagRunState.Success, EndDate = _time.GetUtcNow() });
        _dagCallbacks.Request(run.Dag, run.Run, failed ? "task_failure" : "success", run.Tis.Values);
        SchedulerMetrics.RunFinished(run.Run, run.Span);
        LogRunFinished(run.Run);
        _runs.Remove((run.Run.DagId, run.Run.RunId));
        _changes++;
    }

    private async Task TimeOutRunAsync(ActiveRun run, CancellationToken ct)
    {
        foreach (var ti in run.Tis.Values.Where(t => !t.State.IsFinished()).ToList())
        {
            if (_running.TryGetValue(ti.Key, out var r))
            {
                await KillTryAsync(r, $"the DAG run exceeded its dagrun_timeout ({run.Dag.DagrunTimeout})").ConfigureAwait(false);
            }

            Set(run, ti with { State = TaskInstanceState.Skipped, EndDate = _time.GetUtcNow() });
        }

        SetRun(run, run.Run with { State = DagRunState.Failed, EndDate = _time.GetUtcNow() });
        _dagCallbacks.Request(run.Dag, run.Run, "timed_out", run.Tis.Values);
        SchedulerMetrics.RunFinished(run.Run, run.Span);
        LogRunFinished(run.Run);
        _runs.Remove((run.Run.DagId, run.Run.RunId));
    }

    private void LogRunFinished(DagRun run) =>
        SchedulerLog.RunFinished(_log, run.DagId, run.RunId, run.State.ToName(), ((run.EndDate ?? _time.GetUtcNow()) - (run.StartDate ?? run.QueuedAt ?? run.EndDate ?? _time.GetUtcNow())).TotalSeconds);

    /// <summary>Ends a running try, saying why in the scheduler's log (its own log says it too).</summary>
    private Task KillTryAsync(RunningTry running, string reason)
    {
        SchedulerLog.TryKilled(_log, running.Ti.DagId, running.Ti.TaskId, running.Ti.RunId, running.Ti.TryNumber, reason);
        return running.Control.KillAsync(reason);
    }
}
