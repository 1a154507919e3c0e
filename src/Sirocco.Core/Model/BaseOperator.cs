using System.Text.RegularExpressions;

namespace Sirocco;

/// <summary>
/// A task in a DAG. Subclasses (KubernetesPodOperator, EmptyOperator, ...) add what the task does; this class holds
/// what every task has. A property left unset takes the DAG's <c>default_args</c> value, then Airflow's default.
/// Dependencies read like Airflow's: <c>a &gt;&gt; b</c>, <c>a &gt;&gt; [b, c]</c>, <c>b &lt;&lt; a</c>.
/// </summary>
public abstract partial class BaseOperator
{
    private readonly HashSet<string> _upstream = new(StringComparer.Ordinal);
    private readonly HashSet<string> _downstream = new(StringComparer.Ordinal);
    private string? _owner;
    private int? _retries;
    private TimeSpan? _retryDelay;
    private bool? _retryExponentialBackoff;
    private TimeSpan? _maxRetryDelay;
    private TimeSpan? _executionTimeout;
    private TriggerRule? _triggerRule;
    private WeightRule? _weightRule;
    private string? _pool;
    private int? _poolSlots;
    private int? _priorityWeight;
    private bool? _dependsOnPast;
    private bool? _doXcomPush;
    private DateTimeOffset? _startDate;
    private DateTimeOffset? _endDate;

    /// <summary>Creates a task with the given id (letters, digits, '_', '-', '.'; at most 250 characters).</summary>
    protected BaseOperator(string taskId)
    {
        ValidateKey("task_id", taskId);
        TaskId = taskId;
    }

    /// <summary>The task id, unique within its DAG.</summary>
    public string TaskId { get; }

    /// <summary>The DAG the task belongs to, once added.</summary>
    public Dag? Dag { get; internal set; }

    /// <summary>The operator's type name as shown in the UI and CLI (the class name by default).</summary>
    public virtual string OperatorName => GetType().Name;

    /// <summary>The names of the properties rendered as templates before the task runs.</summary>
    public virtual IReadOnlyList<string> TemplateFields => [];

    /// <summary>
    /// File extensions (e.g. <c>.yaml</c>) of template fields that name a template file, loaded relative to the DAG
    /// file and rendered (Airflow's <c>template_ext</c>).
    /// </summary>
    public virtual IReadOnlyList<string> TemplateExtensions => [];

    /// <summary>
    /// Whether a try interrupted before it recorded its external work (a crash between creating a pod and recording it)
    /// may run again as the same try, finding that work by itself (a pod by its labels). False: such a try counts as a
    /// failed attempt, as Airflow treats a zombie.
    /// </summary>
    public virtual bool FindsItsWorkAfterRestart => false;

    /// <summary>Owner shown in the UI (default <c>airflow</c>, as in Airflow).</summary>
    public string Owner { get => _owner ?? Defaults?.GetString("owner") ?? "airflow"; set => _owner = value; }

    /// <summary>Number of retries after a failed try (default 0).</summary>
    public int Retries { get => _retries ?? Defaults?.Get<int>("retries") ?? 0; set => _retries = value; }

    /// <summary>Delay before a retry (default 5 minutes).</summary>
    public TimeSpan RetryDelay { get => _retryDelay ?? Defaults?.Get<TimeSpan>("retry_delay") ?? TimeSpan.FromMinutes(5); set => _retryDelay = value; }

    /// <summary>Whether retry delays grow exponentially.</summary>
    public bool RetryExponentialBackoff { get => _retryExponentialBackoff ?? Defaults?.Get<bool>("retry_exponential_backoff") ?? false; set => _retryExponentialBackoff = value; }

    /// <summary>The longest retry delay when backing off exponentially (none by default).</summary>
    public TimeSpan? MaxRetryDelay { get => _maxRetryDelay ?? Defaults?.Get<TimeSpan>("max_retry_delay"); set => _maxRetryDelay = value; }

    /// <summary>A try running longer than this fails (none by default).</summary>
    public TimeSpan? ExecutionTimeout { get => _executionTimeout ?? Defaults?.Get<TimeSpan>("execution_timeout"); set => _executionTimeout = value; }

