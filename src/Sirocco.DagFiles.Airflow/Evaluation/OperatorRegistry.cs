using System.Reflection;
using Sirocco.Google;
using Sirocco.Kubernetes;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// One operator class a DAG file can name: its C# type, how to make one, the keywords it accepts (each settable
/// property under its snake_case name, plus the provider's aliases), the keywords it requires and the Airflow modules
/// it is imported from.
/// </summary>
internal sealed class OperatorClass
{
    private OperatorClass(string name, Type type, Func<string, BaseOperator> create, Dictionary<string, PropertyInfo> keywords, string[] required, string[] modules)
    {
        Name = name;
        Type = type;
        Create = create;
        Keywords = keywords;
        Required = required;
        Modules = modules;
    }

    /// <summary>The Python class name (<c>KubernetesPodOperator</c>).</summary>
    public string Name { get; }

    /// <summary>The C# operator type made for it.</summary>
    public Type Type { get; }

    /// <summary>Makes an operator with a task id.</summary>
    public Func<string, BaseOperator> Create { get; }

    /// <summary>Every keyword the class accepts, with the property it sets.</summary>
    public IReadOnlyDictionary<string, PropertyInfo> Keywords { get; }

    /// <summary>Keywords a call must give (directly, mapped or through default_args).</summary>
    public IReadOnlyList<string> Required { get; }

    /// <summary>The modules that export the class (none: made by the reader only, as for TaskFlow functions).</summary>
    public IReadOnlyList<string> Modules { get; }

    /// <summary>Whether a DAG file can name it (and so map it with <c>.partial(...).expand(...)</c>).</summary>
    public bool Importable => Modules.Count > 0;

    internal static OperatorClass Of<T>(string name, Func<string, T> create, string[] modules, Dictionary<string, string>? aliases = null, string[]? required = null)
        where T : BaseOperator =>
        new(name, typeof(T), id => create(id), KeywordTable(typeof(T), aliases ?? []), required ?? [], modules);

    /// <summary>The Python keyword of every settable property of <paramref name="type"/>, plus aliases.</summary>
    private static Dictionary<string, PropertyInfo> KeywordTable(Type type, Dictionary<string, string> aliases)
    {
        var table = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is { IsPublic: true } && p.Name is not (nameof(BaseOperator.Dag) or nameof(BaseOperator.TaskGroupId) or nameof(KubernetesPodOperator.EnvVarList)))
            {
                table[KubernetesModels.Snake(p.Name)] = p;
            }
        }

        foreach (var (alias, property) in aliases)
        {
            table[alias] = type.GetProperty(property) ?? throw new InvalidOperationException($"{type.Name} has no property {property} for the alias '{alias}'");
        }

        return table;
    }
}

/// <summary>
/// The one list of operator classes the reader knows. The library's imports, the operator factory, mapping and the
/// documentation test all read it; a class not in it cannot be made (there is no fallback to another operator).
/// </summary>
internal static class OperatorRegistry
{
    private static readonly Dictionary<string, string> PodAliases = new(StringComparer.Ordinal)
    {
        ["dnspolicy"] = nameof(KubernetesPodOperator.DnsPolicy),
        ["schedulername"] = nameof(KubernetesPodOperator.SchedulerName),
        ["node_selectors"] = nameof(KubernetesPodOperator.NodeSelector),
        ["skip_exit_code"] = nameof(KubernetesPodOperator.SkipOnExitCode),
    };

    private static readonly OperatorClass[] Classes =
    [
        OperatorClass.Of("KubernetesPodOperator", id => new KubernetesPodOperator(id),
            ["airflow.providers.cncf.kubernetes.operators.pod", "airflow.providers.cncf.kubernetes.operators.kubernetes_pod", "airflow.contrib.operators.kubernetes_pod_operator"],
            PodAliases),
        OperatorClass.Of("GKEStartPodOperator", id => new GKEStartPodOperator(id), ["airflow.providers.google.cloud.operators.kubernetes_engine"], PodAliases),
        OperatorClass.Of("GKECreateClusterOperator", id => new GKECreateClusterOperator(id), ["airflow.providers.google.cloud.operators.kubernetes_engine"], required: ["location", "body"]),
        OperatorClass.Of("GKEDeleteClusterOperator", id => new GKEDeleteClusterOperator(id), ["airflow.providers.google.cloud.operators.kubernetes_engine"],
            new(StringComparer.Ordinal) { ["name"] = nameof(GKEDeleteClusterOperator.ClusterName) }, required: ["location"]),
        OperatorClass.Of("EmptyOperator", id => new EmptyOperator(id), ["airflow.providers.standard.operators.empty", "airflow.operators.empty", "airflow.operators.dummy"]),
        OperatorClass.Of("DummyOperator", id => new EmptyOperator(id), ["airflow.operators.dummy", "airflow.operators.dummy_operator"]),
        OperatorClass.Of("BashOperator", id => new BashOperator(id), ["airflow.providers.standard.operators.bash", "airflow.operators.bash", "airflow.operators.bash_operator"],
            new(StringComparer.Ordinal) { ["skip_exit_code"] = nameof(BashOperator.SkipOnExitCode) }, required: ["bash_command"]),

        // Made by the reader for @task functions and PythonOperator (TaskFlow), never imported by name.
        OperatorClass.Of("PythonPodOperator", id => new PythonPodOperator(id), [], PodAliases),
    ];

    private static readonly Dictionary<string, OperatorClass> ByName = Classes.ToDictionary(c => c.Name, StringComparer.Ordinal);

    private static readonly Dictionary<Type, OperatorClass> ByType = Classes.GroupBy(c => c.Type).ToDictionary(g => g.Key, g => g.First());

    /// <summary>Every class, in registration order.</summary>
    public static IReadOnlyList<OperatorClass> All => Classes;

    /// <summary>The keywords every operator accepts (BaseOperator's).</summary>
    public static IReadOnlySet<string> BaseKeywords { get; } = Classes.Select(c => c.Keywords.Keys).Aggregate((a, b) => a.Intersect(b)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The class of a name; an unknown name is a bug in the reader, not in the DAG file, and says so.</summary>
    public static OperatorClass Get(string name) =>
        ByName.TryGetValue(name, out var c) ? c : throw new InvalidOperationException($"operator class '{name}' is not registered in the reader's OperatorRegistry");

    /// <summary>The class that made an operator of this type.</summary>
    public static OperatorClass Of(BaseOperator op) =>
        ByType.TryGetValue(op.GetType(), out var c) ? c : throw new InvalidOperationException($"operator type {op.GetType().Name} is not registered in the reader's OperatorRegistry");
}
