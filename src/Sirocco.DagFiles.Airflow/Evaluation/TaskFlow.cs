using System.Collections;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.DagFiles.Airflow.Syntax;
using Sirocco.Kubernetes;
using Sirocco.Templating.Expressions;
using Expr = Sirocco.DagFiles.Airflow.Syntax.Expr;
using NameExpr = Sirocco.DagFiles.Airflow.Syntax.NameExpr;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>A <c>@task</c>-decorated function: calling it inside a DAG makes a task that runs the function in a pod.</summary>
internal sealed record TaskFactory(string Kind, UserFunction Function, IReadOnlyList<KeywordArg> Options);

/// <summary><c>f.partial(...)</c> of a <c>@task</c> function, waiting for <c>expand</c>.</summary>
internal sealed record TaskFlowPartial(TaskFactory Factory, IReadOnlyList<KeywordArg> Keywords) : IPyObject
{
    public string TypeName => "_TaskDecorator";

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }
}

/// <summary>
/// Airflow's TaskFlow API and PythonOperator, with the function run in a pod (<see cref="PythonPodOperator"/>): the
/// reader ships the function's source with what it uses from its file (helpers, imports, JSON constants), and refuses
/// a function that uses anything else, naming it.
/// </summary>
internal static class TaskFlow
{
    internal static readonly HashSet<string> Builtins = new(StringComparer.Ordinal)
    {
        "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "dict", "dir", "divmod",
        "enumerate", "filter", "float", "format", "frozenset", "getattr", "hasattr", "hash", "hex", "id", "int",
        "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object", "oct", "open", "ord",
        "pow", "print", "range", "repr", "reversed", "round", "set", "setattr", "slice", "sorted", "str", "sum",
        "super", "tuple", "type", "vars", "zip", "None", "True", "False", "Exception", "ValueError", "KeyError",
        "TypeError", "RuntimeError", "IndexError", "AttributeError", "StopIteration", "NotImplementedError",
        "ArithmeticError", "ZeroDivisionError", "OSError", "IOError", "FileNotFoundError", "AssertionError",
        "__name__", "__file__", "globals", "locals", "exec", "eval", "compile", "input", "breakpoint", "staticmethod",
        "classmethod", "property", "memoryview", "complex", "delattr", "issubclass",
    };

    private static readonly ConditionalWeakTable<NativeFunction, TaskFactory> Factories = [];

    /// <summary>The name a lambda given as <c>python_callable</c> is bound to in its pod.</summary>
    private const string LambdaName = "_sirocco_lambda";

    /// <summary><c>task</c> (<c>kind</c> python) or <c>task.kubernetes</c>: a decorator, bare or with keywords.</summary>
    public static NativeFunction Decorator(Library library, string kind) =>
        new(kind == "python" ? "task" : "task." + kind, a => Decorate(library, kind, a, []));

    /// <summary>What <c>task.x</c> is: a decorator of another kind, or an error naming what is not supported yet.</summary>
    public static object? Attribute(Library library, string name) => name switch
    {
        "python" or "kubernetes" or "branch" or "short_circuit" => Decorator(library, name),
        "pyspark" or "virtualenv" or "external_python" or "branch_virtualenv" or "branch_external_python" or "docker" or "bash" or "sensor" or "sql" =>
            throw new DagEvalException($"@task.{name} is not supported yet by Sirocco's DAG-file reader (@task, @task.python, @task.kubernetes, @task.branch and @task.short_circuit are)"),
        _ => throw new DagEvalException($"'task' has no attribute '{name}'"),
    };

    /// <summary>Attributes of a decorated function: <c>override(...)</c>, and the function's name.</summary>
    public static object? FactoryAttribute(Library library, NativeFunction function, string name)
    {
        if (!Factories.TryGetValue(function, out var factory))
        {
            return null;
        }

        return name switch
        {
            "override" => new NativeFunction("override", a => Register(library, factory with { Options = [.. factory.Options.Where(o => !a.Has(o.Name)), .. a.Keywords] })),
            "partial" => new NativeFunction("partial", a => new TaskFlowPartial(factory, a.Keywords)),
            "expand" or "expand_kwargs" => new NativeFunction(name, a => Expand(library, new TaskFlowPartial(factory, []), name == "expand_kwargs", a)),
            "function" => factory.Function,
            _ => throw new DagEvalException($"'{function.Name}' (a @task function) has no attribute '{name}' in the DAG-file subset"),
        };
    }

