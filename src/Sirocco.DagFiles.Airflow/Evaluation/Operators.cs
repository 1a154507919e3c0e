using System.Reflection;
using k8s.Models;
using Sirocco.Kubernetes;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// Builds operators from keyword arguments. Each keyword maps onto the C# operator property of the same name in
/// PascalCase (the provider's names: <c>startup_timeout_seconds</c> → <c>StartupTimeoutSeconds</c>), plus the
/// provider's aliases and special forms; any other keyword is an error naming it, as Python's TypeError would.
/// </summary>
internal static class Operators
{
    /// <summary>Keywords Airflow accepts that change nothing Sirocco does (documentation, e-mail, executor hints).</summary>
    public static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
    {
        "email", "email_on_failure", "email_on_retry", "doc", "doc_md", "doc_rst", "doc_json", "doc_yaml", "queue", "sla",
        "wait_for_downstream", "task_concurrency",
        "executor_config", "run_as_user", "owner_links", "task_display_name", "inlets", "multiple_outputs",
        "output_encoding",
    };

    /// <summary>
    /// Provider keywords whose value is Python code the provider calls while the pod runs. Sirocco runs no Python
    /// interpreter in the scheduler: <c>log_formatter</c> and <c>progress_callback</c> functions of the file run on its
    /// own evaluator; the hooks of a <c>callbacks</c> class run in pods (<see cref="PodCallbacks"/>).
    /// </summary>
    private static readonly HashSet<string> PythonHooks = new(StringComparer.Ordinal) { "callbacks", "progress_callback", "log_formatter" };

    /// <summary>
    /// <c>log_formatter</c> and <c>progress_callback</c> given as a function or lambda of the file: called per log line
    /// by the file's own evaluator (as <c>XComArg.map</c> functions are), never by a Python interpreter.
    /// </summary>
    private static bool LineHook(Library library, KubernetesPodOperator kpo, string className, string name, object? value)
    {
        if (name is not ("log_formatter" or "progress_callback") || value is not (UserFunction or NativeFunction))
        {
            return false;
        }

        var call = OnEvaluator(library, kpo, className, name, value);
        object? Call(params object?[] arguments) => call(new Args([.. arguments], []));

        if (name == "log_formatter")
        {
            kpo.LogFormatter = (container, line) => Call(container, line) is string text
                ? text
                : throw new SiroccoException($"log_formatter of task '{kpo.TaskId}' must return a str");
        }
        else
        {
            kpo.ProgressCallback = line => Call(line);
        }

        return true;
    }

    /// <summary>
    /// A function of the file, called on the file's own evaluator, one call at a time (log lines of several tries may
    /// arrive at once); its errors name the hook and the task.
    /// </summary>
    internal static Func<Args, object?> OnEvaluator(Library library, KubernetesPodOperator kpo, string className, string name, object function)
    {
        var interpreter = library.Evaluator ?? throw new KeywordException(name, $"{className}(): {name} needs the file's evaluator");
        return args =>
        {
            lock (interpreter)
            {
                try
                {
                    return interpreter.Invoke(function, args, 0);
                }
                catch (DagEvalException e)
                {
                    throw new SiroccoException($"{name} of task '{kpo.TaskId}': {e.Message}");
                }
            }
        };
    }

    private static readonly HashSet<string> Callbacks = new(StringComparer.Ordinal)
    {
        "on_failure_callback", "on_success_callback", "on_retry_callback", "on_execute_callback", "on_skipped_callback",
        "pre_execute", "post_execute",
    };

    /// <summary>Every keyword an operator class accepts (for the documentation test).</summary>
    public static IReadOnlyCollection<string> Keywords(Type type) =>
        OperatorRegistry.All.First(c => c.Type == type).Keywords.Keys.ToList();

    /// <summary>The property a keyword sets on <paramref name="op"/> (aliases included), or null.</summary>
    public static string? Property(BaseOperator op, string keyword) =>
        OperatorRegistry.Of(op).Keywords.TryGetValue(keyword, out var p) ? p.Name : null;

