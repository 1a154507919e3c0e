using System.Text.Json;
using Sirocco.DagFiles.Airflow.Syntax;
using Sirocco.Kubernetes;
using Sirocco.Scheduling;
using Sirocco.Templating.Expressions;
using Sirocco.Variables;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// The modules a DAG file may import and the Airflow objects behind them: DAG, the operators, Secret, Variable, the
/// Kubernetes models, datetime/pendulum/os/json. One instance per file run: it also tracks the DAGs and tasks made.
/// </summary>
internal sealed class Library
{
    public const string ImportErrorPrefix = "No module named";

    /// <summary>Python's other ImportError: a module without the name imported from it.</summary>
    public const string MissingNamePrefix = "cannot import name";

    private readonly Dictionary<string, Namespace> _modules = new(StringComparer.Ordinal);
    private readonly List<DagValue> _dags = [];
    private readonly HashSet<DagValue> _registered = [];
    private readonly Stack<DagValue> _context = new();
    private readonly Stack<GroupValue> _groups = new();
    private readonly Dictionary<BaseOperator, TaskValue> _tasks = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<NativeFunction> _operatorConstructors = new(ReferenceEqualityComparer.Instance);
    private readonly TimeProvider _time;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly IVariableStore? _variables;
    private readonly Sirocco.Secrets.ISecretsBackend? _secrets;

    public Library(string filePath, TimeProvider time, IReadOnlyDictionary<string, string> environment, IVariableStore? variables, Sirocco.Secrets.ISecretsBackend? secrets = null)
    {
        FilePath = filePath;
        _time = time;
        _environment = environment;
        _variables = variables;
        _secrets = secrets;
        Build();
    }

    public string FilePath { get; }

    public Dag? CurrentDag => _context.Count > 0 ? _context.Peek().Dag : null;

    public DagValue? CurrentDagValue => _context.Count > 0 ? _context.Peek() : null;

    // The Kubernetes model modules hold several hundred classes and no per-file state: built once, shared.
    private static readonly Lazy<Namespace[]> KubernetesModules = new(() =>
    {
        var models = new Namespace("module", "kubernetes.client.models", KubernetesModels.Classes());
        var client = new Namespace("module", "kubernetes.client", new(KubernetesModels.Classes(), StringComparer.Ordinal) { ["models"] = models });
        return [models, client, new Namespace("module", "kubernetes", new(StringComparer.Ordinal) { ["client"] = client })];
    });

    // ---- Modules ----
    private Namespace Module(string name, Dictionary<string, object?> members)
    {
        var m = new Namespace("module", name, members);
        _modules[name] = m;
        return m;
    }

    private NativeFunction Fn(string name, Func<Args, object?> body) => new(name, body);

    private void Build()
    {
        var dag = Fn("DAG", a => NewDag(a, airflow3: false));

        // Airflow 3's DAG (from airflow.sdk) has Airflow 3's defaults: no schedule and no catchup.
        var dag3 = Fn("DAG", a => NewDag(a, airflow3: true));
        var variable = new Namespace("type", "Variable", new(StringComparer.Ordinal) { ["get"] = Fn("Variable.get", VariableGet) });
        var secret = Fn("Secret", NewSecret);
        var chain = Fn("chain", Chain);
        var taskGroup = Fn("TaskGroup", NewTaskGroup);
        var cross = Fn("cross_downstream", CrossDownstream);
        var timedelta = Fn("timedelta", a => PyTimeDelta.FromArgs(a.ToCallArgs()));
        var datetimeClass = new DateTimeType(_time);

        foreach (var shared in KubernetesModules.Value)
        {
            _modules[shared.Name] = shared;
        }

        Module("datetime", new(StringComparer.Ordinal)
        {
            ["datetime"] = datetimeClass,
            ["timedelta"] = timedelta,
            ["timezone"] = new Namespace("type", "timezone", new(StringComparer.Ordinal) { ["utc"] = TimeZoneValue.Utc }),
            ["date"] = Fn("date", a => new PyDateTime(new DateTime((int)PyOps.ToLong(a.Get(0, "year")), (int)PyOps.ToLong(a.Get(1, "month")), (int)PyOps.ToLong(a.Get(2, "day"))), null, false) { IsDate = true }),
        });
        Module("pendulum", Pendulum.Members(_time, timedelta));
        Module("os", new(StringComparer.Ordinal)
        {
            ["environ"] = new Namespace("os._Environ", "os.environ", new(_environment.ToDictionary(kv => kv.Key, kv => (object?)kv.Value), StringComparer.Ordinal)
            {
                ["get"] = Fn("os.environ.get", a => EnvGet(a)),
            }),
            ["getenv"] = Fn("os.getenv", a => EnvGet(a)),
        });
        Module("json", new(StringComparer.Ordinal)
        {
            ["loads"] = Fn("json.loads", JsonLoads),
            ["dumps"] = Fn("json.dumps", JsonDumps),
        });
        Module("__future__", new(StringComparer.Ordinal) { ["annotations"] = null });

        var param = Fn("Param", NewParam);
        var xcomArg = Fn("XComArg", NewXComArg);
        var dataset = Fn("Dataset", a => NewDataset("Dataset", a));
        var asset = Fn("Asset", a => NewDataset("Asset", a));
        Module("airflow.datasets", new(StringComparer.Ordinal) { ["Dataset"] = dataset });
        Module("airflow.assets", new(StringComparer.Ordinal) { ["Asset"] = asset });
        var task = TaskFlow.Decorator(this, "python");
        _taskDecorator = task;
        var pythonOperators = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var name in new[] { "PythonOperator", "BranchPythonOperator", "ShortCircuitOperator" })
        {
            pythonOperators[name] = Fn(name, a => TaskFlow.PythonOperator(this, name, a));
        }

