using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.Kubernetes;

/// <summary>
/// Runs a Python function of a DAG file in a pod, so that the scheduler runs no Python: Airflow's
/// <c>@task.kubernetes</c>, and Sirocco's way of running <c>PythonOperator</c> and <c>@task</c>. The function's source
/// (with the helpers, imports and JSON constants of the file it uses) is shipped in the pod's command; its arguments
/// (rendered as templates, upstream outputs pulled from XCom) and the context Airflow passes (<c>ds</c>,
/// <c>params</c>, <c>run_id</c>…) go in as JSON; its return value comes back as the <c>return_value</c> XCom. The image
/// is <see cref="KubernetesPodOperator.Image"/>, by default <c>[kubernetes] python_task_image</c>; it must have
/// <c>python3</c>.
/// </summary>
public sealed class PythonPodOperator : KubernetesPodOperator
{
    /// <summary>The key of an argument that stands for an upstream task's XCom until the try pulls it.</summary>
    public const string XComPlaceholder = "__sirocco_xcom__";

    private static readonly string[] PythonFields = [nameof(OpArgs), nameof(OpKwargs), nameof(TemplatesDict)];

    /// <summary>Creates the task; its result is pushed to XCom, as a Python task's is.</summary>
    public PythonPodOperator(string taskId)
        : base(taskId) => DoXcomPush = true;

    /// <summary>The operator's name as the UI shows it (<c>_PythonDecoratedOperator</c>, <c>PythonOperator</c>…).</summary>
    public string DisplayName { get; set; } = nameof(PythonPodOperator);

    /// <inheritdoc/>
    public override string OperatorName => DisplayName;

    /// <summary>The Python code run before the call: the function's definition and what it needs from its file.</summary>
    public string PythonSource { get; set; } = string.Empty;

    /// <summary>The function called.</summary>
    public string FunctionName { get; set; } = string.Empty;

    /// <summary>Positional arguments (JSON values; an upstream output is <c>{"__sirocco_xcom__": task, "key": key}</c>).</summary>
    public IList<object?> OpArgs { get; set; } = [];