    /// <summary>When the task may run given its upstream states (default all_success).</summary>
    public TriggerRule TriggerRule { get => _triggerRule ?? Defaults?.Get<TriggerRule>("trigger_rule") ?? TriggerRule.AllSuccess; set => _triggerRule = value; }

    /// <summary>The pool whose slots the task takes (default <c>default_pool</c>).</summary>
    public string Pool { get => _pool ?? Defaults?.GetString("pool") ?? "default_pool"; set => _pool = value; }

    /// <summary>Slots of the pool the task takes (default 1).</summary>
    public int PoolSlots { get => _poolSlots ?? Defaults?.Get<int>("pool_slots") ?? 1; set => _poolSlots = value; }

    /// <summary>Priority among runnable tasks; higher runs first (default 1).</summary>
    public int PriorityWeight { get => _priorityWeight ?? Defaults?.Get<int>("priority_weight") ?? 1; set => _priorityWeight = value; }

    /// <summary>The task group the task was made in (its full id, <c>outer.inner</c>), drawn as a group by the UI; none when null.</summary>
    public string? TaskGroupId { get; set; }

    /// <summary>How <see cref="PriorityWeight"/> adds up with the task's relatives (default downstream).</summary>
    public WeightRule WeightRule { get => _weightRule ?? Defaults?.Get<WeightRule>("weight_rule") ?? WeightRule.Downstream; set => _weightRule = value; }

    /// <summary>Whether the task waits for its own previous run to have succeeded.</summary>
    public bool DependsOnPast { get => _dependsOnPast ?? Defaults?.Get<bool>("depends_on_past") ?? false; set => _dependsOnPast = value; }

    /// <summary>Whether the task's result is pushed as its <c>return_value</c> XCom (default true).</summary>
    public bool DoXcomPush { get => _doXcomPush ?? Defaults?.Get<bool>("do_xcom_push") ?? true; set => _doXcomPush = value; }

    /// <summary>The task's own start date (the DAG's by default).</summary>
    public DateTimeOffset? StartDate { get => _startDate ?? Defaults?.Get<DateTimeOffset>("start_date"); set => _startDate = value; }

    /// <summary>The task's own end date (the DAG's by default).</summary>
    public DateTimeOffset? EndDate { get => _endDate ?? Defaults?.Get<DateTimeOffset>("end_date"); set => _endDate = value; }

    /// <summary>The ids of the tasks this one directly depends on.</summary>
    public IReadOnlySet<string> UpstreamTaskIds => _upstream;

    /// <summary>The ids of the tasks that directly depend on this one.</summary>
    public IReadOnlySet<string> DownstreamTaskIds => _downstream;

    private DefaultArgs? Defaults => Dag?.DefaultArgs;

    /// <summary>Makes <paramref name="downstream"/> depend on <paramref name="upstream"/>; returns the right side.</summary>
    public static BaseOperator operator >>(BaseOperator upstream, BaseOperator downstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        upstream.SetDownstream(downstream);
        return downstream;
    }

    /// <summary>Makes every task in <paramref name="downstream"/> depend on <paramref name="upstream"/>.</summary>
    public static TaskList operator >>(BaseOperator upstream, BaseOperator[] downstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        upstream.SetDownstream(downstream);
        return new TaskList(downstream);
    }

    /// <summary>Makes every task in <paramref name="downstream"/> depend on <paramref name="upstream"/>.</summary>
    public static TaskList operator >>(BaseOperator upstream, TaskList downstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(downstream);
        upstream.SetDownstream([.. downstream]);
        return downstream;
    }

