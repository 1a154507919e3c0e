using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Variables;

namespace Sirocco.Scheduler;

/// <summary>A DAG file that failed to load.</summary>
/// <param name="FileName">The file.</param>
/// <param name="Message">What went wrong.</param>
public sealed record DagFileError(string FileName, string Message);

/// <summary>The DAGs of a folder at one moment.</summary>
/// <param name="Dags">DAGs by id.</param>
/// <param name="ImportErrors">Files that failed to load.</param>
public sealed record DagCollection(IReadOnlyDictionary<string, Dag> Dags, IReadOnlyList<DagFileError> ImportErrors);

/// <summary>Where the scheduler gets its DAGs (the dags folder in production, a fixed set in tests).</summary>
public interface IDagSource
{
    /// <summary>The current DAGs and import errors.</summary>
    Task<DagCollection> CollectAsync(CancellationToken cancellationToken);

    /// <summary>Completes when the DAGs may have changed (a file was written); never, for a fixed set.</summary>
    Task WaitForChangeAsync(CancellationToken cancellationToken);
}

/// <summary>A fixed set of DAGs built in code.</summary>
public sealed class StaticDagSource : IDagSource
{
    private readonly DagCollection _collection;

    /// <summary>Creates a source of the given DAGs.</summary>
    public StaticDagSource(params Dag[] dags)
    {
        ArgumentNullException.ThrowIfNull(dags);
        foreach (var d in dags)
        {
            d.Validate();
        }

        _collection = new DagCollection(dags.ToDictionary(d => d.DagId, StringComparer.Ordinal), []);
    }

    /// <inheritdoc/>
    public Task<DagCollection> CollectAsync(CancellationToken cancellationToken) => Task.FromResult(_collection);

    /// <inheritdoc/>
    public Task WaitForChangeAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
}

/// <summary>What a template renderer gets to render a try's template fields.</summary>
/// <param name="Dag">The DAG.</param>
/// <param name="DagRun">The run.</param>
/// <param name="TaskInstance">The task instance with its try number.</param>
/// <param name="Services">Configuration, Variables, Connections, the masker.</param>
/// <param name="Store">The metadata store (XComs for <c>ti.xcom_pull</c>, previous runs).</param>
/// <param name="Time">The clock.</param>
/// <param name="TestMode">True for <c>tasks test</c> / <c>dags test</c> runs.</param>
public sealed record RenderRequest(Dag Dag, DagRun DagRun, TaskInstance TaskInstance, SchedulerServices Services, Storage.IMetadataStore Store, TimeProvider Time, bool TestMode = false)
{
    /// <summary>More top-level keys of the context (a callback's <c>reason</c> and <c>exception</c>).</summary>
    public IReadOnlyDictionary<string, string?>? Extra { get; init; }
}

/// <summary>A task with its template fields rendered, and each field's rendered value as text.</summary>
/// <param name="Task">The rendered copy (the DAG's own task is never changed).</param>
/// <param name="Fields">Each template field with its rendered value as text, for the log and <c>tasks render</c>.</param>
public sealed record RenderedTask(BaseOperator Task, IReadOnlyList<KeyValuePair<string, string>> Fields)
{
    /// <summary>A mapped instance's <c>map_index_template</c> rendered (with <c>task</c>'s rendered fields), or null.</summary>
    public string? MapIndexName { get; init; }
}

/// <summary>Renders the template fields of a try's copy of its task.</summary>
public interface ITaskRenderer
{
    /// <summary>
    /// Renders <paramref name="task"/>'s template fields. Throws a <see cref="SiroccoException"/> naming the field,
    /// template and missing name when a template fails.
    /// </summary>
    RenderedTask Render(BaseOperator task, RenderRequest request);
}

/// <summary>The shared services a try uses: configuration, Variables, Connections and the masker.</summary>
/// <param name="Config">The configuration.</param>
/// <param name="Variables">Variables with environment overrides.</param>
/// <param name="Connections">Connections with environment overrides.</param>
/// <param name="Masker">The process's secret masker.</param>
/// <param name="Runtime">The process-wide runtimes operators use (the Kubernetes runtime), built by the composition root.</param>
public sealed record SchedulerServices(SiroccoConfig Config, VariableAccessor Variables, ConnectionAccessor Connections, SecretMasker Masker, IServiceProvider? Runtime = null);