    /// <summary>Keyword arguments, as <see cref="OpArgs"/>.</summary>
    public IDictionary<string, object?> OpKwargs { get; set; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>
    /// What the function's result decides: null (nothing), <c>branch</c> (the task ids to follow among the direct
    /// downstream tasks; the others are skipped, as BranchPythonOperator does) or <c>short_circuit</c> (a falsy
    /// result skips the downstream tasks, as ShortCircuitOperator does).
    /// </summary>
    public string? Decision { get; set; }

    /// <summary>For <c>short_circuit</c>: skip every task downstream, whatever its trigger rule (default), or only the direct ones.</summary>
    public bool IgnoreDownstreamTriggerRules { get; set; } = true;

    /// <summary>Airflow's <c>multiple_outputs</c>: a dict result also pushes each of its keys as an XCom of that key.</summary>
    public bool MultipleOutputs { get; set; }

    /// <summary>Whether the function is a callback, called with Airflow's context as its one argument.</summary>
    public bool CallWithContext { get; set; }

    /// <summary>Airflow's <c>templates_dict</c>: rendered, and passed in the context as <c>templates_dict</c>.</summary>
    public IDictionary<string, object?>? TemplatesDict { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => [.. base.TemplateFields, .. PythonFields];

    /// <inheritdoc/>
    public override BaseOperator CloneForTry()
    {
        var copy = (PythonPodOperator)base.CloneForTry();
        copy.OpArgs = [.. OpArgs];
        copy.OpKwargs = new Dictionary<string, object?>(OpKwargs, StringComparer.Ordinal);
        copy.TemplatesDict = TemplatesDict is null ? null : new Dictionary<string, object?>(TemplatesDict, StringComparer.Ordinal);
        return copy;
    }

    /// <summary>A mapped <c>@task</c> maps its function's keyword arguments.</summary>
    protected override bool AcceptsMappedKeyword(string name) => true;

    /// <summary>Sets a function keyword argument from a mapped item.</summary>
    protected override void ApplyMappedKeyword(string name, JsonElement value) => OpKwargs[name] = PlainJson.From(JsonNode.Parse(value.GetRawText()));

    /// <summary>Pulls the upstream outputs among the arguments, writes the call into the pod's command, and runs the pod.</summary>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = new JsonObject
        {
            ["args"] = await ResolveAsync(ToJson(OpArgs), context, cancellationToken).ConfigureAwait(false),
            ["kwargs"] = await ResolveAsync(ToJson(OpKwargs), context, cancellationToken).ConfigureAwait(false),
            ["context"] = Context(context),
        };
        var size = input.ToJsonString().Length;
        if (size > MaxInputChars)
        {
            throw new SiroccoException($"the arguments and context of {TaskId} come to {size / 1024} KiB, more than the {MaxInputChars / 1024} KiB a pod's environment carries; pass a reference (a path, a key, a URI) instead of the data");
        }

        input["xcoms"] = await UpstreamXComsAsync(context, MaxInputChars - size, cancellationToken).ConfigureAwait(false);
        Image ??= context.Config.Get("kubernetes", "python_task_image", "python:3.12-slim");
        Cmds = ["python3", "-c"];
        Arguments = [Literal(Script(PythonSource, FunctionName, CallWithContext))];
        EnvVars["SIROCCO_PYTHON_INPUT"] = Literal(input.ToJsonString());
        DoXcomPush = !CallWithContext;
        var result = await base.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        var skipped = Decision switch
        {
            "branch" => Branch(result as JsonElement?),
            "short_circuit" when !Truthy(result as JsonElement?) => ShortCircuit(),
            _ => [],
        };
        if (Decision == "short_circuit")
        {
            context.Log(skipped.Count == 0 ? "Condition result is truthy: downstream tasks proceed" : $"Condition result is falsy: skipping {string.Join(", ", skipped)}");
        }

        if (skipped.Count > 0)
        {
            context.Recorder.SkipTasks(skipped);
        }

        if (MultipleOutputs && result is JsonElement { ValueKind: JsonValueKind.Object } outputs)
        {
            foreach (var output in outputs.EnumerateObject())
            {
                await context.Recorder.PushXComAsync(output.Name, output.Value.Clone(), cancellationToken).ConfigureAwait(false);
            }
        }

        return result;
    }

    /// <summary>The direct downstream tasks a branch did not choose; a choice that is not one of them fails the try.</summary>
    private List<string> Branch(JsonElement? result)
    {
        var chosen = result switch
        {
            null or { ValueKind: JsonValueKind.Null } => [],
            { ValueKind: JsonValueKind.String } e => [e.GetString()!],
            { ValueKind: JsonValueKind.Array } e when e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) => e.EnumerateArray().Select(x => x.GetString()!).ToList(),
            { } e => throw new SiroccoException($"Branch task '{TaskId}' must return a task id, a list of task ids or None, not {e.GetRawText()}"),
        };
        foreach (var id in chosen.Where(id => !DownstreamTaskIds.Contains(id)))
        {
            throw new SiroccoException($"Branch task '{TaskId}' returned '{id}', which is not directly downstream of it (its downstream tasks: {string.Join(", ", DownstreamTaskIds.Order(StringComparer.Ordinal))})");
        }

        return [.. DownstreamTaskIds.Where(d => !chosen.Contains(d)).Order(StringComparer.Ordinal)];
    }

    /// <summary>What a falsy short circuit skips: every task downstream, or only the direct ones.</summary>
    private List<string> ShortCircuit()
    {
        if (!IgnoreDownstreamTriggerRules || Dag is null)
        {
            return [.. DownstreamTaskIds.Order(StringComparer.Ordinal)];
        }

        var all = new SortedSet<string>(StringComparer.Ordinal);
        var next = new Queue<string>(DownstreamTaskIds);
        while (next.TryDequeue(out var id))
        {
            if (all.Add(id))
            {
                foreach (var d in Dag.GetTask(id).DownstreamTaskIds)
                {
                    next.Enqueue(d);
                }
            }
        }

        return [.. all];
    }

    /// <summary>Python's truth of a JSON value: null, false, 0, "", [] and {} are false.</summary>
    private static bool Truthy(JsonElement? value) => value switch
    {
        null => false,
        { ValueKind: JsonValueKind.Null or JsonValueKind.False or JsonValueKind.Undefined } => false,
        { ValueKind: JsonValueKind.Number } e => e.GetDouble() != 0,
        { ValueKind: JsonValueKind.String } e => e.GetString()!.Length > 0,
        { ValueKind: JsonValueKind.Array } e => e.GetArrayLength() > 0,
        { ValueKind: JsonValueKind.Object } e => e.EnumerateObject().Any(),
        _ => true,
    };

