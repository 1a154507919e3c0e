using Sirocco.DagFiles.Airflow.Syntax;
using Sirocco.Kubernetes;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>An error while running the file; <see cref="Offset"/> is filled in by the node that saw it.</summary>
internal sealed class DagEvalException(string message, int? offset = null) : Exception(message)
{
    public int? Offset { get; set; } = offset;
}

/// <summary>An error about one keyword argument, located at that argument by the call that passed it.</summary>
internal sealed class KeywordException(string keyword, string message) : Exception(message)
{
    public string Keyword { get; } = keyword;
}

/// <summary>One keyword argument with its position in the file.</summary>
internal readonly record struct KeywordArg(string Name, object? Value, int Offset);

/// <summary>Evaluated call arguments.</summary>
internal sealed class Args(List<object?> positional, List<KeywordArg> keywords)
{
    public List<object?> Positional { get; } = positional;

    public List<KeywordArg> Keywords { get; } = keywords;

    public bool Has(string name) => Keywords.Exists(k => k.Name == name);

    /// <summary>Positional <paramref name="index"/> or keyword <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        if (index >= 0 && index < Positional.Count)
        {
            return Positional[index];
        }

        foreach (var k in Keywords)
        {
            if (k.Name == name)
            {
                return k.Value;
            }
        }

        return fallback;
    }

    public bool Given(int index, string name) => (index >= 0 && index < Positional.Count) || Has(name);

    /// <summary>Fails on keywords outside <paramref name="allowed"/> and on too many positional arguments.</summary>
    public void Check(string function, int maxPositional, params string[] allowed)
    {
        if (Positional.Count > maxPositional)
        {
            throw new DagEvalException($"{function}() takes at most {maxPositional} positional argument{(maxPositional == 1 ? string.Empty : "s")} ({Positional.Count} given)");
        }

        foreach (var k in Keywords)
        {
            if (Array.IndexOf(allowed, k.Name) < 0)
            {
                throw new KeywordException(k.Name, $"{function}() got an unexpected keyword argument '{k.Name}'");
            }
        }
    }

    public CallArgs ToCallArgs() =>
        new([.. Positional], Keywords.Count == 0 ? null : [.. Keywords.Select(k => new KeyValuePair<string, object?>(k.Name, k.Value))]);
}

/// <summary>A function of the subset written in C# (a constructor, <c>chain</c>, <c>Variable.get</c>...).</summary>
internal sealed class NativeFunction(string name, Func<Args, object?> body) : IPyObject
{
    public string Name { get; } = name;

    public string TypeName => "builtin_function_or_method";

    public object? Invoke(Args args) => body(args);

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    public override string ToString() => $"<built-in function {Name}>";
}

/// <summary>A module or class-like namespace with a fixed set of members.</summary>
internal sealed class Namespace(string typeName, string name, Dictionary<string, object?> members) : IPyObject
{
    public string Name { get; } = name;

    public string TypeName { get; } = typeName;

    public Dictionary<string, object?> Members { get; } = members;

    public bool TryGetAttr(string name, out object? value) => Members.TryGetValue(name, out value);

    public override string ToString() => $"<{TypeName} '{Name}'>";
}

/// <summary>A DAG under construction, with the file's own <c>default_args</c> dictionary.</summary>
internal sealed class DagValue(Dag dag, PyDict? defaultArgs) : IPyObject
{
    public Dag Dag { get; } = dag;

    public PyDict? DefaultArgs { get; } = defaultArgs;

    public string TypeName => "DAG";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "dag_id" => Dag.DagId,
            "description" => Dag.Description,
            "default_args" => DefaultArgs ?? new PyDict(),
            "tags" => Dag.Tags.Select(t => (object?)t).ToList(),
            "task_ids" => Dag.Tasks.Select(t => (object?)t.TaskId).ToList(),
            _ => null,
        };
        return value is not null || name == "description";
    }

    public override string ToString() => $"<DAG: {Dag.DagId}>";
}

