using System.Collections;
using System.Reflection;
using System.Text.Json;

namespace Sirocco;

/// <summary>Dynamic task mapping: a task expanded into one instance per item, and the limits on its instances.</summary>
public abstract partial class BaseOperator
{
    private static readonly JsonSerializerOptions MappedJson = new() { PropertyNameCaseInsensitive = true };
    private int? _maxActiveTisPerDag;
    private int? _maxActiveTisPerDagrun;

    /// <summary>
    /// Work run when a try of the task ends or starts, by Airflow's callback names: <c>on_failure_callback</c> (the
    /// last try failed), <c>on_retry_callback</c> (a try failed and another follows), <c>on_success_callback</c>,
    /// <c>on_execute_callback</c> (before the task runs), <c>on_skipped_callback</c>. Each is an operator run in the
    /// try's context (a Python function in a pod, for DAG files); its failure is logged and changes nothing.
    /// </summary>
    public IDictionary<string, IList<BaseOperator>> TaskCallbacks { get; } = new Dictionary<string, IList<BaseOperator>>(StringComparer.Ordinal);

    /// <summary>The datasets (assets) the task updates when it succeeds, by URI (Airflow's <c>outlets</c>).</summary>
    public IList<string> Outlets { get; set; } = [];

    /// <summary>How the task is mapped (<c>expand</c>/<c>expand_kwargs</c>), or null for an ordinary task.</summary>
    public TaskMapping? Mapping { get; private set; }

    /// <summary>Whether the task runs as one instance per mapped item.</summary>
    public bool IsMapped => Mapping is not null;

    /// <summary>At most this many instances of the task run at once, across all runs of the DAG (none by default).</summary>
    public int? MaxActiveTisPerDag { get => _maxActiveTisPerDag ?? Defaults?.Get<int>("max_active_tis_per_dag"); set => _maxActiveTisPerDag = value; }

    /// <summary>At most this many instances of the task run at once within one run (none by default).</summary>
    public int? MaxActiveTisPerDagrun { get => _maxActiveTisPerDagrun ?? Defaults?.Get<int>("max_active_tis_per_dagrun"); set => _maxActiveTisPerDagrun = value; }

    /// <summary>
    /// A template rendered for each mapped instance into the name shown instead of its index (Airflow's
    /// <c>map_index_template</c>, e.g. <c>{{ task.arguments[0] }}</c>).
    /// </summary>
    public string? MapIndexTemplate { get; set; }

    /// <summary>
    /// Maps the argument <paramref name="name"/> (a property such as <c>Arguments</c>, or its DAG-file keyword
    /// <c>arguments</c>) over the items of <paramref name="source"/>: Airflow's <c>expand(name=...)</c>. Several
    /// arguments make the cross product. An XCom source's task must also be made upstream of this one.
    /// </summary>
    public void ExpandArgument(string name, MapSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var key = AcceptsMappedKeyword(name) ? name : MappableProperty(name).Name;
        if (Mapping?.Kwargs is not null)
        {
            throw new SiroccoException($"task '{TaskId}': expand and expand_kwargs cannot be combined");
        }

        if (Mapping?.Arguments.Any(a => a.Key == key) == true)
        {
            throw new SiroccoException($"task '{TaskId}': argument '{name}' is mapped twice");
        }

        if (source is LiteralMapSource literal)
        {
            // A bad item is an error now, not when its instance runs; one scratch copy takes every item in turn.
            var scratch = CloneForTry();
            foreach (var item in TaskMapping.Items(literal.Values, source))
            {
                scratch.ApplyMappedArguments([new(name, item)]);
            }
        }

        Mapping ??= new TaskMapping();
        Mapping.Add(key, source);
    }

    /// <summary>
    /// Maps the task over the items of <paramref name="source"/>, each a dict of arguments: Airflow's
    /// <c>expand_kwargs</c>. An XCom source's task must also be made upstream of this one.
    /// </summary>
    public void ExpandKwargs(MapSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Mapping is not null)
        {
            throw new SiroccoException($"task '{TaskId}' is already mapped: expand_kwargs can be called once, without expand");
        }

        if (source is LiteralMapSource literal)
        {
            var i = 0;
            var scratch = CloneForTry();
            foreach (var item in TaskMapping.Items(literal.Values, source))
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    throw new SiroccoException($"expand_kwargs: item {i} is {TaskMapping.Kind(item)}, not a dict of arguments");
                }

