using System.Collections;
using Sirocco.Scheduling;

namespace Sirocco;

/// <summary>
/// A DAG: tasks, their dependencies and a schedule. Tasks are added with a collection initializer
/// (<c>new Dag("id") { task1, task2 }</c> or <c>Tasks = { ... }</c>); dependencies with <c>&gt;&gt;</c>.
/// </summary>
public sealed class Dag : IEnumerable<BaseOperator>
{
    private readonly Dictionary<string, BaseOperator> _tasks = new(StringComparer.Ordinal);
    private Schedule _schedule = Schedule.Every(TimeSpan.FromDays(1));

    /// <summary>Creates a DAG (id: letters, digits, '_', '-', '.'; at most 250 characters).</summary>
    public Dag(string dagId)
    {
        BaseOperator.ValidateKey("dag_id", dagId);
        DagId = dagId;
        Tasks = new TaskCollection(this);
    }

    /// <summary>The DAG id.</summary>
    public string DagId { get; }

    /// <summary>A description shown in the UI.</summary>
    public string? Description { get; set; }

    /// <summary>
    /// When the DAG runs (Airflow 2's default is one day); <see cref="Schedule.None"/> for manual runs only. Setting
    /// <c>null</c> means the same, as <c>schedule=None</c> does in Airflow.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.AllowNull]
    public Schedule Schedule { get => _schedule; set => _schedule = value ?? Schedule.None; }

    /// <summary>The first logical date to schedule (<c>default_args['start_date']</c> when unset).</summary>
    public DateTimeOffset? StartDate
    {
        get => field ?? DefaultArgs.Get<DateTimeOffset>("start_date");
        set;
    }

    /// <summary>No run is scheduled after this date.</summary>
    public DateTimeOffset? EndDate
    {
        get => field ?? DefaultArgs.Get<DateTimeOffset>("end_date");
        set;
    }

    /// <summary>Whether missed intervals are run; null takes <c>[scheduler] catchup_by_default</c>.</summary>
    public bool? Catchup { get; set; }

    /// <summary>Values applied to every task that does not set them (Airflow's <c>default_args</c>).</summary>
    public DefaultArgs DefaultArgs { get; set; } = [];