    /// <summary>
    /// A task's or a DAG's <c>on_*_callback</c> (a function of the file, or a list of them): each a pod that calls the
    /// function with Airflow's context, run when the try (or the run) ends. Named <c>{owner}__{kind}</c>; on the
    /// <paramref name="cluster"/> task's cluster, or the default connection's when null.
    /// </summary>
    public static List<BaseOperator> Callbacks(Library library, string owner, KubernetesPodOperator? cluster, string kind, object? value)
    {
        List<object> functions = value switch
        {
            null => [],
            UserFunction or NotifierValue => [value],
            List<object?> or PyTuple => [.. ((IEnumerable<object?>)value).Select(x => x as UserFunction ?? x as NotifierValue as object
                ?? throw new KeywordException(kind, $"{kind}: {Interpreter.Describe(x)} is not a function defined in the file or a notifier"))],
            _ => throw new KeywordException(kind, $"{kind} must be a function defined in the file, a notifier (send_smtp_notification) or a list of them, not {Interpreter.Describe(value)}"),
        };
        var callbacks = new List<BaseOperator>();
        for (var i = 0; i < functions.Count; i++)
        {
            var id = $"{owner}__{kind}{(i == 0 ? string.Empty : i.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
            if (functions[i] is NotifierValue notifier)
            {
                callbacks.Add(notifier.Copy(id)); // runs natively: no pod
                continue;
            }

            var f = (UserFunction)functions[i];
            callbacks.Add(new PythonPodOperator(id)
            {
                DisplayName = kind,
                PythonSource = Ship(library, f),
                FunctionName = f.Definition.Name == "<lambda>" ? LambdaName : f.Definition.Name,
                CallWithContext = true,
                // On the task's cluster when the task is a pod; a DAG's callbacks on the default connection's.
                Namespace = cluster?.Namespace,
                KubernetesConnId = cluster?.KubernetesConnId ?? "kubernetes_default",
                ConfigFile = cluster?.ConfigFile,
                InCluster = cluster?.InCluster,
                ClusterContext = cluster?.ClusterContext,
            });
        }

        return callbacks;
    }

    /// <summary>
    /// <c>f.partial(...).expand(x=...)</c> / <c>f.expand_kwargs(...)</c>: one instance per item, the mapped values
    /// passed as the function's keyword arguments; the output is the list of the instances' results.
    /// </summary>
    public static XComArgValue Expand(Library library, TaskFlowPartial partial, bool kwargs, Args a)
    {
        var factory = partial.Factory;
        var name = factory.Function.Definition.Name;
        if (kwargs ? a.Positional.Count != 1 || a.Keywords.Count > 0 : a.Positional.Count > 0 || a.Keywords.Count == 0)
        {
            throw new DagEvalException(kwargs ? $"{name}.expand_kwargs() takes one argument: a list of dicts or an output" : $"{name}.expand() takes keyword arguments only, at least one: the parameters to map over");
        }

        var wrapped = Make(library, DisplayName(factory.Kind), factory.Function, factory.Options);
        var op = (PythonPodOperator)wrapped.Task;
        op.Decision = factory.Kind is "branch" or "short_circuit" ? factory.Kind : null;
        var fixedArgs = new PyDict();
        foreach (var k in partial.Keywords)
        {
            fixedArgs[k.Name] = k.Value;
        }

        op.OpKwargs = (Dictionary<string, object?>)PlainJson.From(Arguments(fixedArgs, "partial()", wrapped))!;
        try
        {
            if (kwargs)
            {
                op.ExpandKwargs(Mapping.Source(a.Positional[0], "expand_kwargs", wrapped));
            }
            else
            {
                foreach (var k in a.Keywords)
                {
                    if (partial.Keywords.Any(p => p.Name == k.Name))
                    {
                        throw new KeywordException(k.Name, $"{name}.partial(...).expand(): '{k.Name}' is given to both partial() and expand()");
                    }

                    op.ExpandArgument(k.Name, Mapping.Source(k.Value, $"expand({k.Name}=...)", wrapped));
                }
            }
        }
        catch (SiroccoException e)
        {
            throw new DagEvalException(e.Message);
        }

        return new XComArgValue(wrapped, XComEntry.ReturnValueKey, null);
    }