                scratch.ApplyMappedArguments(item.EnumerateObject().Select(p => new KeyValuePair<string, JsonElement>(p.Name, p.Value)));
                i++;
            }
        }

        Mapping = new TaskMapping { Kwargs = source };
    }

    /// <summary>Sets a mapped instance's arguments on this task (a copy made for one try), converting each from JSON.</summary>
    public void ApplyMappedArguments(IEnumerable<KeyValuePair<string, JsonElement>> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        foreach (var (name, value) in arguments)
        {
            if (AcceptsMappedKeyword(name))
            {
                ApplyMappedKeyword(name, value);
                continue;
            }

            var property = MappableProperty(name);
            try
            {
                if (!TryApplyMappedArgument(property, value))
                {
                    property.SetValue(this, ConvertMapped(property, value));
                }
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException or SiroccoException)
            {
                throw new SiroccoException($"task '{TaskId}': mapped argument '{name}' cannot take {TaskMapping.Kind(value)}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="name"/> is mapped as a keyword of the operator's own (such as a Python function's
    /// parameter) rather than a property; such keywords are set by <see cref="ApplyMappedKeyword"/>.
    /// </summary>
    protected virtual bool AcceptsMappedKeyword(string name) => false;

    /// <summary>Sets a mapped keyword that <see cref="AcceptsMappedKeyword"/> accepted.</summary>
    protected virtual void ApplyMappedKeyword(string name, JsonElement value) =>
        throw new NotSupportedException($"{OperatorName} maps no keyword '{name}'");

    /// <summary>
    /// Lets an operator set a mapped argument that takes more than a JSON conversion (e.g. a list of environment
    /// variable objects); returns false to let the default conversion apply.
    /// </summary>
    protected virtual bool TryApplyMappedArgument(PropertyInfo property, JsonElement value) => false;

    /// <summary>
    /// Converts a mapped JSON value to a property's type (Kubernetes models and other objects through their JSON
    /// names); operators with types of their own override this.
    /// </summary>
    protected virtual object? ConvertMappedValue(Type type, JsonElement value) => Convert(type, value);

    private object? ConvertMapped(PropertyInfo property, JsonElement value) =>
        value.ValueKind == JsonValueKind.Null && (!property.PropertyType.IsValueType || Nullable.GetUnderlyingType(property.PropertyType) is not null)
            ? null
            : ConvertMappedValue(property.PropertyType, value);

    private static object? Convert(Type type, JsonElement value)
    {
        if (type == typeof(string))
        {
            return Text(value);
        }

        if (type.IsGenericType && type.GetGenericArguments() is [var item] && item == typeof(string) && type.IsAssignableFrom(typeof(List<string>)))
        {
            return value.ValueKind == JsonValueKind.Array
                ? value.EnumerateArray().Select(e => Text(e) ?? throw new SiroccoException("a list of str cannot hold None")).ToList()
                : throw new SiroccoException("a list is expected");
        }

        if (type.IsGenericType && type.GetGenericArguments() is [var k, var v] && k == typeof(string) && v == typeof(string) && type.IsAssignableFrom(typeof(Dictionary<string, string>)))
        {
            return value.ValueKind == JsonValueKind.Object
                ? value.EnumerateObject().ToDictionary(p => p.Name, p => Text(p.Value) ?? string.Empty, StringComparer.Ordinal)
                : throw new SiroccoException("a dict is expected");
        }

        var target = type;
        if (type.IsInterface && type.IsGenericType)
        {
            var args = type.GetGenericArguments();
            target = args.Length == 1 && typeof(IEnumerable).IsAssignableFrom(type) ? typeof(List<>).MakeGenericType(args)
                : args.Length == 2 ? typeof(Dictionary<,>).MakeGenericType(args) : type;
        }

        return value.Deserialize(target, MappedJson);
    }

    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null => null,
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        _ => value.GetRawText(),
    };

    private PropertyInfo MappableProperty(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var type = GetType();
        var property = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) ?? type.GetProperty(Pascal(name), BindingFlags.Public | BindingFlags.Instance);
        if (property is null || property.SetMethod is not { IsPublic: true })
        {
            throw new SiroccoException($"task '{TaskId}': {OperatorName} has no argument '{name}' to map");
        }

        if (property.DeclaringType == typeof(BaseOperator))
        {
            throw new SiroccoException($"task '{TaskId}': '{name}' is an argument of every task and cannot be mapped; give it to partial()");
        }

        return property;
    }

    private static string Pascal(string snake) =>
        string.Concat(snake.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}

/// <summary>Dynamic task mapping in C# DAG files: <c>new KubernetesPodOperator("p") { ... }.Expand(p =&gt; p.Arguments, lists)</c>.</summary>
public static class TaskMappingExtensions
{
    /// <summary>Runs one instance of <paramref name="task"/> per value of <paramref name="values"/> for the chosen property.</summary>
    /// <param name="task">The task.</param>
    /// <param name="argument">The property mapped, e.g. <c>p =&gt; p.Arguments</c>.</param>
    /// <param name="values">One value per instance (with other mapped properties: the cross product).</param>
    public static T Expand<T, TValue>(this T task, System.Linq.Expressions.Expression<Func<T, TValue>> argument, IEnumerable<TValue> values)
        where T : BaseOperator
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(values);
        task.ExpandArgument(PropertyName(argument), new LiteralMapSource(JsonSerializer.SerializeToElement(values.ToList())));
        return task;
    }

    /// <summary>
    /// Runs one instance of <paramref name="task"/> per item of the list (or dict) <paramref name="upstream"/> pushes as
    /// its XCom <paramref name="key"/>; makes <paramref name="upstream"/> upstream of <paramref name="task"/>.
    /// </summary>
    public static T Expand<T, TValue>(this T task, System.Linq.Expressions.Expression<Func<T, TValue>> argument, BaseOperator upstream, string key = XComEntry.ReturnValueKey)
        where T : BaseOperator
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(upstream);
        task.ExpandArgument(PropertyName(argument), new XComMapSource(upstream.TaskId, key));
        upstream.SetDownstream(task);
        return task;
    }

    private static string PropertyName<T, TValue>(System.Linq.Expressions.Expression<Func<T, TValue>> argument) =>
        argument?.Body is System.Linq.Expressions.MemberExpression { Member: PropertyInfo p } ? p.Name
            : throw new ArgumentException("the argument must name a property, e.g. p => p.Arguments", nameof(argument));
}
