using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes;

/// <summary>
/// A DAG file's <c>KubernetesPodOperatorCallback</c> subclass: each hook the class defines runs in a pod of
/// <c>[kubernetes] python_task_image</c> (on the task's cluster and namespace), with Airflow's keyword arguments:
/// <c>pod</c> (or <c>pod_request</c>) as an object with the Kubernetes client's attribute names and <c>to_dict()</c>,
/// <c>client</c> (a <c>CoreV1Api</c> when the image has the <c>kubernetes</c> package and the pod a service account,
/// else None), <c>mode</c> (<c>"sync"</c>), <c>operator</c> and <c>context</c>. A hook pod that fails fails the try.
/// Hooks the class does not define cost nothing; changes a hook makes to <c>pod_request</c> stay in its pod.
/// </summary>
public sealed class PythonPodCallback : KubernetesPodOperatorCallback
{
    private const string Runner = "_sirocco_kpo_callback";

    /// <summary>Creates the callback.</summary>
    /// <param name="className">The class's name in its file.</param>
    /// <param name="source">The Python code that defines the class: what it needs from its file, then the class.</param>
    /// <param name="methods">The hooks the class (or a base class of the file) defines.</param>
    public PythonPodCallback(string className, string source, IEnumerable<string> methods)
    {
        ClassName = className;
        Source = source;
        Methods = new HashSet<string>(methods, StringComparer.Ordinal);
    }

    /// <summary>The class's name in its file.</summary>
    public string ClassName { get; }

    /// <summary>The Python code that defines the class.</summary>
    public string Source { get; }

    /// <summary>The hooks the class defines (<c>on_pod_creation</c>…).</summary>
    public IReadOnlySet<string> Methods { get; }

    /// <summary>The class's <c>progress_callback</c>, when the file's reader runs it per line (no pod per line).</summary>
    public Action<string, string, DateTimeOffset>? Progress { get; init; }