    /// <summary><c>PythonOperator(task_id=..., python_callable=f, op_args=[...], op_kwargs={...}, templates_dict={...})</c>.</summary>
    /// <param name="library">The file's library.</param>
    /// <param name="className">PythonOperator, BranchPythonOperator or ShortCircuitOperator.</param>
    /// <param name="a">The call's arguments.</param>
    public static TaskValue PythonOperator(Library library, string className, Args a)
    {
        var callable = a.Get(-1, "python_callable") as UserFunction
            ?? throw new KeywordException(a.Has("python_callable") ? "python_callable" : "task_id", $"{className}(): python_callable must be a function defined in the file (def or lambda)");
        var skip = new HashSet<string>(StringComparer.Ordinal) { "python_callable", "op_args", "op_kwargs", "templates_dict", "show_return_value_in_logs", "templates_exts" };
        var wrapped = Make(library, className, callable, [.. a.Keywords.Where(k => !skip.Contains(k.Name))]);
        var op = (PythonPodOperator)wrapped.Task;
        op.Decision = className switch
        {
            "BranchPythonOperator" => "branch",
            "ShortCircuitOperator" => "short_circuit",
            _ => null,
        };
        op.OpArgs = a.Get(-1, "op_args") is { } args ? (List<object?>)PlainJson.From(Arguments(args, "op_args", wrapped))! : [];
        op.OpKwargs = a.Get(-1, "op_kwargs") is { } kwargs ? (Dictionary<string, object?>)PlainJson.From(Arguments(kwargs, "op_kwargs", wrapped))! : new Dictionary<string, object?>(StringComparer.Ordinal);
        op.TemplatesDict = a.Get(-1, "templates_dict") is { } t ? (Dictionary<string, object?>?)PlainJson.From(Arguments(t, "templates_dict", wrapped)) : null;
        return wrapped;
    }

    private static object? Decorate(Library library, string kind, Args a, IReadOnlyList<KeywordArg> options)
    {
        if (a.Positional is [UserFunction f] && a.Keywords.Count == 0)
        {
            return Register(library, new TaskFactory(kind, f, options));
        }

        if (a.Positional.Count == 0)
        {
            IReadOnlyList<KeywordArg> all = [.. options, .. a.Keywords];
            return new NativeFunction("task", b => Decorate(library, kind, b, all));
        }

        throw new DagEvalException($"@task takes a function defined in the file, or keyword arguments and then the function, not {Interpreter.Describe(a.Positional[0])}");
    }

    private static NativeFunction Register(Library library, TaskFactory factory)
    {
        var function = new NativeFunction(factory.Function.Definition.Name, a => Call(library, factory, a));
        Factories.AddOrUpdate(function, factory);
        return function;
    }

    /// <summary>Calling a decorated function: a task whose arguments are the call's, whose output is returned.</summary>
    private static XComArgValue Call(Library library, TaskFactory factory, Args call)
    {
        var wrapped = Make(library, DisplayName(factory.Kind), factory.Function, factory.Options);
        var op = (PythonPodOperator)wrapped.Task;
        op.Decision = factory.Kind is "branch" or "short_circuit" ? factory.Kind : null;
        op.OpArgs = (List<object?>)PlainJson.From(Arguments(call.Positional, "arguments", wrapped))!;
        var kwargs = new PyDict();
        foreach (var k in call.Keywords)
        {
            kwargs[k.Name] = k.Value;
        }

        op.OpKwargs = (Dictionary<string, object?>)PlainJson.From(Arguments(kwargs, "arguments", wrapped))!;
        return new XComArgValue(wrapped, XComEntry.ReturnValueKey, null);
    }

    private static string DisplayName(string kind) => kind switch
    {
        "kubernetes" => "_KubernetesDecoratedOperator",
        "branch" => "_BranchPythonDecoratedOperator",
        "short_circuit" => "_ShortCircuitDecoratedOperator",
        _ => "_PythonDecoratedOperator",
    };

    private static TaskValue Make(Library library, string displayName, UserFunction function, IReadOnlyList<KeywordArg> options)
    {
        var def = function.Definition;
        var given = options.FirstOrDefault(o => o.Name == "task_id").Value as string;
        var taskId = given ?? def.Name;
        if (given is null && library.CurrentDagValue?.Dag is { } dag && dag.HasTask(library.CurrentGroup?.ChildId(taskId) ?? taskId))
        {
            // As Airflow names a function's second task: name__1, name__2, ...
            var n = 1;
            while (dag.HasTask(library.CurrentGroup?.ChildId($"{taskId}__{n}") ?? $"{taskId}__{n}"))
            {
                n++;
            }

            taskId = $"{taskId}__{n}";
        }

        var source = Ship(library, function);
        var functionName = def.Name == "<lambda>" ? LambdaName : def.Name;
        List<KeywordArg> keywords = [new KeywordArg("task_id", taskId, 0), .. options.Where(o => o.Name is not "task_id")];
        var wrapped = Operators.Create(library, "PythonPodOperator", new Args([], keywords));
        var op = (PythonPodOperator)wrapped.Task;
        op.DisplayName = displayName;
        op.PythonSource = source;
        op.FunctionName = functionName;

        // As Airflow's @task: a dict return annotation means multiple_outputs unless the decorator says otherwise.
        if (def.ReturnsDict && !options.Any(o => o.Name == "multiple_outputs"))
        {
            op.MultipleOutputs = true;
        }

        return wrapped;
    }