        var taskGroupDecorator = Fn("task_group", TaskGroupDecorator);
        Module("airflow.decorators", new(StringComparer.Ordinal) { ["task"] = task, ["dag"] = Fn("dag", a => DagDecorator(a, airflow3: false)), ["task_group"] = taskGroupDecorator });
        Module("airflow.operators.python", new(pythonOperators, StringComparer.Ordinal));
        Module("airflow.operators.python_operator", new(pythonOperators, StringComparer.Ordinal));
        Module("airflow.providers.standard.operators.python", new(pythonOperators, StringComparer.Ordinal));
        var models = Module("airflow.models", new(StringComparer.Ordinal) { ["DAG"] = dag, ["Variable"] = variable, ["Param"] = param, ["XComArg"] = xcomArg });
        Module("airflow.models.xcom_arg", new(StringComparer.Ordinal) { ["XComArg"] = xcomArg });
        Module("airflow.models.param", new(StringComparer.Ordinal) { ["Param"] = param });
        var smtpNotifier = Fn("SmtpNotifier", Notifiers.Smtp);
        Module(Notifiers.Module, new(StringComparer.Ordinal) { ["SmtpNotifier"] = smtpNotifier, ["send_smtp_notification"] = smtpNotifier });
        var slack = Fn("SlackNotifier", Notifiers.Slack);
        Module(Notifiers.SlackModule, new(StringComparer.Ordinal) { ["SlackNotifier"] = slack, ["send_slack_notification"] = slack });
        var slackWebhook = Fn("SlackWebhookNotifier", Notifiers.SlackWebhook);
        Module(Notifiers.SlackWebhookModule, new(StringComparer.Ordinal) { ["SlackWebhookNotifier"] = slackWebhook, ["send_slack_webhook_notification"] = slackWebhook });