/// <summary>Limits and defaults of the scheduler (from <c>sirocco.cfg</c> by <see cref="FromConfig"/>).</summary>
public sealed record SchedulerOptions
{
    /// <summary><c>[core] parallelism</c>: most tries running at once.</summary>
    public int Parallelism { get; init; } = 32;

    /// <summary><c>[core] max_active_tasks_per_dag</c>.</summary>
    public int MaxActiveTasksPerDag { get; init; } = 16;

    /// <summary><c>[core] max_active_runs_per_dag</c>.</summary>
    public int MaxActiveRunsPerDag { get; init; } = 16;

    /// <summary><c>[core] max_map_length</c>: most instances one mapped task expands into (Airflow's default, 1024).</summary>
    public int MaxMapLength { get; init; } = 1024;

    /// <summary><c>[scheduler] catchup_by_default</c>.</summary>
    public bool CatchupByDefault { get; init; } = true;

    /// <summary><c>[core] dags_are_paused_at_creation</c>.</summary>
    public bool DagsArePausedAtCreation { get; init; } = true;

    /// <summary><c>[logging] base_log_folder</c>: task logs go below it.</summary>
    public required string LogFolder { get; init; }

    /// <summary>
    /// <c>[logging] remote_log_upload_interval</c>: with remote logging, how often a running try's log is uploaded (it
    /// is always uploaded when the try ends).
    /// </summary>
    public TimeSpan RemoteLogUploadInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the store is re-read for changes made by other processes (a safety net, not the hot path).</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where the scheduler's own log goes (category <c>Sirocco.Scheduler</c>); none when null.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Also receives every task log line as written (<c>dags test</c> prints them to the terminal).</summary>
    public Action<string>? LogEcho { get; init; }

    /// <summary>
    /// <c>[scheduler] scheduler_health_check_threshold</c>: a scheduler whose heartbeat is older is dead, and its runs
    /// are adopted by another.
    /// </summary>
    public TimeSpan HealthCheckThreshold { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>[scheduler] scheduler_heartbeat_sec</c>: how often the scheduler's job row is beaten.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>[scheduler] max_dagruns_per_loop_to_schedule</c>: most runs nobody holds that one pass claims.</summary>
    public int MaxRunsToClaimPerLoop { get; init; } = 20;

    /// <summary>The name of this host, recorded with each try.</summary>
    public string Hostname { get; init; } = Environment.MachineName;

    /// <summary>Reads the options from the configuration.</summary>
    public static SchedulerOptions FromConfig(SiroccoConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new SchedulerOptions
        {
            Parallelism = config.GetInt("core", "parallelism"),
            MaxActiveTasksPerDag = config.GetInt("core", "max_active_tasks_per_dag"),
            MaxActiveRunsPerDag = config.GetInt("core", "max_active_runs_per_dag"),
            MaxMapLength = Math.Max(1, config.GetInt("core", "max_map_length")),
            CatchupByDefault = config.GetBool("scheduler", "catchup_by_default"),
            DagsArePausedAtCreation = config.GetBool("core", "dags_are_paused_at_creation"),
            LogFolder = config.Get("logging", "base_log_folder"),
            RemoteLogUploadInterval = TimeSpan.FromSeconds(Math.Max(1, config.GetInt("logging", "remote_log_upload_interval"))),
            HealthCheckThreshold = TimeSpan.FromSeconds(config.GetInt("scheduler", "scheduler_health_check_threshold")),
            HeartbeatInterval = TimeSpan.FromSeconds(Math.Max(1, config.GetInt("scheduler", "scheduler_heartbeat_sec"))),
            MaxRunsToClaimPerLoop = Math.Max(1, config.GetInt("scheduler", "max_dagruns_per_loop_to_schedule")),
        };
    }
}