    /// <param name="library">The file's library.</param>
    /// <param name="className">The operator class.</param>
    /// <param name="a">The call's arguments.</param>
    /// <param name="mapped">Keywords given to <c>expand</c> instead (they count as given); for <c>expand_kwargs</c>, which may give any, null with <paramref name="anyMapped"/>.</param>
    /// <param name="anyMapped">Whether <c>expand_kwargs</c> gives the mapped keywords (required ones are not checked).</param>
    public static TaskValue Create(Library library, string className, Args a, IReadOnlySet<string>? mapped = null, bool anyMapped = false)
    {
        if (a.Positional.Count > 0)
        {
            throw new DagEvalException($"{className}() takes keyword arguments only (task_id=..., ...)");
        }

        var group = library.CurrentGroup;
        var taskId = a.Get(-1, "task_id") switch
        {
            string s => group is not null && !a.Has("dag") ? group.ChildId(s) : s,
            null => throw new DagEvalException($"{className}() missing required argument: 'task_id'"),
            var other => throw new KeywordException("task_id", $"{className}(): task_id must be a str, not {Interpreter.Describe(other)}"),
        };

        var kind = OperatorRegistry.Get(className);
        BaseOperator op;
        try
        {
            op = kind.Create(taskId);
        }
        catch (SiroccoException e)
        {
            throw new KeywordException("task_id", e.Message);
        }

        var table = kind.Keywords;
        DagValue? dag = library.CurrentDagValue;
        PyDict? taskDefaults = null;
        foreach (var k in a.Keywords)
        {
            switch (k.Name)
            {
                case "task_id":
                    continue;
                case "dag":
                    dag = k.Value as DagValue ?? (k.Value is null ? null : throw new KeywordException("dag", $"{className}(): dag must be a DAG, not {Interpreter.Describe(k.Value)}"));
                    continue;
                case "default_args":
                    taskDefaults = k.Value as PyDict ?? throw new KeywordException("default_args", $"{className}(): default_args must be a dict");
                    continue;
            }

            Apply(library, op, table, className, k.Name, k.Value);
        }

        // A task group's default_args sit between the DAG's and the task's own (inner groups win).
        if (group is not null && !a.Has("dag"))
        {
            for (var g = group; g is not null; g = g.Parent)
            {
                if (g.DefaultArgs is null)
                {
                    continue;
                }

                // A copy: the file's own dicts are never changed.
                var merged = new PyDict();
                foreach (var (k, v) in taskDefaults ?? [])
                {
                    merged[k] = v;
                }

                foreach (var (k, v) in g.DefaultArgs)
                {
                    merged.TryAdd(k, v);
                }

                taskDefaults = merged;
            }
        }

        foreach (var required in kind.Required)
        {
            if (!a.Has(required) && !anyMapped && mapped?.Contains(required) != true && dag?.DefaultArgs?.ContainsKey(required) != true && taskDefaults?.ContainsKey(required) != true)
            {
                throw new DagEvalException($"{className}() missing required argument: '{required}'");
            }
        }

        // default_args as Airflow applies them: every key the operator accepts and the call did not give. Keys of
        // BaseOperator are left to the DAG's DefaultArgs (read through its properties), unless the task has its own.
        foreach (var (defaults, own) in new[] { (taskDefaults, true), (dag?.DefaultArgs, false) })
        {
            if (defaults is null)
            {
                continue;
            }

            foreach (var (key, value) in defaults)
            {
                if (key is string name && !a.Has(name) && (table.ContainsKey(name) || Callbacks.Contains(name)) && (own || !OperatorRegistry.BaseKeywords.Contains(name))
                    && !(own is false && taskDefaults?.ContainsKey(name) == true))
                {
                    try
                    {
                        Apply(library, op, table, className, name, value);
                    }
                    catch (KeywordException e)
                    {
                        throw new DagEvalException($"default_args['{name}']: {e.Message}");
                    }
                }
            }
        }

        if (dag is not null)
        {
            try
            {
                dag.Dag.Add(op);
            }
            catch (SiroccoException e)
            {
                throw new KeywordException("task_id", e.Message);
            }
        }

        var wrapped = library.Wrap(op);
        if (group is not null && !a.Has("dag"))
        {
            op.TaskGroupId = group.GroupId;
            for (var g = group; g is not null; g = g.Parent)
            {
                g.Tasks.Add(wrapped);
            }
        }

        return wrapped;
    }