/// <summary>A task of the file.</summary>
internal sealed class TaskValue(BaseOperator task) : IPyObject
{
    public BaseOperator Task { get; } = task;

    public string TypeName => Task.OperatorName;

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "task_id" => Task.TaskId,
            "dag_id" => Task.Dag?.DagId,
            "owner" => Task.Owner,
            "retries" => (long)Task.Retries,
            _ => null,
        };
        return value is not null;
    }

    public override string ToString() => $"<Task({Task.OperatorName}): {Task.TaskId}>";
}

/// <summary>A <c>TaskGroup</c>: a prefix for the ids of the tasks made inside it, and a unit for dependencies.</summary>
internal sealed class GroupValue(string groupId, bool prefix, DagValue dag, GroupValue? parent, PyDict? defaultArgs) : IPyObject
{
    /// <summary>The full id (the parents' ids joined by dots when they prefix).</summary>
    public string GroupId { get; } = groupId;

    public bool Prefix { get; } = prefix;

    public DagValue Dag { get; } = dag;

    public GroupValue? Parent { get; } = parent;

    public PyDict? DefaultArgs { get; } = defaultArgs;

    /// <summary>The tasks made inside the group or its children, in order.</summary>
    public List<TaskValue> Tasks { get; } = [];

    public string TypeName => "TaskGroup";

    public string ChildId(string id) => Prefix ? $"{GroupId}.{id}" : id;

    /// <summary>Tasks of the group with no upstream task inside it.</summary>
    public IEnumerable<TaskValue> Roots()
    {
        var ids = Tasks.Select(t => t.Task.TaskId).ToHashSet(StringComparer.Ordinal);
        return Tasks.Where(t => !t.Task.UpstreamTaskIds.Any(ids.Contains));
    }

    /// <summary>Tasks of the group with no downstream task inside it.</summary>
    public IEnumerable<TaskValue> Leaves()
    {
        var ids = Tasks.Select(t => t.Task.TaskId).ToHashSet(StringComparer.Ordinal);
        return Tasks.Where(t => !t.Task.DownstreamTaskIds.Any(ids.Contains));
    }

    public bool TryGetAttr(string name, out object? value)
    {
        value = name == "group_id" ? GroupId : null;
        return value is not null;
    }

    public override string ToString() => $"<TaskGroup: {GroupId}>";
}

/// <summary>An Airflow <c>Secret</c>.</summary>
internal sealed class SecretValue(Secret secret) : IPyObject
{
    public Secret Secret { get; } = secret;

    public string TypeName => "Secret";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "deploy_type" => Secret.DeployType,
            "deploy_target" => Secret.DeployTarget,
            "secret" => Secret.SecretName,
            "key" => Secret.Key,
            _ => null,
        };
        return name is "deploy_type" or "deploy_target" or "secret" or "key";
    }

    public override string ToString() => $"Secret({Secret.DeployType}, {Secret.DeployTarget}, {Secret.SecretName}, {Secret.Key})";
}

/// <summary>A frame of names: the module's globals, a function's locals or a comprehension's variables.</summary>
internal sealed class Frame(Frame? parent)
{
    public Dictionary<string, object?> Vars { get; } = new(StringComparer.Ordinal);

    public Frame? Parent { get; } = parent;

    public bool TryLookup(string name, out object? value)
    {
        for (var f = this; f is not null; f = f.Parent)
        {
            if (f.Vars.TryGetValue(name, out value))
            {
                return true;
            }
        }

        value = null;
        return false;
    }
}

/// <summary>A <c>def</c> of the file, called at parse time.</summary>
internal sealed class UserFunction(FunctionDef definition, Frame closure) : IPyObject
{
    public FunctionDef Definition { get; } = definition;

    public Frame Closure { get; } = closure;

    public string TypeName => "function";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name == "__name__" ? Definition.Name : null;
        return value is not null;
    }

    public override string ToString() => $"<function {Definition.Name}>";
}