    /// <summary>
    /// Text the kubelet passes on unchanged: it expands <c>$(VAR)</c> and reduces <c>$$</c> to <c>$</c> in a container's
    /// arguments and environment values, so every <c>$</c> is doubled (a function's <c>"$$"</c> or an argument's
    /// <c>$(HOME)</c> arrive as written).
    /// </summary>
    internal static string Literal(string text) => text.Replace("$", "$$", StringComparison.Ordinal);

    /// <summary>What the pod's environment variable may carry (Linux refuses one string over 128 KiB).</summary>
    private const int MaxInputChars = 96 * 1024;

    /// <summary>
    /// The <c>return_value</c> of every task upstream of this one (directly or not), for <c>ti.xcom_pull</c> inside the
    /// pod, as far as <paramref name="budget"/> allows; a value left out is named, so that pulling it says why.
    /// </summary>
    private async Task<JsonObject> UpstreamXComsAsync(TaskExecutionContext context, int budget, CancellationToken ct)
    {
        var values = new JsonObject();
        var tooLarge = new JsonArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // A callback belongs to no DAG: a task's reads its task's XCom and those upstream of it, a DAG's (it has a
        // reason) any task's of the run, as ti.xcom_pull can in Airflow.
        var dag = Dag ?? context.Dag;
        IEnumerable<string> start = context.CallbackKind is null ? UpstreamTaskIds
            : context.CallbackReason is not null && dag is not null ? dag.Tasks.Select(t => t.TaskId)
            : [context.TaskInstance.TaskId];
        var next = new Queue<string>(start.Order(StringComparer.Ordinal));
        while (next.TryDequeue(out var id))
        {
            if (!seen.Add(id))
            {
                continue;
            }

            if (await context.Recorder.PullXComAsync(id, XComEntry.ReturnValueKey, ct).ConfigureAwait(false) is { } value)
            {
                var text = value.GetRawText();
                if (text.Length + id.Length + 8 <= budget)
                {
                    values[id] = JsonNode.Parse(text);
                    budget -= text.Length + id.Length + 8;
                }
                else
                {
                    tooLarge.Add(id);
                }
            }

            if (dag is not null && dag.HasTask(id))
            {
                foreach (var up in dag.GetTask(id).UpstreamTaskIds)
                {
                    next.Enqueue(up);
                }
            }
        }

        return new JsonObject { ["values"] = values, ["too_large"] = tooLarge };
    }

    /// <summary>The program the pod runs: the shipped code, then the call with the context keys its signature takes.</summary>
    internal static string Script(string source, string function, bool callWithContext = false) => callWithContext ? $$"""
        {{Prelude}}
        {{source}}
        {{function}}(_sirocco_input["context"])
        """ : $$"""
        {{Prelude}}
        import inspect as _sirocco_inspect
        {{source}}
        _sirocco_fn = {{function}}
        _sirocco_args = _sirocco_input["args"]
        _sirocco_kwargs = dict(_sirocco_input["kwargs"])
        _sirocco_params = list(_sirocco_inspect.signature(_sirocco_fn).parameters.values())
        _sirocco_taken = {p.name for p in _sirocco_params[:len(_sirocco_args)]} | set(_sirocco_kwargs)
        _sirocco_any = any(p.kind == p.VAR_KEYWORD for p in _sirocco_params)
        for _k, _v in _sirocco_input["context"].items():
            if _k not in _sirocco_taken and (_sirocco_any or _k in {p.name for p in _sirocco_params}):
                _sirocco_kwargs[_k] = _v
        _sirocco_result = _sirocco_fn(*_sirocco_args, **_sirocco_kwargs)
        _sirocco_os.makedirs("/airflow/xcom", exist_ok=True)
        with open("/airflow/xcom/return.json", "w") as _sirocco_out:
            _sirocco_json.dump(_sirocco_result, _sirocco_out)
        """;