    /// <summary>Arguments as JSON values, with each upstream output a placeholder and its task made upstream.</summary>
    private static JsonNode? Arguments(object? value, string where, TaskValue task)
    {
        switch (value)
        {
            case XComArgValue x:
                if (x.Transform is not null)
                {
                    throw new DagEvalException($"{where}: an output transformed with .map() can only be mapped over (expand), not passed");
                }

                x.Task.Task.SetDownstream(task.Task);
                return new JsonObject { [PythonPodOperator.XComPlaceholder] = x.Task.Task.TaskId, ["key"] = x.Key };
            case TaskValue t:
                t.Task.SetDownstream(task.Task);
                return new JsonObject { [PythonPodOperator.XComPlaceholder] = t.Task.TaskId, ["key"] = XComEntry.ReturnValueKey };
            case List<object?> or PyTuple:
                return new JsonArray([.. ((IEnumerable<object?>)value).Select(v => Arguments(v, where, task))]);
            case PyDict d:
                var o = new JsonObject();
                foreach (var (k, v) in d)
                {
                    o[PyOps.Str(PyEqualityComparer.Unkey(k))] = Arguments(v, where, task);
                }

                return o;
            default:
                return Mapping.ToJson(value, where);
        }
    }

    /// <summary>The code shipped with <paramref name="function"/>: what it uses from its file, then its own definition.</summary>
    private static string Ship(Library library, UserFunction function)
    {
        var sb = new StringBuilder();
        var name = function.Definition.Name == "<lambda>" ? LambdaName : function.Definition.Name;
        Ship(library, function, name, name, sb, new HashSet<string>(StringComparer.Ordinal) { name });
        return sb.ToString();
    }

    internal static void Ship(Library library, UserFunction function, string boundAs, string root, StringBuilder sb, HashSet<string> shipped)
    {
        var def = function.Definition;
        if (def.Source is null)
        {
            throw new DagEvalException($"task function '{root}' uses a function whose source is unknown");
        }

        // An opaque body's names come from its tokens, locals included: what cannot be shipped is left to Python.
        var strict = def.OpaqueReason is null;
        var names = strict ? FreeNames(def) : [.. def.OpaqueNames!.Distinct(StringComparer.Ordinal).Where(n => !Builtins.Contains(n) && def.Parameters.All(p => p.Name != n) && n != def.Name)];
        foreach (var name in names)
        {
            ShipName(library, function.Closure, name, root, strict, sb, shipped);
        }

        if (def.Name == "<lambda>")
        {
            sb.Append(boundAs).Append(" = ").Append(def.Source).Append('\n');
            return;
        }

        sb.Append(def.Source);
        if (def.Name != boundAs)
        {
            sb.Append(boundAs).Append(" = ").Append(def.Name).Append('\n');
        }
    }

