using System.Text.Json.Nodes;
using System.Threading.Channels;
using Sirocco.Scheduling;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>
/// The scheduler: creates DAG runs per schedule, decides which task instances may run (trigger rules, limits, pools,
/// priorities, retries), starts tries and records their outcomes. One loop owns all state changes; tries run as async
/// tasks and post their outcome back, which wakes the loop at once. The store is re-read periodically only to see
/// changes made by other processes (CLI, web server).
/// </summary>
public sealed partial class SiroccoScheduler
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);
    private static readonly Task Never = new TaskCompletionSource().Task;

    private readonly IMetadataStore _store;
    private readonly IDagSource _source;
    private readonly SchedulerServices _services;
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly TryRunner _runner;
    private readonly Channel<TryOutcome> _outcomes = Channel.CreateUnbounded<TryOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<(string DagId, string RunId), ActiveRun> _runs = [];
    private readonly Dictionary<string, RunningTry> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DataInterval?> _lastAutomated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, int>> _weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<BaseOperator>> _order = new(StringComparer.Ordinal);
    private Dictionary<string, Dag> _dags = new(StringComparer.Ordinal);
    private Dictionary<string, DagModel> _dagModels = new(StringComparer.Ordinal);
    private Dictionary<string, Pool> _pools = new(StringComparer.Ordinal);
    private HashSet<(string, string)>? _onlyRuns;
    private bool _dagsChanged = true;
    private bool _recovered;
    private readonly PendingWrites _writes = new();
    private string? _onlyTask;
    private long _changes;
    private int _sweepRequested;

    /// <summary>Creates a scheduler.</summary>
    /// <param name="store">The metadata store.</param>
    /// <param name="source">Where DAGs come from.</param>
    /// <param name="services">Configuration, Variables, Connections and the masker for tries.</param>
    /// <param name="options">Limits and defaults.</param>
    /// <param name="renderer">Renders template fields before each try (none: fields run as written).</param>
    /// <param name="time">The clock (fake in tests).</param>
    public SiroccoScheduler(IMetadataStore store, IDagSource source, SchedulerServices services, SchedulerOptions options, ITaskRenderer? renderer = null, TimeProvider? time = null)
    {
        _store = store;
        _source = source;
        _services = services;
        _options = options;
        _time = time ?? TimeProvider.System;
        _runner = new TryRunner(store, services, renderer, options, _time);
    }

    /// <summary>Raised on the loop after each try ends (for tests and progress output).</summary>
    public event Action<TaskInstance>? TaskInstanceFinished;

    /// <summary>Tries started since the scheduler was created.</summary>
    public int TriesStarted { get; private set; }

    /// <summary>
    /// Runs until <paramref name="shutdown"/> is cancelled. On shutdown no new try starts and running tries are told
    /// to leave their work running (pods are re-attached after the restart).
    /// </summary>
    public async Task RunAsync(CancellationToken shutdown)
    {
        _recovered = true;
        await StartJobAsync(JobTypes.Scheduler, refuseOnSingleSchedulerDatabase: true, shutdown).ConfigureAwait(false);
        var adoptedAway = false;
        try
        {
            await RecoverAsync(shutdown).ConfigureAwait(false);
            var changeWatch = _source.WaitForChangeAsync(shutdown);
            var nextSweep = _time.GetUtcNow();
            while (!shutdown.IsCancellationRequested)
            {
                if (changeWatch.IsCompleted)
                {
                    _dagsChanged = true;
                    changeWatch = _source.WaitForChangeAsync(shutdown);
                }

                var now = _time.GetUtcNow();
                var sweep = now >= nextSweep;
                if (sweep)
                {
                    nextSweep = now + _options.SweepInterval;
                    if (!await _store.HeartbeatJobAsync(JobId, now, shutdown).ConfigureAwait(false))
                    {
                        adoptedAway = true;
                        break;
                    }
                }

                var wakeAt = await TickAsync(sweep, shutdown).ConfigureAwait(false);
                if (wakeAt is null || wakeAt > nextSweep)
                {
                    wakeAt = nextSweep;
                }

                await WaitAsync(wakeAt.Value, changeWatch, shutdown).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }

        await DrainAsync().ConfigureAwait(false);
        if (adoptedAway)
        {
            throw new SiroccoException(
                $"Scheduler {JobId} stops: its heartbeat was older than [scheduler] scheduler_health_check_threshold ({_options.HealthCheckThreshold.TotalSeconds:0} s) and another scheduler adopted its runs; their pods go on under that scheduler.");
        }

        await _store.EndJobAsync(JobId, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the given runs to the end in this process, whatever their DAGs' paused flags, then returns their final
    /// state (for <c>dags test</c> and <c>dags backfill</c>).
    /// </summary>
    /// <param name="runs">The runs, already in the store.</param>
    /// <param name="cancellationToken">Stops the runs (tries are told to shut down).</param>
    /// <param name="onlyTask">When set, only this task runs, ignoring its dependencies; the others are marked removed
    /// (<c>tasks test</c>).</param>
    public async Task<IReadOnlyList<DagRun>> RunToCompletionAsync(IReadOnlyCollection<DagRun> runs, CancellationToken cancellationToken, string? onlyTask = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        _onlyRuns = runs.Select(r => (r.DagId, r.RunId)).ToHashSet();
        _onlyTask = onlyTask;
        await CollectDagsAsync(cancellationToken).ConfigureAwait(false);
        await LoadPoolsAsync(cancellationToken).ConfigureAwait(false);
        await StartJobAsync(JobTypes.Backfill, refuseOnSingleSchedulerDatabase: false, cancellationToken).ConfigureAwait(false);
        var nextBeat = _time.GetUtcNow() + _options.SweepInterval;
        try
        {
            foreach (var r in runs)
            {
                if (!await _store.ClaimRunAsync(JobId, r.DagId, r.RunId, cancellationToken).ConfigureAwait(false))
                {
                    throw new SiroccoException($"DAG run {r.RunId} of {r.DagId} is held by a running scheduler; let it finish the run, or clear it there");
                }

                var stored = await _store.GetDagRunAsync(r.DagId, r.RunId, cancellationToken).ConfigureAwait(false) ?? r;
                await ActivateRunAsync(stored, cancellationToken).ConfigureAwait(false);
            }

            while (_runs.Count > 0 || _running.Count > 0)
            {
                if (_time.GetUtcNow() >= nextBeat)
                {
                    nextBeat = _time.GetUtcNow() + _options.SweepInterval;
                    await _store.HeartbeatJobAsync(JobId, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                }

                var wakeAt = await TickAsync(sweep: false, cancellationToken).ConfigureAwait(false);
                if (_runs.Count == 0 && _running.Count == 0)
                {
                    break;
                }

                await WaitAsync(wakeAt ?? _time.GetUtcNow() + _options.SweepInterval, Never, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await DrainAsync().ConfigureAwait(false);
            await _store.EndJobAsync(JobId, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        }

        var result = new List<DagRun>();
        foreach (var r in runs)
        {
            result.Add((await _store.GetDagRunAsync(r.DagId, r.RunId, cancellationToken).ConfigureAwait(false))!);
        }

        return result;
    }

    /// <summary>
    /// For tests on fake time: one pass of the loop, then waits for every started try to finish and passes again,
    /// until nothing runs; returns when the loop next wants to wake.
    /// </summary>
    internal async Task<DateTimeOffset?> StepAsync(CancellationToken cancellationToken = default)
    {
        if (!_recovered)
        {
            _recovered = true;
            await StartJobAsync(JobTypes.Scheduler, refuseOnSingleSchedulerDatabase: false, cancellationToken).ConfigureAwait(false);
            await RecoverAsync(cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            var before = _changes;
            var wakeAt = await TickAsync(sweep: true, cancellationToken).ConfigureAwait(false);
            if (_running.Count == 0 && !_outcomes.Reader.TryPeek(out _))
            {
                if (_changes == before)
                {
                    return wakeAt;
                }

                continue;
            }

            // An outcome, or a deadline (retry, dagrun_timeout) reached on the fake clock.
            await WaitAsync(wakeAt ?? _time.GetUtcNow() + MaxWait, Never, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>For tests: the tries running now.</summary>
    internal int RunningCount => _running.Count;

    /// <summary>Creates a manual run (state queued) and wakes the loop.</summary>
    public async Task<DagRun> TriggerAsync(string dagId, JsonObject? conf = null, DateTimeOffset? logicalDate = null, CancellationToken cancellationToken = default)
    {
        var run = await CreateManualRunAsync(_store, _dags.GetValueOrDefault(dagId)?.Schedule, dagId, conf, logicalDate ?? _time.GetUtcNow(), _time, cancellationToken).ConfigureAwait(false);
        Wake();
        return run;
    }

    /// <summary>Wakes the loop (after a change it should see at once).</summary>
    public void Wake()
    {
        Interlocked.Exchange(ref _sweepRequested, 1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Creates a manual DAG run in the store, queued: logical date = the trigger time (or the one given), data interval
    /// inferred from the schedule as Airflow does. Usable without a running scheduler (the CLI).
    /// </summary>
    public static async Task<DagRun> CreateManualRunAsync(IMetadataStore store, Schedule? schedule, string dagId, JsonObject? conf, DateTimeOffset logicalDate, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        if (await store.GetDagAsync(dagId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new SiroccoException($"Dag id {dagId} not found");
        }

        logicalDate = logicalDate.ToUniversalTime();
        var run = DagRun.Create(dagId, DagRunType.Manual, logicalDate, (schedule ?? Schedule.None).InferManualDataInterval(logicalDate), time.GetUtcNow(), conf);
        await store.CreateDagRunAsync(run, cancellationToken: cancellationToken).ConfigureAwait(false);
        return run;
    }

    // ---------------------------------------------------------------- the loop

    private async Task<DateTimeOffset?> TickAsync(bool sweep, CancellationToken ct)
    {
        DateTimeOffset? wakeAt = null;
        void WakeAt(DateTimeOffset t) => wakeAt = wakeAt is { } w && w <= t ? w : t;

        while (_outcomes.Reader.TryRead(out var outcome))
        {
            await ApplyOutcomeAsync(outcome, ct).ConfigureAwait(false);
        }

        // What this loop changed is written before it compares its state with the store's.
        await FlushAsync(ct).ConfigureAwait(false);
        if (_onlyRuns is null)
        {
            sweep |= Interlocked.Exchange(ref _sweepRequested, 0) == 1 || _moreToClaim;
            if (_dagsChanged)
            {
                _dagsChanged = false;
                await CollectDagsAsync(ct).ConfigureAwait(false);
                sweep = true;
            }

            if (sweep)
            {
                await SweepStoreAsync(ct).ConfigureAwait(false);
            }
        }

        // Finish what finished first, so that freed run slots are used in this same pass.
        foreach (var t in await UpdateRunsAsync(ct).ConfigureAwait(false))
        {
            WakeAt(t);
        }

        if (_onlyRuns is null)
        {
            foreach (var t in await CreateScheduledRunsAsync(ct).ConfigureAwait(false))
            {
                WakeAt(t);
            }

            await StartQueuedRunsAsync(ct).ConfigureAwait(false);
            foreach (var t in await UpdateRunsAsync(ct).ConfigureAwait(false))
            {
                WakeAt(t);
            }
        }

        await LaunchAsync(ct).ConfigureAwait(false);
        await FlushAsync(ct).ConfigureAwait(false);
        return wakeAt;
    }

    private async Task<List<DateTimeOffset>> UpdateRunsAsync(CancellationToken ct)
    {
        var wakeTimes = new List<DateTimeOffset>();
        foreach (var run in _runs.Values.ToList())
        {
            if (await UpdateRunAsync(run, ct).ConfigureAwait(false) is { } t)
            {
                wakeTimes.Add(t);
            }
        }

        return wakeTimes;
    }

    private async Task WaitAsync(DateTimeOffset wakeAt, Task changeWatch, CancellationToken ct)
    {
        if (_outcomes.Reader.TryPeek(out _))
        {
            return;
        }

        var delay = wakeAt - _time.GetUtcNow();
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        if (delay > MaxWait)
        {
            delay = MaxWait; // timers have a limit; waking early only costs one pass
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timer = Task.Delay(delay, _time, cts.Token);
        var outcome = _outcomes.Reader.WaitToReadAsync(cts.Token).AsTask();
        var wake = _wake.Reader.WaitToReadAsync(cts.Token).AsTask();
        await Task.WhenAny(timer, outcome, wake, changeWatch).ConfigureAwait(false);
        _wake.Reader.TryRead(out _);
        await cts.CancelAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
    }

    // ---------------------------------------------------------------- DAGs and the store

    private async Task CollectDagsAsync(CancellationToken ct)
    {
        var collection = await _source.CollectAsync(ct).ConfigureAwait(false);
        await SyncDagsAsync(_store, collection, _options, _time.GetUtcNow(), ct).ConfigureAwait(false);
        _dags = new Dictionary<string, Dag>(collection.Dags, StringComparer.Ordinal);
        _weights.Clear();
        _order.Clear();
        _dagModels = (await _store.ListDagsAsync(ct).ConfigureAwait(false)).ToDictionary(d => d.DagId, StringComparer.Ordinal);
    }

    /// <summary>
    /// Records a collection of DAGs in the store: a row per DAG (new DAGs paused per
    /// <see cref="SchedulerOptions.DagsArePausedAtCreation"/> or the DAG's own setting; existing ones keep their flag),
    /// DAGs no longer present marked inactive, and import errors replaced by the current ones.
    /// </summary>
    public static async Task SyncDagsAsync(IMetadataStore store, DagCollection collection, SchedulerOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(options);
        var models = (await store.ListDagsAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(d => d.DagId, StringComparer.Ordinal);
        var dags = collection.Dags.Values.Select(dag => new DagModel
        {
            DagId = dag.DagId,
            FileLoc = dag.FileLoc,
            IsPaused = models.GetValueOrDefault(dag.DagId)?.IsPaused ?? dag.IsPausedUponCreation ?? options.DagsArePausedAtCreation,
            IsActive = true,
            LastParsedTime = now,
            Description = dag.Description,
            Schedule = dag.Schedule.Description,
            Owners = string.Join(", ", dag.Tasks.Select(t => t.Owner).Distinct(StringComparer.Ordinal)),
            Tags = [.. dag.Tags],
        }).ToList();
        var errors = collection.ImportErrors.Select(e => new ImportErrorRecord(e.FileName, e.Message, now)).ToList();
        await store.SyncDagsAsync(new DagSync(dags, errors), cancellationToken).ConfigureAwait(false);
    }

    private async Task LoadPoolsAsync(CancellationToken ct) =>
        _pools = (await _store.ListPoolsAsync(ct).ConfigureAwait(false)).ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>Sees what other processes changed: paused flags, pools, triggered and cleared runs.</summary>
    private async Task SweepStoreAsync(CancellationToken ct)
    {
        _dagModels = (await _store.ListDagsAsync(ct).ConfigureAwait(false)).ToDictionary(d => d.DagId, StringComparer.Ordinal);
        await LoadPoolsAsync(ct).ConfigureAwait(false);
        var active = await ClaimRunsAsync(ct).ConfigureAwait(false);

        // Runs this loop holds that another writer finished, requeued or deleted, and task instances a user marked or
        // cleared: the stored state wins, and a try whose task instance is no longer running it is ended.
        var activeRuns = active.ToDictionary(r => (r.DagId, r.RunId));
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

            foreach (var stored in await _store.ListTaskInstancesAsync(key.DagId, key.RunId, ct).ConfigureAwait(false))
            {
                if (run.Tis.TryGetValue(stored.TaskId, out var mine) && (mine.State != stored.State || mine.TryNumber != stored.TryNumber || mine.MaxTries != stored.MaxTries))
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
        run.Tis[stored.TaskId] = stored;
        run.Dirty = true;
        if (_running.TryGetValue(stored.Key, out var r) && (stored.State != TaskInstanceState.Running || stored.TryNumber != r.Ti.TryNumber))
        {
            await r.Control.KillAsync($"its state was set to {stored.State.ToName()} by {stored.ChangedBy ?? "another process"}").ConfigureAwait(false);
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
                    await r.Control.KillAsync($"its state was set to {ti.State.ToName()} by {ti.ChangedBy}").ConfigureAwait(false);
                }
            }
        }

        foreach (var r in _running.Values.Where(r => r.Ti.DagId == key.DagId && r.Ti.RunId == key.RunId).ToList())
        {
            await r.Control.KillAsync(reason).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- runs

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

        var tis = (await _store.ListTaskInstancesAsync(run.DagId, run.RunId, ct).ConfigureAwait(false)).ToDictionary(t => t.TaskId, StringComparer.Ordinal);
        var weights = Weights(dag);
        foreach (var task in dag.Tasks)
        {
            if (!tis.ContainsKey(task.TaskId))
            {
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
                tis[task.TaskId] = ti;
            }
        }

        foreach (var ti in tis.Values.Where(t => !dag.HasTask(t.TaskId) && !t.State.IsFinished()).ToList())
        {
            tis[ti.TaskId] = ti with { State = TaskInstanceState.Removed, ChangedBy = null };
            _writes.Set(ti, tis[ti.TaskId]);
        }

        var active = new ActiveRun(run, dag, tis);
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
                    var ti = run.Tis[task.TaskId];
                    if (ti.State != TaskInstanceState.None)
                    {
                        continue;
                    }

                    var readiness = _onlyTask == task.TaskId
                        ? Readiness.Run
                        : TriggerRules.Evaluate(task.TriggerRule, UpstreamCounts.Of(task.UpstreamTaskIds.Select(u => run.Tis[u].State)));
                    if (readiness == Readiness.Run && task.DependsOnPast && !await PastSucceededAsync(run, task, ct).ConfigureAwait(false))
                    {
                        readiness = Readiness.Wait;
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
                        Set(run, ti with { State = state, EndDate = end ?? ti.EndDate });
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
            ? held.Tis.GetValueOrDefault(task.TaskId)
            : await _store.GetTaskInstanceAsync(previous.DagId, task.TaskId, previous.RunId, -1, ct).ConfigureAwait(false);
        return ti is null || ti.State is TaskInstanceState.Success or TaskInstanceState.Skipped;
    }

    private async Task FinishRunAsync(ActiveRun run, CancellationToken ct)
    {
        // A run fails when a leaf task failed or is upstream_failed, as in Airflow.
        var leaves = run.Dag.Tasks.Where(t => t.DownstreamTaskIds.Count == 0).Select(t => run.Tis[t.TaskId].State);
        var failed = leaves.Any(s => s is TaskInstanceState.Failed or TaskInstanceState.UpstreamFailed);
        SetRun(run, run.Run with { State = failed ? DagRunState.Failed : DagRunState.Success, EndDate = _time.GetUtcNow() });
        _runs.Remove((run.Run.DagId, run.Run.RunId));
        _changes++;
    }

    private async Task TimeOutRunAsync(ActiveRun run, CancellationToken ct)
    {
        foreach (var ti in run.Tis.Values.Where(t => !t.State.IsFinished()).ToList())
        {
            if (_running.TryGetValue(ti.Key, out var r))
            {
                await r.Control.KillAsync($"the DAG run exceeded its dagrun_timeout ({run.Dag.DagrunTimeout})").ConfigureAwait(false);
            }

            Set(run, ti with { State = TaskInstanceState.Skipped, EndDate = _time.GetUtcNow() });
        }

        SetRun(run, run.Run with { State = DagRunState.Failed, EndDate = _time.GetUtcNow() });
        _runs.Remove((run.Run.DagId, run.Run.RunId));
    }

    // ---------------------------------------------------------------- tries

    private async Task LaunchAsync(CancellationToken ct)
    {
        var ready = _runs.Values
            .Where(r => r.Run.State == DagRunState.Running && !IsPaused(r.Run.DagId))
            .SelectMany(r => r.Tis.Values.Where(t => t.State == TaskInstanceState.Scheduled).Select(t => (Run: r, Ti: t)))
            .ToDictionary(c => c.Ti.Key, StringComparer.Ordinal);
        var free = _options.Parallelism - _running.Count;
        if (ready.Count == 0 || free <= 0)
        {
            return;
        }

        // What the pass changed is written first; then the choice is made and written under the start lock, with the
        // slots every scheduler's tries take. A try starts only once its running state is stored, so a crash never
        // loses track of started work; a start that lost to another writer (a user marked or cleared the task
        // meanwhile) does not happen.
        await FlushAsync(ct).ConfigureAwait(false);
        var candidates = ready.Values
            .Where(c => c.Run.Tis.TryGetValue(c.Ti.TaskId, out var now) && now.State == TaskInstanceState.Scheduled)
            .Select(c => new LaunchCandidate(c.Ti, c.Run.Dag.MaxActiveTasks ?? _options.MaxActiveTasksPerDag, c.Run.Run.LogicalDate))
            .ToList();
        var started = new List<TaskInstance>();
        var conflicts = await _store.StartTriesAsync(
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
        var lost = await TakeConflictsAsync(conflicts, ct).ConfigureAwait(false);
        foreach (var ti in started.Where(t => !lost.Contains(t.Key)))
        {
            var run = ready[ti.Key].Run;
            _changes++;
            run.Tis[ti.TaskId] = ti;
            Start(run, ti, resumedExternalId: null);
        }
    }

    private void Start(ActiveRun run, TaskInstance ti, string? resumedExternalId)
    {
        var control = new TryControl();
        TriesStarted++;
        var task = RunTryAsync(run, ti, resumedExternalId, control);
        _running[ti.Key] = new RunningTry(ti, control, task);
    }

    private async Task RunTryAsync(ActiveRun run, TaskInstance ti, string? resumedExternalId, TryControl control)
    {
        await Task.Yield();
        var outcome = await _runner.RunAsync(run.Dag, run.Run, ti, resumedExternalId, control).ConfigureAwait(false);
        await _outcomes.Writer.WriteAsync(outcome, CancellationToken.None).ConfigureAwait(false);
    }

    private Task ApplyOutcomeAsync(TryOutcome outcome, CancellationToken ct)
    {
        _ = ct;
        var ti = outcome.TaskInstance;
        if (_running.Remove(ti.Key, out var running))
        {
            running.Control.Dispose();
        }

        if (outcome.Result == TryResult.Interrupted)
        {
            return Task.CompletedTask; // left running in the store; the next start resumes it
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
            NextRetryAt = state == TaskInstanceState.UpForRetry ? outcome.EndDate + RetryDelays.Next(task!, ti.DagId, run!.Run.LogicalDate, ti.TryNumber + 1) : null,
            ChangedBy = null,
        };

        // The try's record is history: written even when a user changed the task instance meanwhile.
        _writes.FinishedTry(TryRecord(finished));
        if (run is null || !run.Tis.TryGetValue(ti.TaskId, out var current) || current.State != TaskInstanceState.Running || current.TryNumber != ti.TryNumber)
        {
            return Task.CompletedTask; // the run timed out or a user changed the state meanwhile: theirs stands
        }

        Set(run, finished with { MaxTries = current.MaxTries, StartDate = current.StartDate });
        run.Dirty = true;
        TaskInstanceFinished?.Invoke(finished);
        return Task.CompletedTask;
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

    private async Task DrainAsync()
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
    }

    private void Set(ActiveRun run, TaskInstance ti, TaskInstanceTry? tryRecord = null, bool clearXComs = false)
    {
        _changes++;
        var seen = run.Tis[ti.TaskId];
        ti = ti with { ChangedBy = null };
        run.Tis[ti.TaskId] = ti;
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

        return await TakeConflictsAsync(await _store.SaveAsync(_writes.Take(), ct).ConfigureAwait(false), ct).ConfigureAwait(false);
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
                await TakeStoredRunAsync(runChange.After, conflict.StoredRun, ct).ConfigureAwait(false);
            }
        }

        return lost;
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

    private sealed class ActiveRun(DagRun run, Dag dag, Dictionary<string, TaskInstance> tis)
    {
        public DagRun Run { get; set; } = run;

        public Dag Dag { get; } = dag;

        public Dictionary<string, TaskInstance> Tis { get; } = tis;

        public bool Dirty { get; set; } = true;
    }

    private sealed record RunningTry(TaskInstance Ti, TryControl Control, Task Task);
}