    /// <summary>Makes <paramref name="downstream"/> depend on <paramref name="upstream"/>; returns the right side.</summary>
    public static BaseOperator operator <<(BaseOperator downstream, BaseOperator upstream)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        downstream.SetUpstream(upstream);
        return upstream;
    }

    /// <summary>Makes <paramref name="downstream"/> depend on every task in <paramref name="upstream"/>.</summary>
    public static TaskList operator <<(BaseOperator downstream, BaseOperator[] upstream)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        downstream.SetUpstream(upstream);
        return new TaskList(upstream);
    }

    /// <summary>Makes <paramref name="downstream"/> depend on every task in <paramref name="upstream"/>.</summary>
    public static TaskList operator <<(BaseOperator downstream, TaskList upstream)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        ArgumentNullException.ThrowIfNull(upstream);
        downstream.SetUpstream([.. upstream]);
        return upstream;
    }

    /// <summary>Makes each of <paramref name="tasks"/> run after this one.</summary>
    public void SetDownstream(params BaseOperator[] tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        foreach (var t in tasks)
        {
            Link(this, t);
        }
    }

    /// <summary>Makes this task run after each of <paramref name="tasks"/>.</summary>
    public void SetUpstream(params BaseOperator[] tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        foreach (var t in tasks)
        {
            Link(t, this);
        }
    }

    /// <summary>
    /// Runs one try of the task. The returned value (when not null and <see cref="DoXcomPush"/> is set) is pushed as the
    /// <c>return_value</c> XCom.
    /// </summary>
    /// <param name="context">The try's context: run, dates, log, XCom.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed (timeout, user action).</param>
    public abstract Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken);

    /// <summary>
    /// A copy for one try, into which the scheduler renders the template fields, so the DAG's own task stays
    /// unrendered. The default copies fields shallowly; an operator whose template fields hold mutable objects that
    /// rendering changes in place overrides this to copy them deeply.
    /// </summary>
    public virtual BaseOperator CloneForTry() => (BaseOperator)MemberwiseClone();

    /// <inheritdoc/>
    public override string ToString() => $"<Task({OperatorName}): {TaskId}>";

    internal static void ValidateKey(string what, string value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 250 || !KeyRegex().IsMatch(value))
        {
            throw new SiroccoException(
                $"invalid {what} '{value}': use only letters, digits, '_', '-' and '.' (1 to 250 characters)");
        }
    }

    internal void RemoveLinks()
    {
        _upstream.Clear();
        _downstream.Clear();
    }

    private static void Link(BaseOperator upstream, BaseOperator downstream)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        if (ReferenceEquals(upstream, downstream))
        {
            throw new SiroccoException($"Relationships can only be set between different tasks: '{upstream.TaskId}' depends on itself");
        }

        // As in Airflow, a task with no DAG joins the DAG of the task it is linked to.
        var dag = upstream.Dag ?? downstream.Dag;
        if (upstream.Dag is not null && downstream.Dag is not null && !ReferenceEquals(upstream.Dag, downstream.Dag))
        {
            throw new SiroccoException(
                $"Tried to set relationships between tasks in more than one DAG: '{upstream.TaskId}' in {upstream.Dag.DagId}, '{downstream.TaskId}' in {downstream.Dag.DagId}");
        }

        if (dag is not null)
        {
            if (upstream.Dag is null)
            {
                dag.Add(upstream);
            }

            if (downstream.Dag is null)
            {
                dag.Add(downstream);
            }
        }

        upstream._downstream.Add(downstream.TaskId);
        downstream._upstream.Add(upstream.TaskId);
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+$")]
    private static partial Regex KeyRegex();
}

/// <summary>
/// Several tasks on one side of a dependency, like Airflow's <c>[a, b] &gt;&gt; c</c>:
/// <c>new TaskList(a, b) &gt;&gt; c</c>.
/// </summary>
public sealed class TaskList : List<BaseOperator>
{
    /// <summary>Creates a list of tasks.</summary>
    public TaskList(params BaseOperator[] tasks)
        : base(tasks)
    {
    }

    /// <summary>Makes <paramref name="downstream"/> depend on every task in <paramref name="upstream"/>.</summary>
    public static BaseOperator operator >>(TaskList upstream, BaseOperator downstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(downstream);
        downstream.SetUpstream([.. upstream]);
        return downstream;
    }

    /// <summary>Makes every task in <paramref name="downstream"/> depend on every task in <paramref name="upstream"/>.</summary>
    public static TaskList operator >>(TaskList upstream, TaskList downstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(downstream);
        foreach (var d in downstream)
        {
            d.SetUpstream([.. upstream]);
        }

        return downstream;
    }

    /// <summary>Makes every task in <paramref name="downstream"/> depend on <paramref name="upstream"/>.</summary>
    public static BaseOperator operator <<(TaskList downstream, BaseOperator upstream)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        ArgumentNullException.ThrowIfNull(upstream);
        upstream.SetDownstream([.. downstream]);
        return upstream;
    }
}