    /// <inheritdoc/>
    public override Task OnSyncClientCreationAsync(KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_sync_client_creation", null, null, context, cancellationToken);

    /// <inheritdoc/>
    public override Task OnPodManifestCreatedAsync(V1Pod podRequest, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_pod_manifest_created", "pod_request", podRequest, context, cancellationToken);

    /// <inheritdoc/>
    public override Task OnPodCreationAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_pod_creation", "pod", pod, context, cancellationToken);

    /// <inheritdoc/>
    public override Task OnPodStartingAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_pod_starting", "pod", pod, context, cancellationToken);

    /// <inheritdoc/>
    public override Task OnPodCompletionAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_pod_completion", "pod", pod, context, cancellationToken);

    /// <inheritdoc/>
    public override Task OnPodTeardownAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_pod_teardown", "pod", pod, context, cancellationToken);

    /// <inheritdoc/>
    public override Task OnPodCleanupAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) =>
        RunAsync("on_pod_cleanup", "pod", pod, context, cancellationToken);

    /// <inheritdoc/>
    public override void OnProgress(string line, string containerName, DateTimeOffset timestamp) => Progress?.Invoke(line, containerName, timestamp);

    private async Task RunAsync(string method, string? podArgument, V1Pod? pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken)
    {
        if (!Methods.Contains(method))
        {
            return;
        }

        var op = context.Operator;
        var hook = new PythonPodOperator(op.TaskId)
        {
            DisplayName = $"{ClassName}.{method}",
            PythonSource = Source + Call(method, podArgument, pod, op),
            FunctionName = Runner,
            CallWithContext = true,
            Namespace = op.Namespace,
            KubernetesConnId = op.KubernetesConnId,
            ConfigFile = op.ConfigFile,
            InCluster = op.InCluster,
            ClusterContext = op.ClusterContext,
            StartupTimeoutSeconds = op.StartupTimeoutSeconds,
            // Where the task's pod may run, so may its hooks' (its service account gives `client` its rights).
            ServiceAccountName = op.ServiceAccountName,
            ImagePullSecrets = [.. op.ImagePullSecrets],
            NodeSelector = new Dictionary<string, string>(op.NodeSelector, StringComparer.Ordinal),
            Tolerations = [.. op.Tolerations],
            SecurityContext = op.SecurityContext,
        };
        context.Task.Log(method == "on_pod_manifest_created"
            ? $"Running {ClassName}.{method} in a pod (changes it makes to pod_request are not sent: use pod_mutation_hook or a C# callback for that)"
            : $"Running {ClassName}.{method} in a pod");
        // Its own identity per class, so that two classes' pods of the same hook never take each other for their own.
        await hook.ExecuteAsync(context.Task.ForCallback($"{ClassName}.{method}", exception: null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The hook's call: the objects Airflow passes, rebuilt from JSON, given as the method's signature takes them.</summary>
    private string Call(string method, string? podArgument, V1Pod? pod, KubernetesPodOperator op)
    {
        var operatorFields = new JsonObject
        {
            ["task_id"] = op.TaskId,
            ["namespace"] = op.Namespace,
            ["image"] = op.Image,
            ["name"] = op.Name,
            ["labels"] = JsonSerializer.SerializeToNode(op.Labels),
            ["annotations"] = JsonSerializer.SerializeToNode(op.Annotations),
            ["base_container_name"] = op.BaseContainerName,
        };
        // Base64: a third larger rather than six times (every quote escaped in a string literal), and any character
        // survives (a JSON-escaped surrogate pair would not). The script's $ are doubled by PythonPodOperator.
        var podJson = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(pod is null ? "null" : KubernetesJson.Serialize(pod)));
        return $$"""

            {{Helpers}}
            import base64 as _sirocco_base64
            _sirocco_kpo_pod = _sirocco_json.loads(_sirocco_base64.b64decode("{{podJson}}").decode("utf-8"))
            _sirocco_kpo_operator = _SiroccoKubeModel(_sirocco_json.loads({{JsonSerializer.Serialize(operatorFields.ToJsonString())}}))
            def {{Runner}}(context):
                import inspect as _sirocco_inspect
                hook = getattr({{ClassName}}, "{{method}}")
                offered = {"client": _sirocco_kpo_client(), "mode": "sync", "operator": _sirocco_kpo_operator, "context": context}
                if {{(podArgument is null ? "False" : "True")}}:
                    offered["{{podArgument ?? "pod"}}"] = _SiroccoKubeModel(_sirocco_kpo_pod)
                params = _sirocco_inspect.signature(hook).parameters.values()
                if not any(p.kind == p.VAR_KEYWORD for p in params):
                    names = set(p.name for p in params)
                    offered = dict((k, v) for k, v in offered.items() if k in names)
                hook(**offered)

            """;
    }

    /// <summary>
    /// Python that defines, under <paramref name="boundAs"/>, a stand-in for one of the provider's names a pod without
    /// Airflow lacks: <c>KubernetesPodOperatorCallback</c> (a base class whose hooks do nothing) or <c>ExecutionMode</c>
    /// (<c>SYNC</c>, <c>ASYNC</c>). Shipped with any code that uses them; null for another name.
    /// </summary>
    /// <param name="providerName">The provider's name.</param>
    /// <param name="boundAs">The name the file binds it to.</param>
    public static string? StandIn(string providerName, string boundAs) => providerName switch
    {
        "ExecutionMode" => $"class {boundAs}:\n    SYNC = \"sync\"\n    ASYNC = \"async\"\n",
        "KubernetesPodOperatorCallback" => $"class {boundAs}:\n" + string.Concat(Hooks.Select(h => $"    @staticmethod\n    def {h}(*args, **kwargs):\n        pass\n")),
        _ => null,
    };

    /// <summary>The hooks of the provider's base class (every one a no-op there), by their Python names.</summary>
    public static IReadOnlyList<string> Hooks { get; } =
    [
        "on_sync_client_creation", "on_pod_manifest_created", "on_pod_creation", "on_pod_starting", "on_pod_completion",
        "on_pod_teardown", "on_pod_cleanup", "on_operator_resuming", "progress_callback",
    ];

    // The kubernetes client's model objects, as far as hooks read them: snake_case attributes (None when unset), maps
    // (labels, annotations...) as dicts, to_dict().
    private const string Helpers = """
        import re as _sirocco_re
        _SIROCCO_MAPS = {"labels", "annotations", "nodeSelector", "limits", "requests", "data", "stringData", "binaryData", "capacity", "allocatable", "selector", "matchLabels"}
        def _sirocco_snake(key):
            return _sirocco_re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
        def _sirocco_plain(value, key=None):
            if isinstance(value, dict):
                if key in _SIROCCO_MAPS:
                    return dict(value)
                return {_sirocco_snake(k): _sirocco_plain(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [_sirocco_plain(v, key) for v in value]
            return value
        class _SiroccoKubeModel:
            def __init__(self, data, key=None):
                object.__setattr__(self, "_data", data)
            def __getattr__(self, name):
                if name.startswith("__"):
                    raise AttributeError(name)
                data = object.__getattribute__(self, "_data")
                for key, value in data.items():
                    if key == name or _sirocco_snake(key) == name:
                        return _sirocco_kpo_wrap(value, key)
                return None
            def to_dict(self):
                return _sirocco_plain(object.__getattribute__(self, "_data"))
            def __repr__(self):
                return repr(self.to_dict())
        def _sirocco_kpo_wrap(value, key=None):
            if isinstance(value, dict):
                return dict(value) if key in _SIROCCO_MAPS else _SiroccoKubeModel(value)
            if isinstance(value, list):
                return [_sirocco_kpo_wrap(v, key) for v in value]
            return value
        def _sirocco_kpo_client():
            try:
                from kubernetes import client as _c, config as _cfg
                _cfg.load_incluster_config()
                return _c.CoreV1Api()
            except Exception:
                return None
        """;
}