        // Airflow 3's homes of the same names.
        Module("airflow.sdk", new(StringComparer.Ordinal)
        {
            ["DAG"] = dag3,
            ["Variable"] = variable,
            ["Param"] = param,
            ["chain"] = chain,
            ["cross_downstream"] = cross,
            ["TaskGroup"] = taskGroup,
            ["XComArg"] = xcomArg,
            ["Asset"] = asset,
            ["Dataset"] = dataset,
            ["task"] = task,
            ["task_group"] = taskGroupDecorator,
            ["dag"] = Fn("dag", a => DagDecorator(a, airflow3: true)),
        });
        Module("airflow.models.dag", new(StringComparer.Ordinal) { ["DAG"] = dag });
        Module("airflow.models.variable", new(StringComparer.Ordinal) { ["Variable"] = variable });
        Module("airflow.models.baseoperator", new(StringComparer.Ordinal) { ["chain"] = chain, ["cross_downstream"] = cross });
        Module("airflow.utils.helpers", new(StringComparer.Ordinal) { ["chain"] = chain, ["cross_downstream"] = cross });
        Module("airflow.utils.task_group", new(StringComparer.Ordinal) { ["TaskGroup"] = taskGroup });
        Module("airflow.utils.dates", new(StringComparer.Ordinal) { ["days_ago"] = Fn("days_ago", DaysAgo) });
        Module("airflow.utils.trigger_rule", new(StringComparer.Ordinal) { ["TriggerRule"] = TriggerRules() });
        Module("airflow.utils.weight_rule", new(StringComparer.Ordinal) { ["WeightRule"] = WeightRules() });
        Module("airflow.kubernetes.secret", new(StringComparer.Ordinal) { ["Secret"] = secret });
        Module("airflow.contrib.kubernetes.secret", new(StringComparer.Ordinal) { ["Secret"] = secret });
        Module("airflow.providers.cncf.kubernetes.secret", new(StringComparer.Ordinal) { ["Secret"] = secret });
        Module("airflow.providers.cncf.kubernetes.callbacks", new(StringComparer.Ordinal) { ["KubernetesPodOperatorCallback"] = CallbackBase, ["ExecutionMode"] = ExecutionMode });
        Module("airflow", new(StringComparer.Ordinal) { ["DAG"] = dag, ["models"] = models });
        OperatorModules();
    }

    /// <summary>Each importable operator class of the registry, in each of its modules.</summary>
    private void OperatorModules()
    {
        var modules = new Dictionary<string, Dictionary<string, object?>>(StringComparer.Ordinal);
        foreach (var kind in OperatorRegistry.All.Where(c => c.Importable))
        {
            var name = kind.Name;
            var constructor = Fn(name, a => Operators.Create(this, name, a));
            _operatorConstructors.Add(constructor);
            foreach (var module in kind.Modules)
            {
                (modules.TryGetValue(module, out var members) ? members : modules[module] = new(StringComparer.Ordinal))[name] = constructor;
            }
        }

        foreach (var (module, members) in modules)
        {
            Module(module, members);
        }
    }

    private static Namespace TriggerRules()
    {
        var members = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var rule in Enum.GetValues<TriggerRule>())
        {
            var name = rule.ToName();
            members[name.ToUpperInvariant()] = name;
        }

        return new Namespace("type", "TriggerRule", members);
    }

    private static Namespace WeightRules() =>
        new("type", "WeightRule", Enum.GetValues<WeightRule>().ToDictionary(r => r.ToName().ToUpperInvariant(), r => (object?)r.ToName(), StringComparer.Ordinal));

    /// <summary>The provider's <c>KubernetesPodOperatorCallback</c>, which the file's <c>callbacks</c> classes derive from.</summary>
    public Namespace CallbackBase { get; } = new("type", "KubernetesPodOperatorCallback", new(StringComparer.Ordinal));

    /// <summary>The provider's <c>ExecutionMode</c> (a hook's <c>mode</c>; tries always run as <c>sync</c>).</summary>
    public Namespace ExecutionMode { get; } = new("type", "ExecutionMode", new(StringComparer.Ordinal) { ["SYNC"] = "sync", ["ASYNC"] = "async" });

    /// <summary>The interpreter running the file (a <c>@dag</c> function's body runs in it when the function is called).</summary>
    public Interpreter? Evaluator { get; set; }

    /// <summary>The import statement that bound each name of the file, for shipping a task function to its pod.</summary>
    public Dictionary<string, string> ImportLines { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Runs an import statement: binds the names or fails naming the module or the name. A module the reader does not
    /// have and that is not Airflow's (<c>requests</c>, <c>pandas</c>, <c>time</c>…) is bound to a stand-in: task
    /// functions that use it get the import shipped to their pods, and using it while the file is read is an error.
    /// </summary>
    public void Import(ImportStmt stmt, Frame frame)
    {
        foreach (var (name, asName, _) in stmt.Names)
        {
            var bound = asName ?? (stmt.Module is null ? name.Split('.')[0] : name);
            ImportLines[bound] = stmt.Module is null
                ? asName is null ? $"import {name}" : $"import {name} as {asName}"
                : asName is null ? $"from {stmt.Module} import {name}" : $"from {stmt.Module} import {name} as {asName}";
        }

        if (IsForeign(stmt.Module ?? string.Empty) || (stmt.Module is null && stmt.Names.All(n => IsForeign(n.Name))))
        {
            foreach (var (name, asName, _) in stmt.Names)
            {
                var bound = asName ?? (stmt.Module is null ? name.Split('.')[0] : name);
                frame.Vars[bound] = new ForeignValue(ImportLines[bound]);
            }

            return;
        }

        if (stmt.Module is null)
        {
            foreach (var (name, asName, offset) in stmt.Names)
            {
                var module = FindModule(name, offset);
                if (asName is not null)
                {
                    frame.Vars[asName] = module;
                }
                else
                {
                    var top = name.Split('.')[0];
                    frame.Vars[top] = _modules[top];
                }
            }

            return;
        }

        var source = FindModule(stmt.Module, stmt.Offset);
        foreach (var (name, asName, offset) in stmt.Names)
        {
            if (source.Members.TryGetValue(name, out var value))
            {
                frame.Vars[asName ?? name] = value;
            }
            else if (_modules.TryGetValue(stmt.Module + "." + name, out var sub))
            {
                frame.Vars[asName ?? name] = sub;
            }
            else
            {
                throw new DagEvalException($"{MissingNamePrefix} '{name}' from '{stmt.Module}' (not in the DAG-file subset)", offset);
            }
        }
    }

    /// <summary>Whether a module is outside what the reader has and outside Airflow (whose modules it must know).</summary>
    private bool IsForeign(string module)
    {
        var top = module.Split('.')[0];
        return top.Length > 0 && top is not ("airflow" or "__future__") && !_modules.ContainsKey(top);
    }

    private Namespace FindModule(string name, int offset)
    {
        if (_modules.TryGetValue(name, out var module))
        {
            // "import airflow.models" needs every parent module to exist too.
            return module;
        }

        throw new DagEvalException($"{ImportErrorPrefix} '{name}': the module is outside the DAG-file subset read without Python", offset);
    }

    // ---- DAG context ----
    public void EnterDag(DagValue dag)
    {
        _registered.Add(dag);
        _context.Push(dag);
    }

    public void ExitDag() => _context.Pop();

    public TaskValue Wrap(BaseOperator task)
    {
        if (!_tasks.TryGetValue(task, out var value))
        {
            value = new TaskValue(task);
            _tasks[task] = value;
        }

        return value;
    }

    public DagValue? DagValueOf(Dag dag) => _dags.Find(d => ReferenceEquals(d.Dag, dag));

    /// <summary>The DAGs the file defines: those used as a context manager and those bound to a module-level name.</summary>
    private readonly List<(BaseOperator Op, int Offset, string Message)> _warnings = [];

    /// <summary>Records a DAG warning about a task, at an offset of the file (given to its DAG by <see cref="Results"/>).</summary>
    public void Warn(BaseOperator op, int offset, string message) => _warnings.Add((op, offset, message));

    /// <summary>The DAGs the file defines, each with the warnings about its tasks (placed by <paramref name="text"/>).</summary>
    public List<Dag> Results(Frame globals, string text)
    {
        foreach (var (op, offset, message) in _warnings)
        {
            if (op.Dag is { } dag)
            {
                var (line, column) = AirflowDagFileParser.Position(text, offset);
                dag.Warnings.Add(new DagWarning(DagWarning.KubernetesModel, $"{FilePath}:{line}:{column}: {message}"));
            }
        }

        var result = new List<Dag>();
        foreach (var d in _dags)
        {
            if (_registered.Contains(d) || globals.Vars.Values.Any(v => ReferenceEquals(v, d)))
            {
                result.Add(d.Dag);
            }
        }

        return result;
    }

    private object? NewDag(Args a, bool airflow3)
    {
        a.Check("DAG", 2, "dag_id", "description", "schedule_interval", "schedule", "start_date", "end_date", "catchup",
            "default_args", "tags", "params", "max_active_runs", "max_active_tasks", "concurrency", "dagrun_timeout",
            "is_paused_upon_creation", "render_template_as_native_obj", "doc_md", "access_control", "owner_links",
            "default_view", "orientation", "auto_register", "fail_stop", "dag_display_name", "on_failure_callback",
            "on_success_callback", "sla_miss_callback", "user_defined_macros", "user_defined_filters", "template_searchpath",
            "jinja_environment_kwargs", "timetable", "template_undefined");
        foreach (var unsupported in new[] { "user_defined_macros", "user_defined_filters", "template_searchpath", "jinja_environment_kwargs", "timetable", "template_undefined" })
        {
            if (a.Has(unsupported))
            {
                throw new KeywordException(unsupported, $"DAG(): {unsupported} is not supported by Sirocco's DAG-file reader");
            }
        }

        var id = a.Get(0, "dag_id") as string ?? throw new DagEvalException("DAG() needs dag_id, a str");
        var dag = new Dag(id);
        // sla_miss_callback is accepted with no effect, as `sla` is (Airflow 3 removed SLAs).
        foreach (var kind in new[] { "on_failure_callback", "on_success_callback" })
        {
            if (a.Get(-1, kind) is { } callback)
            {
                dag.DagCallbacks[kind] = TaskFlow.Callbacks(this, id, cluster: null, kind, callback);
            }
        }

        if (airflow3)
        {
            // Airflow 3: `schedule` defaults to None and `catchup` to False ([scheduler] catchup_by_default).
            dag.Schedule = Schedule.None;
            dag.Catchup = false;
        }
        if (a.Get(1, "description") is { } description)
        {
            dag.Description = Expect<string>(description, "description");
        }

        if (a.Has("schedule") && a.Has("schedule_interval"))
        {
            throw new KeywordException("schedule_interval", "DAG(): give either schedule or schedule_interval, not both");
        }

        var scheduleKey = a.Has("schedule") ? "schedule" : "schedule_interval";
        PyDict? defaults = null;
        if (a.Get(-1, "default_args") is { } defaultArgs)
        {
            defaults = defaultArgs as PyDict ?? throw new KeywordException("default_args", "DAG(): default_args must be a dict");
            dag.DefaultArgs = Convert.DefaultArgs(defaults);
        }

        if (a.Get(-1, "start_date") is { } start)
        {
            dag.StartDate = Convert.Date(start, "start_date");
        }

        if (a.Get(-1, "end_date") is { } end)
        {
            dag.EndDate = Convert.Date(end, "end_date");
        }

        if (a.Has(scheduleKey))
        {
            var zone = (a.Get(-1, "start_date") ?? defaults?.GetValueOrDefault("start_date")) is PyDateTime { ZoneName: { } z } ? Pendulum.Zone(z) : null;
            dag.Schedule = a.Get(-1, scheduleKey) switch
            {
                null => Schedule.None,
                string s => ParseSchedule(s, zone, scheduleKey),
                PyTimeDelta td => Schedule.Every(TimeSpan.FromTicks(td.Ticks)),
                DatasetValue one => Schedule.OnDatasets([one.Uri]),
                List<object?> or PyTuple when ((IEnumerable<object?>)a.Get(-1, scheduleKey)!).ToList() is { Count: > 0 } items && items.All(i => i is DatasetValue) =>
                    Schedule.OnDatasets(items.Select(i => ((DatasetValue)i!).Uri)),
                var other => throw new KeywordException(scheduleKey, $"DAG(): {scheduleKey} must be None, a cron or preset string, a timedelta or a list of datasets, not {Interpreter.Describe(other)}"),
            };
        }

        if (a.Get(-1, "catchup") is { } catchup)
        {
            dag.Catchup = Expect<bool>(catchup, "catchup");
        }

        if (a.Get(-1, "tags") is { } tags)
        {
            dag.Tags = [.. Convert.StringList(tags, "tags")];
        }

        if (a.Get(-1, "params") is { } p)
        {
            if (p is not PyDict pd)
            {
                throw new KeywordException("params", "DAG(): params must be a dict");
            }

            dag.Params = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, entry) in pd)
            {
                var name = PyOps.Str(PyEqualityComparer.Unkey(key));
                if (entry is ParamValue param)
                {
                    if (param.HasDefault)
                    {
                        dag.Params[name] = Convert.ToDotNet(param.Default);
                    }

                    if (param.Schema.Count > 0)
                    {
                        dag.ParamSchemas[name] = param.Schema;
                    }
                }
                else
                {
                    dag.Params[name] = Convert.ToDotNet(entry);
                }
            }

            // As Airflow checks when it reads the file: a default that breaks its own schema is an import error.
            try
            {
                ParamValidation.Validate(new Dag(id) { Params = dag.Params, ParamSchemas = dag.ParamSchemas.Where(s => dag.Params.ContainsKey(s.Key)).ToDictionary() });
            }
            catch (SiroccoException e)
            {
                throw new KeywordException("params", "DAG(): " + e.Message);
            }
        }

        if ((a.Get(-1, "max_active_tasks") ?? a.Get(-1, "concurrency")) is { } maxTasks)
        {
            dag.MaxActiveTasks = (int)Expect<long>(maxTasks, "max_active_tasks");
        }

        if (a.Get(-1, "max_active_runs") is { } maxRuns)
        {
            dag.MaxActiveRuns = (int)Expect<long>(maxRuns, "max_active_runs");
        }

        if (a.Get(-1, "dagrun_timeout") is { } timeout)
        {
            dag.DagrunTimeout = Convert.Duration(timeout, "dagrun_timeout");
        }

        if (a.Get(-1, "is_paused_upon_creation") is { } paused)
        {
            dag.IsPausedUponCreation = Expect<bool>(paused, "is_paused_upon_creation");
        }

        if (a.Get(-1, "render_template_as_native_obj") is { } native)
        {
            dag.RenderTemplateAsNativeObj = Expect<bool>(native, "render_template_as_native_obj");
        }

        var value = new DagValue(dag, defaults);
        _dags.Add(value);
        return value;
    }

    private static Schedule ParseSchedule(string text, TimeZoneInfo? zone, string keyword)
    {
        try
        {
            return Schedule.Parse(text, zone);
        }
        catch (Exception e) when (e is SiroccoException or FormatException or ArgumentException)
        {
            throw new KeywordException(keyword, $"DAG(): {keyword}: {e.Message}");
        }
    }

    private static T Expect<T>(object? value, string keyword)
    {
        if (value is T t)
        {
            return t;
        }

        var expected = typeof(T) == typeof(long) ? "int" : typeof(T) == typeof(bool) ? "bool" : "str";
        throw new KeywordException(keyword, $"{keyword} must be {expected}, not {Interpreter.Describe(value)}");
    }

    /// <summary>
    /// <c>Param(default, type=..., enum=..., minimum=..., ...)</c>: the default, and the JSON Schema its keywords make
    /// (with <c>schema=</c> merged in), checked when the DAG is read and when a run is triggered.
    /// </summary>
    private static object? NewParam(Args a)
    {
        a.Check("Param", 2, "default", "description", "type", "enum", "values_display", "title", "format", "minimum", "maximum",
            "minLength", "maxLength", "pattern", "examples", "section", "const", "items", "schema", "exclusiveMinimum",
            "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "properties", "required", "additionalProperties");
        var schema = new System.Text.Json.Nodes.JsonObject();
        if (a.Get(-1, "schema") is { } given)
        {
            schema = System.Text.Json.JsonSerializer.SerializeToNode(Convert.ToDotNet(given)) as System.Text.Json.Nodes.JsonObject
                ?? throw new KeywordException("schema", "Param(): schema must be a dict");
        }

        foreach (var keyword in new[] { "type", "enum", "format", "minimum", "maximum", "minLength", "maxLength", "pattern", "const", "items", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "properties", "required", "additionalProperties" })
        {
            if (a.Has(keyword))
            {
                schema[keyword] = System.Text.Json.JsonSerializer.SerializeToNode(Convert.ToDotNet(a.Get(-1, keyword)));
            }
        }

        var hasDefault = a.Given(0, "default");
        return new ParamValue(hasDefault ? a.Get(0, "default") : null, hasDefault, schema);
    }

    private object? NewSecret(Args a)
    {
        a.Check("Secret", 5, "deploy_type", "deploy_target", "secret", "key", "items");
        var deployType = a.Get(0, "deploy_type") as string ?? throw new DagEvalException("Secret() needs deploy_type, a str");
        var target = a.Get(1, "deploy_target");
        var name = a.Get(2, "secret") as string ?? throw new DagEvalException("Secret() needs secret, the name of a Kubernetes Secret");
        var key = a.Get(3, "key");
        if (target is not (null or string) || key is not (null or string))
        {
            throw new DagEvalException("Secret(): deploy_target and key must be str or None");
        }

        IReadOnlyList<k8s.Models.V1KeyToPath>? items = null;
        if (a.Get(4, "items") is { } rawItems)
        {
            items = [.. ListArgument(rawItems, "items").Select(i => KubernetesModels.As<k8s.Models.V1KeyToPath>(i, "items"))];
        }

        return new SecretValue(new Secret(deployType, (string?)target, name, (string?)key, items));
    }

    private static List<object?> ListArgument(object? value, string keyword) => value switch
    {
        List<object?> l => l,
        PyTuple t => [.. t.Items],
        _ => throw new KeywordException(keyword, $"{keyword} must be a list, not {Interpreter.Describe(value)}"),
    };

    private object? VariableGet(Args a)
    {
        a.Check("Variable.get", 3, "key", "default_var", "deserialize_json");
        var key = a.Get(0, "key") as string ?? throw new DagEvalException("Variable.get() needs key, a str");
        var json = Interpreter.Truthy(a.Get(2, "deserialize_json", false));
        // The secrets backend first, then the environment, then the store, as Airflow's search path.
        var text = _secrets?.GetVariableAsync(key, CancellationToken.None).GetAwaiter().GetResult();
        foreach (var prefix in new[] { "SIROCCO_VAR_", "AIRFLOW_VAR_" })
        {
            if (text is null && _environment.TryGetValue(prefix + key.ToUpperInvariant(), out var env))
            {
                text = env;
                break;
            }
        }

        text ??= _variables?.GetVariable(key)?.Value;
        if (text is null)
        {
            return a.Given(1, "default_var") ? a.Get(1, "default_var") : throw new DagEvalException($"Variable {key} does not exist");
        }

        if (!json)
        {
            return text;
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            return PyOps.FromJson(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new DagEvalException($"Variable {key} is not valid JSON: {e.Message}");
        }
    }

    private object? EnvGet(Args a)
    {
        var key = a.Get(0, "key") as string ?? throw new DagEvalException("os.environ.get() needs a str key");
        return _environment.TryGetValue(key, out var value) ? value : a.Get(1, "default");
    }

    private static object? JsonLoads(Args a)
    {
        var text = a.Get(0, "s") as string ?? throw new DagEvalException("json.loads() needs a str");
        try
        {
            using var doc = JsonDocument.Parse(text);
            return PyOps.FromJson(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new DagEvalException($"json.loads(): {e.Message}");
        }
    }

    private static object? JsonDumps(Args a)
    {
        var indent = a.Get(1, "indent");
        return PyOps.JsonDumps(a.Get(0, "obj"), indent is null ? -1 : (int)Math.Clamp(PyOps.ToLong(indent), 0, 64), Interpreter.Truthy(a.Get(-1, "sort_keys", false)));
    }

    private object? DaysAgo(Args a)
    {
        a.Check("days_ago", 4, "n", "hour", "minute", "second");
        var n = PyOps.ToDouble(a.Get(0, "n") ?? throw new DagEvalException("days_ago() needs n"));
        try
        {
            var today = _time.GetUtcNow().UtcDateTime.Date
                .AddHours(PyOps.ToLong(a.Get(1, "hour", 0L))).AddMinutes(PyOps.ToLong(a.Get(2, "minute", 0L))).AddSeconds(PyOps.ToLong(a.Get(3, "second", 0L)));

            // Checked before the conversion: a double past the range of long (1e309 days) has no defined cast.
            var ticks = n * TimeSpan.TicksPerDay;
            return double.IsNaN(ticks) || Math.Abs(ticks) > DateTime.MaxValue.Ticks
                ? throw new ArgumentOutOfRangeException(nameof(a))
                : new PyDateTime(today.AddTicks(-(long)ticks), TimeSpan.Zero, true) { ZoneName = "UTC" };
        }
        catch (ArgumentOutOfRangeException)
        {
            // Python says the same of a date before year 1 or after year 9999.
            throw new DagEvalException("days_ago(): date value out of range");
        }
    }

    // ---- Dependencies ----
    /// <summary>One side of a dependency: tasks and task groups, alone or in a list.</summary>
    private static List<IPyObject> Items(object? value, int offset, string what) => value switch
    {
        TaskValue or GroupValue => [(IPyObject)value],
        XComArgValue x => [x.Task], // a @task call's output stands for its task
        List<object?> or PyTuple => [.. ((IEnumerable<object?>)value).Select(x => x as TaskValue as IPyObject ?? x as GroupValue ?? (IPyObject?)(x as XComArgValue)?.Task ?? throw new DagEvalException($"{what}: {Interpreter.Describe(x)} is not a task", offset))],
        _ => throw new DagEvalException($"{what}: {Interpreter.Describe(value)} is not a task or a list of tasks", offset),
    };

    public object? Dependency(string op, object? left, object? right, int offset)
    {
        if (left is not (TaskValue or GroupValue or XComArgValue) && right is not (TaskValue or GroupValue or XComArgValue))
        {
            throw new DagEvalException($"unsupported operand type(s) for {op}: '{Interpreter.Describe(left)}' and '{Interpreter.Describe(right)}'", offset);
        }

        var l = Items(left, offset, op);
        var r = Items(right, offset, op);
        var (up, down) = op == ">>" ? (l, r) : (r, l);
        foreach (var u in up)
        {
            foreach (var d in down)
            {
                Link(u, d);
            }
        }

        return right;
    }

    /// <summary>Links two tasks; a task group upstream stands for its leaves, downstream for its roots, as in Airflow.</summary>
    private static void Link(IPyObject up, IPyObject down)
    {
        foreach (var u in Ends(up, leaves: true))
        {
            foreach (var d in Ends(down, leaves: false))
            {
                u.Task.SetDownstream(d.Task);
            }
        }
    }

    private static IEnumerable<TaskValue> Ends(IPyObject item, bool leaves) => item switch
    {
        GroupValue g => leaves ? g.Leaves() : g.Roots(),
        _ => [(TaskValue)item],
    };

    private object? Chain(Args a)
    {
        var items = a.Positional;
        for (var i = 0; i + 1 < items.Count; i++)
        {
            var (up, down) = (items[i], items[i + 1]);
            if (up is TaskValue or GroupValue or XComArgValue || down is TaskValue or GroupValue or XComArgValue)
            {
                foreach (var u in Items(up, 0, "chain"))
                {
                    foreach (var d in Items(down, 0, "chain"))
                    {
                        Link(u, d);
                    }
                }

                continue;
            }

            var ul = Items(up, 0, "chain");
            var dl = Items(down, 0, "chain");
            if (ul.Count != dl.Count)
            {
                throw new DagEvalException($"Chain not supported for different length Iterable. Got {ul.Count} and {dl.Count}.");
            }

            for (var j = 0; j < ul.Count; j++)
            {
                Link(ul[j], dl[j]);
            }
        }

        return null;
    }

    private object? CrossDownstream(Args a)
    {
        a.Check("cross_downstream", 2, "from_tasks", "to_tasks");
        foreach (var u in Items(a.Get(0, "from_tasks"), 0, "cross_downstream"))
        {
            foreach (var d in Items(a.Get(1, "to_tasks"), 0, "cross_downstream"))
            {
                Link(u, d);
            }
        }

        return null;
    }

    // ---- Task groups ----
    public GroupValue? CurrentGroup => _groups.Count > 0 ? _groups.Peek() : null;

    public void EnterGroup(GroupValue group)
    {
        _groups.Push(group);
        _context.Push(group.Dag);
    }

    public void ExitGroup()
    {
        _groups.Pop();
        _context.Pop();
    }

    private object? NewTaskGroup(Args a)
    {
        a.Check("TaskGroup", 1, "group_id", "prefix_group_id", "tooltip", "ui_color", "ui_fgcolor", "default_args", "dag", "parent_group", "add_suffix_on_collision");
        var id = a.Get(0, "group_id") as string ?? throw new DagEvalException("TaskGroup() needs group_id, a str");
        var parent = a.Get(-1, "parent_group") as GroupValue ?? CurrentGroup;
        var dag = a.Get(-1, "dag") as DagValue ?? parent?.Dag ?? CurrentDagValue
            ?? throw new DagEvalException("TaskGroup can only be used inside a DAG (with DAG(...) or dag=...)");
        var prefix = a.Get(-1, "prefix_group_id", true) is bool b ? b : throw new KeywordException("prefix_group_id", "TaskGroup(): prefix_group_id must be a bool");
        var defaults = a.Get(-1, "default_args") switch
        {
            null => null,
            PyDict d => d,
            _ => throw new KeywordException("default_args", "TaskGroup(): default_args must be a dict"),
        };
        var fullId = parent is { Prefix: true } ? $"{parent.GroupId}.{id}" : id;
        return new GroupValue(fullId, prefix, dag, parent, defaults);
    }

    /// <summary><c>Dataset("s3://bucket/key")</c> / Airflow 3's <c>Asset(uri)</c> or <c>Asset(name=..., uri=...)</c>.</summary>
    private static DatasetValue NewDataset(string className, Args a)
    {
        a.Check(className, 2, "uri", "name", "extra", "group", "watchers");
        var uri = (a.Get(0, className == "Asset" && !a.Given(0, "uri") ? "name" : "uri") ?? a.Get(-1, "name")) as string;
        return string.IsNullOrWhiteSpace(uri)
            ? throw new DagEvalException($"{className}() needs a uri (a non-empty str)")
            : new DatasetValue(uri);
    }

    private static XComArgValue NewXComArg(Args a)
    {
        a.Check("XComArg", 2, "operator", "key");
        var task = a.Get(0, "operator") as TaskValue ?? throw new DagEvalException($"XComArg() takes a task, not {Interpreter.Describe(a.Get(0, "operator"))}");
        var key = a.Get(1, "key", XComEntry.ReturnValueKey) as string ?? throw new DagEvalException("XComArg(): key must be a str");
        return new XComArgValue(task, key, null);
    }

    private NativeFunction? _taskDecorator;

    /// <summary><c>@dag</c> or <c>@dag(...)</c>: calling the function makes the DAG, its body run inside it (the function's name is the dag_id by default).</summary>
    private object? DagDecorator(Args a, bool airflow3)
    {
        if (a.Positional is [UserFunction f] && a.Keywords.Count == 0)
        {
            return DagFactory(f, [], airflow3);
        }

        if (a.Positional.Count == 0)
        {
            var keywords = a.Keywords;
            return Fn("dag", b => b.Positional is [UserFunction g] && b.Keywords.Count == 0
                ? DagFactory(g, keywords, airflow3)
                : throw new DagEvalException("@dag(...) must decorate a function defined with def"));
        }

        throw new DagEvalException($"@dag takes a function defined with def, or keyword arguments and then the function, not {Interpreter.Describe(a.Positional[0])}");
    }

    private readonly HashSet<(string DagId, string GroupId)> _decoratedGroups = [];

    /// <summary>
    /// <c>@task_group</c> or <c>@task_group(...)</c>: calling the function makes a TaskGroup (its name is the group_id by
    /// default; a second call gets <c>name__1</c>, as in Airflow) and runs the body inside it. The call returns what the
    /// body returned when it is a task or an output, else the group, so that it can be linked and passed on.
    /// </summary>
    private object? TaskGroupDecorator(Args a)
    {
        if (a.Positional is [UserFunction f] && a.Keywords.Count == 0)
        {
            return GroupFactory(f, []);
        }

        if (a.Positional.Count == 0)
        {
            var keywords = a.Keywords;
            return Fn("task_group", b => b.Positional is [UserFunction g] && b.Keywords.Count == 0
                ? GroupFactory(g, keywords)
                : throw new DagEvalException("@task_group(...) must decorate a function defined with def"));
        }

        throw new DagEvalException($"@task_group takes a function defined with def, or keyword arguments and then the function, not {Interpreter.Describe(a.Positional[0])}");
    }

    private NativeFunction GroupFactory(UserFunction function, List<KeywordArg> keywords) => Fn(function.Definition.Name, call =>
    {
        var id = keywords.Find(k => k.Name == "group_id").Value as string ?? function.Definition.Name;
        var dagId = CurrentDagValue?.Dag.DagId ?? string.Empty;
        var prefix = CurrentGroup is { Prefix: true } parent ? parent.GroupId + "." : string.Empty;
        var unique = id;
        for (var n = 1; !_decoratedGroups.Add((dagId, prefix + unique)); n++)
        {
            unique = $"{id}__{n}";
        }

        var group = (GroupValue)NewTaskGroup(new Args([], [new KeywordArg("group_id", unique, 0), .. keywords.Where(k => k.Name != "group_id")]))!;
        EnterGroup(group);
        object? result;
        try
        {
            result = (Evaluator ?? throw new InvalidOperationException("no interpreter")).Invoke(function, call, function.Definition.Offset);
        }
        finally
        {
            ExitGroup();
        }

        return result is XComArgValue or TaskValue ? result : group;
    });

    private NativeFunction DagFactory(UserFunction function, List<KeywordArg> keywords, bool airflow3) => Fn(function.Definition.Name, call =>
    {
        List<KeywordArg> dagArgs = keywords.Exists(k => k.Name == "dag_id") ? keywords : [new KeywordArg("dag_id", function.Definition.Name, 0), .. keywords];
        var dag = (DagValue)NewDag(new Args([], dagArgs), airflow3)!;
        EnterDag(dag);
        try
        {
            (Evaluator ?? throw new InvalidOperationException("no interpreter")).Invoke(function, call, function.Definition.Offset);
        }
        finally
        {
            ExitDag();
        }

        return dag;
    });

    // ---- Attributes ----
    public object? GetAttribute(object? target, string name, int offset, Interpreter interpreter)
    {
        switch (target)
        {
            case ForeignValue f:
                throw new DagEvalException(f.Unusable(), offset);
            case TaskValue or GroupValue when name is "set_downstream" or "set_upstream":
                var self = (IPyObject)target;
                return Fn(name, a =>
                {
                    foreach (var other in a.Positional.SelectMany(p => Items(p, offset, name)))
                    {
                        if (name == "set_downstream")
                        {
                            Link(self, other);
                        }
                        else
                        {
                            Link(other, self);
                        }
                    }

                    return null;
                });
            case NativeFunction t when ReferenceEquals(t, _taskDecorator):
                return TaskFlow.Attribute(this, name);
            case NativeFunction f when TaskFlow.FactoryAttribute(this, f, name) is { } attribute:
                return attribute;
            case NativeFunction f when name == "partial" && _operatorConstructors.Contains(f):
                return Fn($"{f.Name}.partial", a => new PartialValue(f.Name, a));
            case TaskFlowPartial tp when name is "expand" or "expand_kwargs":
                return Fn(name, a => TaskFlow.Expand(this, tp, name == "expand_kwargs", a));
            case PartialValue p when name is "expand" or "expand_kwargs":
                return Fn(name, a => Mapping.Expand(this, p, name == "expand_kwargs", a));
            case TaskValue t when name == "output":
                return new XComArgValue(t, XComEntry.ReturnValueKey, null);
            case XComArgValue or ZipArgValue when name == "map":
                return Fn("map", a => Mapping.Map((IPyObject)target, a.Positional.Count == 1 && a.Keywords.Count == 0 ? a.Positional[0] : throw new DagEvalException("XComArg.map() takes one function", offset), interpreter, offset));
            case XComArgValue x when name == "zip":
                return Fn("zip", a => Mapping.Zip(x, a));
            case TaskValue t when name == "dag":
                return t.Task.Dag is { } dag ? DagValueOf(dag) : null;
            case List<object?> list when Mutators.List(list, name, interpreter) is { } m:
                return m;
            case PyDict dict when Mutators.Dict(dict, name) is { } m:
                return m;
            case GlobalsProxy g when name is "update":
                return Fn("update", a =>
                {
                    foreach (var k in a.Keywords)
                    {
                        g.Module.Vars[k.Name] = k.Value;
                    }

                    if (a.Positional.Count == 1 && a.Positional[0] is PyDict d)
                    {
                        foreach (var (k, v) in d)
                        {
                            g.Module.Vars[PyOps.Str(k)] = v;
                        }
                    }

                    return null;
                });
            case Namespace { TypeName: "module" } module when !module.Members.ContainsKey(name):
                if (_modules.TryGetValue(module.Name + "." + name, out var sub))
                {
                    return sub;
                }

                throw new DagEvalException(module.Name == "os"
                    ? $"os.{name} is not allowed in DAG files read without Python (only os.environ.get and os.getenv)"
                    : $"module '{module.Name}' has no attribute '{name}' in the DAG-file subset", offset);
            default:
                break;
        }

        if (name.StartsWith("__", StringComparison.Ordinal))
        {
            throw new DagEvalException($"access to '{name}' is not allowed in DAG files read without Python", offset);
        }

        object? value;
        try
        {
            // The Templating methods of lists and dicts (index, count, get...) compare elements recursively.
            Nesting.Check(target);
            value = PyOps.GetAttr(target, name);
        }
        catch (PyException e)
        {
            throw new DagEvalException(e.Message, offset);
        }

        return PyOps.IsUndefined(value)
            ? throw new DagEvalException($"'{Interpreter.Describe(target)}' object has no attribute '{name}'", offset)
            : value;
    }

    public void SetAttribute(object? target, string name, object? value, int offset)
    {
        switch (target)
        {
            case MutableModel m:
                m.Set(name, value, offset);
                return;
            case DagValue d when name == "description":
                d.Dag.Description = value as string;
                return;
            case DagValue when name is "doc_md" or "doc" or "doc_rst" or "doc_json" or "doc_yaml":
            case TaskValue when name is "doc_md" or "doc" or "doc_rst" or "doc_json" or "doc_yaml":
                return; // documentation only: Sirocco does not show it yet
            default:
                throw new DagEvalException($"setting '{name}' on {Interpreter.Describe(target)} is not supported in DAG files read without Python", offset);
        }
    }
}

/// <summary>An Airflow <c>Param</c> as the DAG file gave it: its default (if any) and its JSON Schema.</summary>
internal sealed record ParamValue(object? Default, bool HasDefault, System.Text.Json.Nodes.JsonObject Schema);