    private static void Apply(Library library, BaseOperator op, IReadOnlyDictionary<string, PropertyInfo> table, string className, string name, object? value)
    {
        if (Ignored.Contains(name) && !table.ContainsKey(name))
        {
            return;
        }

        if (Callbacks.Contains(name))
        {
            if (name is "pre_execute" or "post_execute")
            {
                throw new KeywordException(name, $"{className}(): {name} is not supported (use on_execute_callback or on_success_callback, which run in a pod)");
            }

            op.TaskCallbacks[name] = TaskFlow.Callbacks(library, op.TaskId, op as KubernetesPodOperator, name, value);
            return;
        }

        if (op is KubernetesPodOperator hooked && PythonHooks.Contains(name))
        {
            if (name == "callbacks")
            {
                hooked.Callbacks = PodCallbacks.From(library, className, hooked, value);
            }
            else if (value is not null && !LineHook(library, hooked, className, name, value))
            {
                throw new KeywordException(name, $"{className}(): {name} must be a function or a lambda of the file, not {Interpreter.Describe(value)}");
            }

            return;
        }

        if (op is KubernetesPodOperator kpo && Special(kpo, className, name, value))
        {
            return;
        }

        if (name == "outlets")
        {
            // Datasets the task updates; other outlets (lineage entities) change nothing, as without a lineage backend.
            op.Outlets = value switch
            {
                null => [],
                DatasetValue d => [d.Uri],
                List<object?> or PyTuple => [.. ((IEnumerable<object?>)value).OfType<DatasetValue>().Select(d => d.Uri)],
                _ => throw new KeywordException(name, $"{className}(): outlets must be a list of datasets, not {Interpreter.Describe(value)}"),
            };
            return;
        }

        if (name == "params")
        {
            throw new KeywordException(name, $"{className}(): task-level params are not supported yet; set params on the DAG");
        }

        if (!table.TryGetValue(name, out var property))
        {
            throw new KeywordException(name, $"{className}.__init__() got an unexpected keyword argument '{name}'");
        }

        object? converted;
        try
        {
            converted = To(value, property.PropertyType, name);
        }
        catch (Exception e) when (e is DagEvalException or SiroccoException)
        {
            throw new KeywordException(name, $"{className}(): {e.Message}");
        }

        if (converted is null && property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null)
        {
            throw new KeywordException(name, $"{className}(): {name} cannot be None");
        }

        if (converted is null && !property.PropertyType.IsValueType && new NullabilityInfoContext().Create(property).WriteState == NullabilityState.NotNull)
        {
            return; // None for a list or dict parameter means "none", the default
        }

        try
        {
            property.SetValue(op, converted);
        }
        catch (TargetInvocationException e) when (e.InnerException is SiroccoException or ArgumentException)
        {
            throw new KeywordException(name, $"{className}(): {name}: {e.InnerException.Message}");
        }

        SendAsWritten(library, op, className, property, value);
    }

    /// <summary>Where in the pod each model-valued property of KubernetesPodOperator goes (JSON pointer).</summary>
    private static readonly Dictionary<string, string> PodPointers = new(StringComparer.Ordinal)
    {
        [nameof(KubernetesPodOperator.Affinity)] = "/spec/affinity",
        [nameof(KubernetesPodOperator.Tolerations)] = "/spec/tolerations",
        [nameof(KubernetesPodOperator.Volumes)] = "/spec/volumes",
        [nameof(KubernetesPodOperator.InitContainers)] = "/spec/initContainers",
        [nameof(KubernetesPodOperator.HostAliases)] = "/spec/hostAliases",
        [nameof(KubernetesPodOperator.SecurityContext)] = "/spec/securityContext",
        [nameof(KubernetesPodOperator.ImagePullSecrets)] = "/spec/imagePullSecrets",
        [nameof(KubernetesPodOperator.VolumeMounts)] = "/spec/containers/0/volumeMounts",
        [nameof(KubernetesPodOperator.ContainerResources)] = "/spec/containers/0/resources",
        [nameof(KubernetesPodOperator.ContainerSecurityContext)] = "/spec/containers/0/securityContext",
        [nameof(KubernetesPodOperator.EnvFrom)] = "/spec/containers/0/envFrom",
        [nameof(KubernetesPodOperator.Ports)] = "/spec/containers/0/ports",
    };