    /// <summary>The input, and a task instance object with <c>xcom_pull</c> over the upstream results, in the context as <c>ti</c>.</summary>
    // Annotations stay unevaluated (the names they use, such as typing's, are not shipped with the function).
    private const string Prelude = """
        from __future__ import annotations
        import json as _sirocco_json, os as _sirocco_os
        _sirocco_input = _sirocco_json.loads(_sirocco_os.environ["SIROCCO_PYTHON_INPUT"])
        class _SiroccoTaskInstance:
            def __init__(self, context, xcoms):
                for _k in ("dag_id", "task_id", "run_id", "try_number", "map_index"):
                    setattr(self, _k, context[_k])
                self._values = xcoms.get("values", {})
                self._too_large = set(xcoms.get("too_large", []))
            def _pull(self, task_id):
                if task_id in self._too_large:
                    raise ValueError("the result of %s is too large to pass to a pod; pass a reference instead" % task_id)
                return self._values.get(task_id)
            def xcom_pull(self, task_ids=None, key="return_value", **kwargs):
                if key != "return_value" or task_ids is None:
                    raise NotImplementedError("in a pod, xcom_pull gives the return_value of upstream tasks named by task_ids")
                if isinstance(task_ids, str):
                    return self._pull(task_ids)
                return [self._pull(t) for t in task_ids]
            def xcom_push(self, key, value):
                raise NotImplementedError("xcom_push is not available in a pod: return the value instead")
        _sirocco_input["context"]["ti"] = _sirocco_input["context"]["task_instance"] = _SiroccoTaskInstance(_sirocco_input["context"], _sirocco_input.get("xcoms", {}))
        """;

    private JsonObject Context(TaskExecutionContext context)
    {
        var run = context.DagRun;
        var ti = context.TaskInstance;
        var parameters = new JsonObject();
        foreach (var (k, v) in Dag?.Params ?? new Dictionary<string, object?>())
        {
            parameters[k] = JsonSerializer.SerializeToNode(v);
        }

        foreach (var (k, v) in run.Conf ?? [])
        {
            parameters[k] = v?.DeepClone(); // [core] dag_run_conf_overrides_params, as in Airflow 2
        }

        var logical = run.LogicalDate.ToUniversalTime();
        return new JsonObject
        {
            ["dag_id"] = run.DagId,
            ["task_id"] = context.TaskInstance.TaskId,
            ["run_id"] = run.RunId,
            ["ds"] = logical.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["ds_nodash"] = logical.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture),
            ["ts"] = logical.ToString("yyyy-MM-dd'T'HH:mm:ss+00:00", System.Globalization.CultureInfo.InvariantCulture),
            ["logical_date"] = Iso(logical),
            ["data_interval_start"] = Iso(run.DataInterval.Start),
            ["data_interval_end"] = Iso(run.DataInterval.End),
            ["params"] = parameters,
            ["conf"] = run.Conf?.DeepClone() ?? new JsonObject(),
            ["try_number"] = Math.Max(1, ti.TryNumber),
            ["map_index"] = ti.MapIndex,
            ["templates_dict"] = TemplatesDict is null ? null : ToJson(TemplatesDict),
            ["task_instance_key_str"] = $"{run.DagId}__{ti.TaskId}__{logical:yyyyMMdd}",
            ["exception"] = context.CallbackException,
            ["reason"] = context.CallbackReason ?? context.CallbackKind,
        };
    }

    /// <summary>ISO 8601 with microseconds, which every Python's <c>datetime.fromisoformat</c> reads.</summary>
    private static string Iso(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff+00:00", System.Globalization.CultureInfo.InvariantCulture);

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement e => JsonNode.Parse(e.GetRawText()),
        _ => JsonSerializer.SerializeToNode(value, value.GetType()),
    };

    /// <summary>Replaces each upstream placeholder by the XCom it names (a mapped upstream's: the list of its values).</summary>
    private static async Task<JsonNode?> ResolveAsync(JsonNode? node, TaskExecutionContext context, CancellationToken ct)
    {
        switch (node)
        {
            case JsonObject o when o.TryGetPropertyValue(XComPlaceholder, out var task) && task is JsonValue:
                var taskId = task.GetValue<string>();
                var key = o["key"]?.GetValue<string>() ?? XComEntry.ReturnValueKey;
                var value = await context.Recorder.PullXComAsync(taskId, key, ct).ConfigureAwait(false)
                    ?? throw new SiroccoException($"the output of {taskId} (XCom '{key}') was not pushed, so it cannot be passed to this task");
                return JsonNode.Parse(value.GetRawText());
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (k, v) in o)
                {
                    copy[k] = await ResolveAsync(v, context, ct).ConfigureAwait(false);
                }

                return copy;
            case JsonArray a:
                var items = new JsonArray();
                foreach (var v in a)
                {
                    items.Add(await ResolveAsync(v, context, ct).ConfigureAwait(false));
                }

                return items;
            default:
                return node?.DeepClone();
        }
    }
}