/// <summary>
/// A class of the file (<c>class Name(bases): ...</c>). Its body never runs while the file is read: its methods are
/// readable as functions (those the reader parsed), and the class can be shipped to a pod as text.
/// </summary>
internal sealed class UserClass(ClassDef definition, Frame closure, IReadOnlyList<object?> bases) : IPyObject
{
    public ClassDef Definition { get; } = definition;

    /// <summary>The scope the class was defined in (its methods' globals).</summary>
    public Frame Closure { get; } = closure;

    public IReadOnlyList<object?> Bases { get; } = bases;

    public string TypeName => "type";

    /// <summary>Whether <paramref name="root"/> is this class or one of its bases, directly or not.</summary>
    public bool Derives(object root) => Bases.Any(b => ReferenceEquals(b, root) || b is UserClass c && c.Derives(root));

    /// <summary>The functions this class and its bases of the file define, the nearest first.</summary>
    public IEnumerable<string> MethodNames() => Definition.MethodNames.Concat(Bases.OfType<UserClass>().SelectMany(b => b.MethodNames())).Distinct(StringComparer.Ordinal);

    public bool TryGetAttr(string name, out object? value)
    {
        if (name == "__name__")
        {
            value = Definition.Name;
            return true;
        }

        if (Array.Find(Definition.Methods, m => m.Name == name) is { } method)
        {
            value = new UserFunction(method, Closure);
            return true;
        }

        foreach (var b in Bases.OfType<UserClass>())
        {
            if (b.TryGetAttr(name, out value))
            {
                return true;
            }
        }

        value = null;
        return false;
    }

    public override string ToString() => $"<class '{Definition.Name}'>";
}

/// <summary>The object <c>globals()</c> returns: item assignment defines a module-level name.</summary>
internal sealed class GlobalsProxy(Frame module) : IPyObject
{
    public Frame Module { get; } = module;

    public string TypeName => "dict";

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }
}

/// <summary>
/// Bounds how deeply lists, tuples and dicts nest before they reach a recursive operation (equality, ordering,
/// hashing, conversion to JSON or .NET): a list that contains itself, or one nested thousands deep by a loop, is an
/// error instead of a stack overflow.
/// </summary>
internal static class Nesting
{
    public const int MaxDepth = 64;

    public static void Check(object? value)
    {
        if (value is not (List<object?> or PyTuple or PyDict))
        {
            return;
        }

        var stack = new Stack<(object Container, int Depth)>();
        stack.Push((value, 1));
        while (stack.Count > 0)
        {
            var (container, depth) = stack.Pop();
            if (depth > MaxDepth)
            {
                throw new DagEvalException($"lists, tuples and dicts nested more than {MaxDepth} deep (or containing themselves)");
            }

            IEnumerable<object?> children = container switch
            {
                PyDict d => d.Keys.Concat(d.Values),
                _ => (IEnumerable<object?>)container,
            };
            foreach (var c in children)
            {
                if (c is List<object?> or PyTuple or PyDict)
                {
                    stack.Push((c, depth + 1));
                }
            }
        }
    }
}

/// <summary>
/// A name imported from a module outside the reader (<c>import requests</c>): a stand-in that task functions may use
/// (the import is shipped to their pods) and that nothing may use while the file is read.
/// </summary>
internal sealed class ForeignValue(string import) : IPyObject
{
    public string Import { get; } = import;

    public string TypeName => "module";

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        return false;
    }

    public string Unusable() =>
        $"'{Import}' is outside the DAG-file subset: it cannot be used while the file is read, only inside task functions, which run in pods";

    public override string ToString() => $"<{Import}>";
}

/// <summary>A dataset (Airflow 3: asset) by its URI: a task's <c>outlets</c>, a DAG's <c>schedule</c>.</summary>
internal sealed record DatasetValue(string Uri) : IPyObject
{
    public string TypeName => "Dataset";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name is "uri" or "name" ? Uri : null;
        return value is not null;
    }

    public override string ToString() => $"Dataset(uri='{Uri}')";
}