    /// <summary>
    /// Ships what <paramref name="name"/> is bound to in <paramref name="closure"/>: its import, function, class or JSON
    /// value. When <paramref name="strict"/>, a value that cannot be shipped is an error; otherwise Python decides.
    /// </summary>
    internal static void ShipName(Library library, Frame closure, string name, string root, bool strict, StringBuilder sb, HashSet<string> shipped)
    {
        if (!shipped.Add(name))
        {
            return;
        }

        if (library.ImportLines.TryGetValue(name, out var import) && closure.TryLookup(name, out var imported))
        {
            if (imported is Namespace provided && (ReferenceEquals(provided, library.CallbackBase) || ReferenceEquals(provided, library.ExecutionMode)))
            {
                // The provider's own names, stood in for in the pod (which has no Airflow).
                sb.Append(PythonPodCallback.StandIn(provided.Name, name));
                return;
            }

            if (import.StartsWith("from airflow", StringComparison.Ordinal) || import.StartsWith("import airflow", StringComparison.Ordinal))
            {
                if (!strict)
                {
                    return;
                }

                throw new DagEvalException($"task function '{root}' uses '{name}' ({import}), but the pod that runs it has no Airflow: pass the value as an argument or a template");
            }

            if (!strict && (import.StartsWith("from kubernetes", StringComparison.Ordinal) || import.StartsWith("import kubernetes", StringComparison.Ordinal)))
            {
                // Often only in annotations (never evaluated in the pod): optional when the image lacks the package.
                sb.Append("try:\n    ").Append(import).Append("\nexcept ImportError:\n    ").Append(name).Append(" = None\n");
                return;
            }

            sb.Append(import).Append('\n');
            return;
        }

        if (!closure.TryLookup(name, out var value))
        {
            return; // a builtin or a name the function defines at run time: Python decides
        }

        switch (value)
        {
            case UserFunction helper:
                Ship(library, helper, name, root, sb, shipped);
                return;
            case UserClass cls:
                PodCallbacks.ShipClass(library, cls, name, root, sb, shipped);
                return;
            case null or string or long or double or bool or List<object?> or PyDict or PyTuple when IsJson(value):
                var json = Mapping.ToJson(value, name)?.ToJsonString() ?? "null";
                sb.Append(name).Append(" = _sirocco_json.loads(").Append(JsonSerializer.Serialize(json)).Append(")\n");
                return;
            default:
                if (!strict)
                {
                    return;
                }

                throw new DagEvalException($"task function '{root}' uses '{name}', a {Interpreter.Describe(value)}, which cannot be shipped to the pod that runs it: "
                    + "only JSON values, functions and imports of the file can; pass it as an argument or make it inside the function");
        }
    }

    private static bool IsJson(object? value) => value switch
    {
        null or string or long or double or bool => true,
        List<object?> or PyTuple => ((IEnumerable<object?>)value).All(IsJson),
        PyDict d => d.All(kv => PyEqualityComparer.Unkey(kv.Key) is string && IsJson(kv.Value)),
        _ => false,
    };

    /// <summary>Names a function reads that it does not bind itself (parameters, assignments, loops, imports, defs).</summary>
    private static List<string> FreeNames(FunctionDef def)
    {
        var read = new List<string>();
        var bound = new HashSet<string>(StringComparer.Ordinal);
        void Bind(Expr target)
        {
            switch (target)
            {
                case NameExpr n:
                    bound.Add(n.Name);
                    break;
                case SequenceExpr s:
                    foreach (var item in s.Items)
                    {
                        Bind(item);
                    }

                    break;
                case StarredExpr st:
                    Bind(st.Value);
                    break;
            }
        }

        void Visit(object? node)
        {
            switch (node)
            {
                case null or string:
                    return;
                case NameExpr n:
                    read.Add(n.Name);
                    return;
                case FunctionDef f:
                    bound.Add(f.Name);
                    foreach (var p in f.Parameters)
                    {
                        bound.Add(p.Name);
                        Visit(p.Default);
                    }

                    foreach (var s in f.Body)
                    {
                        Visit(s);
                    }

                    return;
                case LambdaExpr l:
                    Visit(l.Definition);
                    return;
                case AssignStmt a:
                    foreach (var t in a.Targets)
                    {
                        Bind(t);
                    }

                    break;
                case AugAssignStmt aug:
                    Bind(aug.Target);
                    break;
                case AnnAssignStmt ann:
                    Bind(ann.Target);
                    break;
                case ForStmt f:
                    Bind(f.Target);
                    break;
                case WithStmt w:
                    foreach (var (_, target) in w.Items)
                    {
                        if (target is not null)
                        {
                            Bind(target);
                        }
                    }

                    break;
                case ComprehensionClause c:
                    Bind(c.Target);
                    break;
                case ImportStmt i:
                    foreach (var (name, asName, _) in i.Names)
                    {
                        bound.Add(asName ?? (i.Module is null ? name.Split('.')[0] : name));
                    }

                    return;
            }

            if (node is IEnumerable items)
            {
                foreach (var item in items)
                {
                    Visit(item);
                }

                return;
            }

            if (node is ITuple tuple)
            {
                for (var i = 0; i < tuple.Length; i++)
                {
                    Visit(tuple[i]);
                }

                return;
            }

            if (node.GetType().Namespace != typeof(Node).Namespace)
            {
                return;
            }

            foreach (var p in node.GetType().GetProperties())
            {
                if (p.GetIndexParameters().Length == 0 && p.PropertyType != typeof(int) && p.PropertyType != typeof(string))
                {
                    Visit(p.GetValue(node));
                }
            }
        }

        Visit(def);
        bound.Remove(def.Name); // a recursive function reads its own name: shipped with it
        return [.. read.Distinct(StringComparer.Ordinal).Where(n => !bound.Contains(n) && !Builtins.Contains(n))];
    }
}