    /// <summary>
    /// Values of the wrong type inside the Kubernetes objects of a keyword (Python does not check them): the task sends
    /// them as Python's client would, so the API server refuses this task's pod with its own error when it runs, and
    /// the DAG gets a warning naming each one. Where the pod place of a keyword is unknown, the file fails as before.
    /// </summary>
    private static void SendAsWritten(Library library, BaseOperator op, string className, PropertyInfo property, object? value)
    {
        var problems = KubernetesModels.Problems(value).ToList();
        if (problems.Count == 0)
        {
            return;
        }

        if (op is not KubernetesPodOperator kpo || !PodPointers.TryGetValue(property.Name, out var pointer))
        {
            throw new KeywordException(property.Name, $"{className}(): {problems[0].Message}");
        }

        foreach (var p in problems)
        {
            kpo.RawPodFields[pointer + p.Pointer] = p.Sent;
            library.Warn(op, p.Offset, $"task '{op.TaskId}': {p.Message}; Python's client sends it as written, so the API server decides when the task runs (only this task fails if it refuses the pod)");
        }
    }

    /// <summary>Keywords of the provider whose Python form differs from the C# property's.</summary>
    private static bool Special(KubernetesPodOperator op, string className, string name, object? value)
    {
        switch (name)
        {
            case "env_vars":
                if (value is PyDict or null)
                {
                    return false;
                }

                op.EnvVarList = [.. List(value, name).Select(v => Model<V1EnvVar>(v, className, name))];
                return true;
            case "image_pull_secrets" when value is string s:
                op.SetImagePullSecrets(s);
                return true;
            case "is_delete_operator_pod":
                op.OnFinishAction = value is bool b
                    ? (b ? OnFinishAction.DeletePod : OnFinishAction.KeepPod)
                    : throw new KeywordException(name, $"{className}(): {name} must be a bool");
                return true;
            case "resources" when value is ModelValue:
                op.ContainerResources = Model<V1ResourceRequirements>(value, className, name);
                return true;
            case "container_logs" or "init_container_logs":
                IList<string> logs = value switch
                {
                    true => ["*"],
                    false or null => [],
                    string s => [s],
                    _ => Convert.StringList(value, name),
                };
                if (name == "container_logs")
                {
                    op.ContainerLogs = logs;
                }
                else
                {
                    op.InitContainerLogs = logs;
                }

                return true;
            default:
                return false;
        }
    }

    private static T Model<T>(object? value, string className, string name)
        where T : class
    {
        try
        {
            return KubernetesModels.As<T>(value, name);
        }
        catch (DagEvalException e)
        {
            throw new KeywordException(name, $"{className}(): {e.Message}");
        }
    }

    private static List<object?> List(object? value, string name) => value switch
    {
        List<object?> l => l,
        PyTuple t => [.. t.Items],
        _ => throw new DagEvalException($"{name} must be a list, not {Interpreter.Describe(value)}"),
    };

    /// <summary>A value of the file as a value of the property type.</summary>
    private static object? To(object? value, Type type, string name)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (value is null)
        {
            return null;
        }

        if (target == typeof(string))
        {
            return value as string ?? throw new DagEvalException($"{name} must be a str, not {Interpreter.Describe(value)}");
        }

