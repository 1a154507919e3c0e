using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
    private readonly ITryExecutor _executor;
    private readonly DagRunCallbacks _dagCallbacks;
    private readonly ILogger _log;
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
    private readonly HashSet<string> _warnedPools = new(StringComparer.Ordinal);
    private HashSet<(string, string)>? _onlyRuns;
    private bool _dagsChanged = true;
    private bool _recovered;
    private readonly PendingWrites _writes = new();
    private string? _onlyTask;
    private long _changes;
    private int _sweepRequested;
    private int _runningGauge;
    private int _queuedGauge;
    private Dictionary<string, string> _loggedImportErrors = new(StringComparer.Ordinal);

    /// <summary>Tries running now (for the executor gauges).</summary>
    internal int RunningTries => Volatile.Read(ref _runningGauge);

    /// <summary>Task instances queued at the last sweep (for the executor gauges).</summary>
    internal int QueuedTries => Volatile.Read(ref _queuedGauge);

    /// <summary><c>[core] parallelism</c>.</summary>
    internal int Parallelism => _options.Parallelism;

    /// <summary>Creates a scheduler.</summary>
    /// <param name="store">The metadata store.</param>
    /// <param name="source">Where DAGs come from.</param>
    /// <param name="services">Configuration, Variables, Connections and the masker for tries.</param>
    /// <param name="options">Limits and defaults.</param>
    /// <param name="renderer">Renders template fields before each try (none: fields run as written).</param>
    /// <param name="time">The clock (fake in tests).</param>
    public SiroccoScheduler(IMetadataStore store, IDagSource source, SchedulerServices services, SchedulerOptions options, ITaskRenderer? renderer = null, TimeProvider? time = null)
        : this(store, source, services, options, time ?? TimeProvider.System, executor: null, renderer)
    {
    }

    /// <summary>A scheduler whose tries run through <paramref name="executor"/> (tests), or through a <see cref="TryRunner"/> when null.</summary>
    internal SiroccoScheduler(IMetadataStore store, IDagSource source, SchedulerServices services, SchedulerOptions options, TimeProvider time, ITryExecutor? executor, ITaskRenderer? renderer = null)
    {
        _store = store;
        _source = source;
        _services = services;
        _options = options;
        _time = time;
        _log = options.LoggerFactory?.CreateLogger(SchedulerLog.Category) ?? NullLogger.Instance;
        _executor = executor ?? new TryRunner(store, services, renderer, options, _time);
        _dagCallbacks = new DagRunCallbacks(store, services, renderer, options, _time, _log);
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
        SchedulerMetrics.Register(this);
        SchedulerMetrics.Beat(); // starting the job records its first heartbeat
        SchedulerLog.Started(_log, JobId, _options.Hostname, Environment.ProcessId);

        // The heartbeat has its own timer, so that a long pass (a slow DAG folder, a thousand tries to start) never
        // makes a live scheduler look dead to the others.
        using var loop = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        var heartbeat = HeartbeatAsync(loop, shutdown);
        try
        {
            await RecoverAsync(loop.Token).ConfigureAwait(false);
            var changeWatch = _source.WaitForChangeAsync(loop.Token);
            var nextSweep = _time.GetUtcNow();
            var failedPasses = 0;
            while (!loop.IsCancellationRequested)
            {
                if (changeWatch.IsCompleted)
                {
                    _dagsChanged = true;
                    changeWatch = _source.WaitForChangeAsync(loop.Token);
                }

                var now = _time.GetUtcNow();
                var sweep = now >= nextSweep;
                if (sweep)
                {
                    nextSweep = now + _options.SweepInterval;
                }

                DateTimeOffset? wakeAt;
                try
                {
                    wakeAt = await TickAsync(sweep, loop.Token).ConfigureAwait(false);
                    failedPasses = 0;
                }
                catch (Exception e) when (IsDatabaseFault(e) && !loop.IsCancellationRequested && ++failedPasses < MaxFailedPasses)
                {
                    // A database that failed a pass (a lost connection, a pool busy past its timeout, a deadlock) is
                    // given time; the pass's unwritten changes were kept, and the next pass compares with the store.
                    var delay = TimeSpan.FromSeconds(Math.Min(1 << (failedPasses - 1), 10));
                    var message = (e.InnerException is System.Data.Common.DbException && e is SiroccoException ? e.Message : e.GetType().Name + ": " + e.Message).ReplaceLineEndings(" ");
                    SchedulerLog.PassFailed(_log, failedPasses, MaxFailedPasses, delay.TotalSeconds, message);
                    _options.LogEcho?.Invoke($"scheduler pass failed on the metadata database (attempt {failedPasses} of {MaxFailedPasses}), retried in {delay.TotalSeconds:0} s: {message}");
                    Interlocked.Exchange(ref _sweepRequested, 1);
                    await Task.Delay(delay, _time, loop.Token).ConfigureAwait(false);
                    continue;
                }

                Volatile.Write(ref _runningGauge, _running.Count);
                if (sweep)
                {
                    Volatile.Write(ref _queuedGauge, _runs.Values.Sum(r => r.Tis.Values.Count(t => t.State == TaskInstanceState.Queued)));
                    await RefreshPoolMetricsAsync(loop.Token).ConfigureAwait(false);
                }

                if (wakeAt is null || wakeAt > nextSweep)
                {
                    wakeAt = nextSweep;
                }

                await WaitAsync(wakeAt.Value, changeWatch, loop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (loop.IsCancellationRequested)
        {
        }

        await loop.CancelAsync().ConfigureAwait(false);
        var adoptedAway = await heartbeat.ConfigureAwait(false);
        await DrainAsync(stopCallbacks: true).ConfigureAwait(false);
        SchedulerMetrics.Unregister(this);
        if (adoptedAway)
        {
            SchedulerLog.AdoptedAway(_log, JobId, _options.HealthCheckThreshold.TotalSeconds);
            throw new SiroccoException(
                $"Scheduler {JobId} stops: its heartbeat was older than [scheduler] scheduler_health_check_threshold ({_options.HealthCheckThreshold.TotalSeconds:0} s) and another scheduler adopted its runs; their pods go on under that scheduler.");
        }

        await _store.EndJobAsync(JobId, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        SchedulerLog.Stopped(_log, JobId);
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
        using var beating = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatAsync(beating, cancellationToken);
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
            await beating.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            await DrainAsync(stopCallbacks: cancellationToken.IsCancellationRequested).ConfigureAwait(false);
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
            await _dagCallbacks.WaitAsync(stop: false).ConfigureAwait(false);
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

    /// <summary>Consecutive passes the database may fail (about a minute of back-off) before the scheduler stops.</summary>
    private const int MaxFailedPasses = 10;

    private static bool IsDatabaseFault(Exception e) =>
        e is System.Data.Common.DbException or TimeoutException
        || (e is SiroccoException && e.InnerException is System.Data.Common.DbException or TimeoutException);

    private async Task<DateTimeOffset?> TickAsync(bool sweep, CancellationToken ct)
    {
        DateTimeOffset? wakeAt = null;
        void WakeAt(DateTimeOffset t) => wakeAt = wakeAt is { } w && w <= t ? w : t;

        while (_outcomes.Reader.TryRead(out var outcome))
        {
            await ApplyOutcomeAsync(outcome, ct).ConfigureAwait(false);
        }

        if (_onlyRuns is null)
        {
            sweep |= Interlocked.Exchange(ref _sweepRequested, 0) == 1 || _moreToClaim;
            if (sweep || _dagsChanged)
            {
                // What this loop changed is written before it compares its state with the store's.
                await FlushAsync(ct).ConfigureAwait(false);
            }

            if (_dagsChanged)
            {
                _dagsChanged = false;
                await CollectDagsAsync(ct).ConfigureAwait(false);
                sweep = true;
            }

            if (sweep)
            {
                await CreateDatasetRunsAsync(ct).ConfigureAwait(false);
                await SweepStoreAsync(ct).ConfigureAwait(false);

                // Pools changed by the CLI, the API or the UI apply from the next sweep.
                await LoadPoolsAsync(ct).ConfigureAwait(false);
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
        var started = _time.GetTimestamp();
        var collection = await _source.CollectAsync(ct).ConfigureAwait(false);
        LogImportErrors(collection, _time.GetElapsedTime(started));
        await SyncDagsAsync(_store, collection, _options, _time.GetUtcNow(), ct).ConfigureAwait(false);
        _dags = new Dictionary<string, Dag>(collection.Dags, StringComparer.Ordinal);
        _weights.Clear();
        _order.Clear();
        _dagModels = (await _store.ListDagsAsync(ct).ConfigureAwait(false)).ToDictionary(d => d.DagId, StringComparer.Ordinal);
    }

    /// <summary>Logs each import error once (while its text stays the same) and the size of the collection.</summary>
    private void LogImportErrors(DagCollection collection, TimeSpan took)
    {
        var now = collection.ImportErrors.ToDictionary(e => e.FileName, e => e.Message, StringComparer.Ordinal);
        foreach (var (file, message) in now)
        {
            if (!_loggedImportErrors.TryGetValue(file, out var before) || before != message)
            {
                SchedulerLog.ImportError(_log, file, message);
            }
        }

        _loggedImportErrors = now;
        SchedulerLog.DagsLoaded(_log, collection.Dags.Count, now.Count, took.TotalMilliseconds);
        SchedulerMetrics.Parsed(now.Count, took, collection.Dags.Count);
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
        var warnings = collection.Dags.Values.SelectMany(d => d.Warnings.Select(w => new DagWarningRecord(d.DagId, w.WarningType, w.Message, now))).ToList();
        await store.SyncDagsAsync(new DagSync(dags, errors) { Warnings = warnings }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pool usage for the pool gauges, read from the store on each sweep while an exporter listens to them.</summary>
    private async Task RefreshPoolMetricsAsync(CancellationToken ct)
    {
        if (!SchedulerMetrics.PoolsObserved)
        {
            return;
        }

        try
        {
            SchedulerMetrics.SetPools(await _store.ListPoolStatsAsync(ct).ConfigureAwait(false), Pool.DefaultSlots);
        }
        catch (Exception e) when (IsDatabaseFault(e))
        {
            // Metrics wait for the next sweep; a failing database is reported by the pass itself.
        }
    }

    private async Task LoadPoolsAsync(CancellationToken ct) =>
        _pools = (await _store.ListPoolsAsync(ct).ConfigureAwait(false)).ToDictionary(p => p.Name, StringComparer.Ordinal);

    private sealed class ActiveRun(DagRun run, Dag dag, RunTaskInstances tis)
    {
        public DagRun Run { get; set; } = run;

        public Dag Dag { get; } = dag;

        public RunTaskInstances Tis { get; } = tis;

        public bool Dirty { get; set; } = true;

        /// <summary>The run's trace span while this scheduler holds it (null when no tracer listens).</summary>
        public System.Diagnostics.Activity? Span { get; init; }
    }

    private sealed record RunningTry(TaskInstance Ti, TryControl Control, Task Task);
}