    /// <summary>Parameters available to templates as <c>params</c>; a run's conf may override them.</summary>
    public IDictionary<string, object?> Params { get; set; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>
    /// The JSON Schema of each param given as Airflow's <c>Param(default, type=…, enum=…, minimum=…)</c>; a run's value
    /// must match it (see <see cref="ParamValidation"/>). Params without one take any value.
    /// </summary>
    public IDictionary<string, System.Text.Json.Nodes.JsonObject> ParamSchemas { get; set; } = new Dictionary<string, System.Text.Json.Nodes.JsonObject>(StringComparer.Ordinal);

    /// <summary>Tags shown in the UI and usable as filters.</summary>
    public IList<string> Tags { get; set; } = [];

    /// <summary>Most runs active at once; null takes <c>[core] max_active_runs_per_dag</c>.</summary>
    public int? MaxActiveRuns { get; set; }

    /// <summary>Most tasks running at once across the DAG's runs; null takes <c>[core] max_active_tasks_per_dag</c>.</summary>
    public int? MaxActiveTasks { get; set; }

    /// <summary>A run still active after this long is failed.</summary>
    public TimeSpan? DagrunTimeout { get; set; }

    /// <summary>Whether a new DAG starts paused; null takes <c>[core] dags_are_paused_at_creation</c>.</summary>
    public bool? IsPausedUponCreation { get; set; }

    /// <summary>Render templates to native values instead of strings (Airflow's <c>render_template_as_native_obj</c>).</summary>
    public bool RenderTemplateAsNativeObj { get; set; }

    /// <summary>The file the DAG was loaded from (set by the loader).</summary>
    public string? FileLoc { get; set; }

    /// <summary>
    /// What the loader accepted but a user should fix (Airflow's DAG warnings): shown by the CLI, the API and the UI.
    /// </summary>
    public IList<DagWarning> Warnings { get; } = [];

    /// <summary>
    /// Work run when a run of the DAG ends, by Airflow's names: <c>on_success_callback</c> and
    /// <c>on_failure_callback</c> (the run failed: a task failed, reason <c>task_failure</c>, or it exceeded
    /// <see cref="DagrunTimeout"/>, reason <c>timed_out</c>). Each is an operator run once in the context of the run's
    /// last task instance, as Airflow gives it; its failure is logged and changes nothing.
    /// </summary>
    public IDictionary<string, IList<BaseOperator>> DagCallbacks { get; } = new Dictionary<string, IList<BaseOperator>>(StringComparer.Ordinal);

    /// <summary>The tasks, in the order they were added; also a collection initializer target.</summary>
    public TaskCollection Tasks { get; }

    /// <summary>The task with id <paramref name="taskId"/>; the error names the DAG and the task.</summary>
    public BaseOperator GetTask(string taskId) =>
        _tasks.TryGetValue(taskId, out var t) ? t : throw new SiroccoException($"Task {taskId} not found in DAG {DagId}");

    /// <summary>Whether the DAG has a task with id <paramref name="taskId"/>.</summary>
    public bool HasTask(string taskId) => _tasks.ContainsKey(taskId);

    /// <summary>Adds a task; a task id used twice is an error.</summary>
    public void Add(BaseOperator task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (ReferenceEquals(task.Dag, this) && _tasks.ContainsKey(task.TaskId))
        {
            return;
        }

        if (task.Dag is not null)
        {
            throw new SiroccoException($"Task {task.TaskId} already belongs to DAG {task.Dag.DagId}");
        }

        if (_tasks.ContainsKey(task.TaskId))
        {
            throw new SiroccoException($"Task id '{task.TaskId}' has already been added to the DAG {DagId}");
        }

        task.Dag = this;
        _tasks.Add(task.TaskId, task);
        Tasks.Append(task);
    }

    /// <summary>
    /// Checks the DAG: dependencies point at tasks of this DAG and there is no cycle. The error names the cycle,
    /// e.g. <c>Cycle detected in DAG my_dag: a &gt;&gt; b &gt;&gt; a</c>.
    /// </summary>
    public void Validate()
    {
        foreach (var t in _tasks.Values)
        {
            foreach (var d in t.DownstreamTaskIds)
            {
                if (!_tasks.ContainsKey(d))
                {
                    throw new SiroccoException($"DAG {DagId}: task {t.TaskId} has downstream task {d}, which is not in the DAG");
                }
            }
        }

        _ = TopologicalOrder();
    }

    /// <summary>The tasks ordered so that each comes after all its upstream tasks; throws on a cycle.</summary>
    public IReadOnlyList<BaseOperator> TopologicalOrder()
    {
        // Depth-first search keeping the current path, so a cycle can be reported task by task. The path is a list, not
        // the call stack: a chain of a hundred thousand tasks (a loop in a DAG file) must not overflow the thread's stack.
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on path, 2 = done
        var order = new List<BaseOperator>(_tasks.Count);
        var path = new List<string>();
        var next = new List<(string[] Downstream, int Index)>(); // per task on the path: its downstream ids, the next to visit
        foreach (var t in Tasks)
        {
            Enter(t.TaskId);
            while (next.Count > 0)
            {
                var (downstream, index) = next[^1];
                if (index < downstream.Length)
                {
                    next[^1] = (downstream, index + 1);
                    if (_tasks.ContainsKey(downstream[index]))
                    {
                        Enter(downstream[index]);
                    }

                    continue;
                }

                var id = path[^1];
                next.RemoveAt(next.Count - 1);
                path.RemoveAt(path.Count - 1);
                state[id] = 2;
                order.Add(_tasks[id]);
            }
        }

        order.Reverse();
        return order;

        void Enter(string id)
        {
            if (state.TryGetValue(id, out var s))
            {
                if (s == 1)
                {
                    var start = path.IndexOf(id);
                    var cycle = path.Skip(start).Append(id);
                    throw new SiroccoException($"Cycle detected in DAG {DagId}: {string.Join(" >> ", cycle)}");
                }

                return;
            }

            state[id] = 1;
            path.Add(id);
            next.Add(([.. _tasks[id].DownstreamTaskIds.Order(StringComparer.Ordinal)], 0));
        }
    }

    /// <inheritdoc/>
    public IEnumerator<BaseOperator> GetEnumerator() => Tasks.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => $"<DAG: {DagId}>";
}

/// <summary>The tasks of a DAG in insertion order; <see cref="Add"/> makes it a collection initializer target.</summary>
public sealed class TaskCollection : IReadOnlyList<BaseOperator>
{
    private readonly Dag _dag;
    private readonly List<BaseOperator> _items = [];

    internal TaskCollection(Dag dag) => _dag = dag;

    /// <inheritdoc/>
    public int Count => _items.Count;

    /// <inheritdoc/>
    public BaseOperator this[int index] => _items[index];

    /// <summary>Adds a task to the DAG.</summary>
    public void Add(BaseOperator task) => _dag.Add(task);

    /// <inheritdoc/>
    public IEnumerator<BaseOperator> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Append(BaseOperator task) => _items.Add(task);
}