        if (target == typeof(int) || target == typeof(long))
        {
            if (value is not (long or bool) && !(value is double d && d == Math.Floor(d)))
            {
                throw new DagEvalException($"{name} must be an int, not {Interpreter.Describe(value)}");
            }

            var l = value is double dd ? (long)dd : PyOps.ToLong(value);
            if (target == typeof(long))
            {
                return l;
            }

            return l is >= int.MinValue and <= int.MaxValue ? (int)l : throw new DagEvalException($"{name} is out of range");
        }

        if (target == typeof(double))
        {
            return value is long or double ? PyOps.ToDouble(value) : throw new DagEvalException($"{name} must be a float, not {Interpreter.Describe(value)}");
        }

        if (target == typeof(bool))
        {
            return value as bool? ?? throw new DagEvalException($"{name} must be a bool, not {Interpreter.Describe(value)}");
        }

        if (target == typeof(TimeSpan))
        {
            return value switch
            {
                PyTimeDelta t => TimeSpan.FromTicks(t.Ticks),
                long or double => TimeSpan.FromSeconds(PyOps.ToDouble(value)),
                _ => throw new DagEvalException($"{name} must be a timedelta, not {Interpreter.Describe(value)}"),
            };
        }

        if (target == typeof(DateTimeOffset))
        {
            return value is PyDateTime dt ? new DateTimeOffset(dt.Wall, dt.Offset ?? TimeSpan.Zero) : throw new DagEvalException($"{name} must be a datetime, not {Interpreter.Describe(value)}");
        }

        if (target == typeof(TriggerRule))
        {
            return value is string s ? TriggerRuleNames.Parse(s) : throw new DagEvalException($"{name} must be a TriggerRule or str, not {Interpreter.Describe(value)}");
        }

        if (target == typeof(WeightRule))
        {
            return value is string s ? WeightRuleNames.Parse(s) : throw new DagEvalException($"{name} must be a WeightRule or str, not {Interpreter.Describe(value)}");
        }

        if (target == typeof(OnFinishAction))
        {
            return value is string s ? OnFinishActionNames.Parse(s) : throw new DagEvalException($"{name} must be a str, not {Interpreter.Describe(value)}");
        }

        if (KubernetesModels.IsModel(target))
        {
            return KubernetesModels.As(value, target, name);
        }

        if (target == typeof(object))
        {
            // A keyword that takes more than one shape (impersonation_chain: a str or a list of str): plain values.
            return Convert.ToDotNet(value);
        }

        if (target.IsGenericType)
        {
            var def = target.GetGenericTypeDefinition();
            var args = target.GetGenericArguments();
            if (def == typeof(IList<>))
            {
                var element = args[0];
                var items = value is long && element == typeof(int) ? [value] : List(value, name);
                if (element == typeof(string))
                {
                    return Convert.StringList(items, name);
                }

                if (element == typeof(int))
                {
                    return items.Select(i => (int)To(i, typeof(int), name)!).ToList();
                }

                if (element == typeof(Secret))
                {
                    return items.Select(i => i is SecretValue s ? s.Secret : throw new DagEvalException($"{name} must be a list of Secret, but holds {Interpreter.Describe(i)}")).ToList();
                }

                if (KubernetesModels.IsModel(element))
                {
                    var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
                    foreach (var i in items)
                    {
                        list.Add(KubernetesModels.As(i, element, name));
                    }

                    return list;
                }
            }

            if (def == typeof(IDictionary<,>) && args[0] == typeof(string))
            {
                if (value is not PyDict d)
                {
                    throw new DagEvalException($"{name} must be a dict, not {Interpreter.Describe(value)}");
                }

                if (args[1] == typeof(string))
                {
                    var result = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (k, v) in d)
                    {
                        if (k is not string key || v is not string text)
                        {
                            throw new DagEvalException($"{name} must map str to str, but holds {PyOps.Repr(PyEqualityComparer.Unkey(k))}: {Interpreter.Describe(v)}");
                        }

                        result[key] = text;
                    }

                    return result;
                }

                return Convert.ToDotNet(d);
            }
        }

        throw new DagEvalException($"{name}: values of type {target.Name} cannot be given in a DAG file read without Python");
    }
}
