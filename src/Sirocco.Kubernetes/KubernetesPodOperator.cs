using k8s;
using k8s.Models;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes;

/// <summary>
/// Runs one Kubernetes pod per task try, as Airflow's cncf.kubernetes <c>KubernetesPodOperator</c>: the pod's base
/// container exit code decides the try. Parameters carry the provider's names in PascalCase and its defaults.
/// Only <see cref="BaseOperator.TaskId"/>, <see cref="Image"/> and usually <see cref="Name"/> and
/// <see cref="Namespace"/> are needed. The lifecycle (watch-driven start, log streaming without gaps or duplicates,
/// XCom sidecar, reattach after restart, cleanup) is described in <c>docs/adr/0002-pod-lifecycle.md</c>.
/// </summary>
public class KubernetesPodOperator : BaseOperator
{
    private static readonly System.Reflection.MethodInfo DeserializeString = typeof(KubernetesJson).GetMethods()
        .First(m => m.Name == nameof(KubernetesJson.Deserialize) && m.IsGenericMethodDefinition && m.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(string));

    private static readonly string[] Fields =
    [
        nameof(Image), nameof(Name), nameof(Hostname), nameof(Cmds), nameof(Arguments), nameof(EnvVars),
        nameof(EnvVarList), nameof(Labels), nameof(Annotations), nameof(ConfigFile), nameof(PodTemplateFile),
        nameof(PodTemplateDict), nameof(Namespace), nameof(ContainerResources), nameof(Volumes), nameof(VolumeMounts),
        nameof(ClusterContext), nameof(EnvFrom), nameof(NodeSelector), nameof(KubernetesConnId), nameof(BaseContainerName),
    ];

    /// <summary>Creates the task; <c>do_xcom_push</c> is off by default, as in the provider.</summary>
    public KubernetesPodOperator(string taskId)
        : base(taskId) => DoXcomPush = false;

    /// <summary>The provider's template fields, as C# property names: rendered per try, nested values included.</summary>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <summary>The connection holding the cluster's configuration (<c>kubernetes_default</c>); null uses none.</summary>
    public string? KubernetesConnId { get; set; } = "kubernetes_default";

    /// <summary>The namespace; else the pod template's, the connection's <c>namespace</c> extra, the in-cluster namespace, <c>default</c>.</summary>
    public string? Namespace { get; set; }

    /// <summary>The container image of the base container.</summary>
    public string? Image { get; set; }

    /// <summary>The pod's name before the random suffix (sanitised to DNS-1123); the task id when unset.</summary>
    public string? Name { get; set; }

    /// <summary>Whether <c>-</c> and 8 random characters are appended to the pod name (default true).</summary>
    public bool RandomNameSuffix { get; set; } = true;

    /// <summary>The entrypoint (the container's <c>command</c>); the image's when empty.</summary>
    public IList<string> Cmds { get; set; } = [];

    /// <summary>The arguments (the container's <c>args</c>); the image's CMD when empty.</summary>
    public IList<string> Arguments { get; set; } = [];

    /// <summary>Ports of the base container.</summary>
    public IList<V1ContainerPort> Ports { get; set; } = [];

    /// <summary>Volume mounts of the base container.</summary>
    public IList<V1VolumeMount> VolumeMounts { get; set; } = [];

    /// <summary>Volumes of the pod.</summary>
    public IList<V1Volume> Volumes { get; set; } = [];

    /// <summary>Environment variables of the base container by name (the provider's <c>env_vars</c> as a dict).</summary>
    public IDictionary<string, string> EnvVars { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Environment variables as model objects (the provider's <c>env_vars</c> as a list of <c>V1EnvVar</c>), after <see cref="EnvVars"/>.</summary>
    public IList<V1EnvVar> EnvVarList { get; set; } = [];

    /// <summary>Sources of environment variables of the base container (<c>env_from</c>).</summary>
    public IList<V1EnvFromSource> EnvFrom { get; set; } = [];

    /// <summary>Config maps whose keys all become environment variables.</summary>
    public IList<string> Configmaps { get; set; } = [];

    /// <summary>Kubernetes Secrets exposed to the pod.</summary>
    public IList<Secret> Secrets { get; set; } = [];

    /// <summary>Environment variables filled from the pod's own fields (downward API).</summary>
    public IList<V1EnvVar> PodRuntimeInfoEnvs { get; set; } = [];

    /// <summary>Run against the cluster the orchestrator itself runs in (service account token); null decides from the connection.</summary>
    public bool? InCluster { get; set; }

    /// <summary>The kubeconfig context to use; the connection's <c>cluster_context</c> or the current context when unset.</summary>
    public string? ClusterContext { get; set; }

    /// <summary>Path of a kubeconfig file; wins over the connection. Templated.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>Labels added to the pod.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Annotations added to the pod.</summary>
    public IDictionary<string, string> Annotations { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Whether a try resumed after a restart attaches to the pod it had started (default true).</summary>
    public bool ReattachOnRestart { get; set; } = true;

    /// <summary>With <see cref="ReattachOnRestart"/>, a resumed try finds its pod by the try's labels, as the provider does.</summary>
    public override bool FindsItsWorkAfterRestart => ReattachOnRestart;

    /// <summary>Seconds a scheduled pod may take to start its containers (default 120).</summary>
    public int StartupTimeoutSeconds { get; set; } = 120;

    /// <summary>Seconds between direct reads of a pending pod when the watch has said nothing (a safety net; default 5).</summary>
    public int StartupCheckIntervalSeconds { get; set; } = 5;

    /// <summary>Seconds a pod may stay unscheduled; the startup timeout when unset.</summary>
    public int? ScheduleTimeoutSeconds { get; set; }

    /// <summary>
    /// The provider's deferrable mode (Composer's recommended one), accepted with its meaning kept: a Sirocco try already
    /// waits on watch streams and async I/O without holding a worker slot or a thread, deferrable or not.
    /// </summary>
    public bool Deferrable { get; set; }

    /// <summary>
    /// Seconds between the deferrable trigger's checks of the pod in the provider (default 2). Accepted: Sirocco learns
    /// of pod changes from a watch as they happen, so it never polls on an interval.
    /// </summary>
    public double PollInterval { get; set; } = 2;

    /// <summary>
    /// Seconds a deferred provider task waits before fetching logs again. Accepted: Sirocco streams logs as they are
    /// written.
    /// </summary>
    public int? LoggingInterval { get; set; }

    /// <summary>Arguments for the provider's trigger; accepted and kept (Sirocco has no triggerer).</summary>
    public IDictionary<string, object?>? TriggerKwargs { get; set; }

    /// <summary>
    /// Whether each logged line starts with its container's name (<c>[base] …</c>): true always prefixes, false never;
    /// unset (the default) prefixes only when more than one container is logged.
    /// </summary>
    public bool? ContainerNameLogPrefixEnabled { get; set; }

    /// <summary>
    /// Formats each streamed line from the container's name and the line, as the provider's <c>log_formatter</c>:
    /// when set, its result is written instead of the default (with or without the <c>[container]</c> prefix). If it
    /// throws, the try's log says so once and later lines are written unformatted.
    /// </summary>
    public Func<string, string, string>? LogFormatter { get; set; }

    /// <summary>
    /// Called with each streamed line, as the provider's <c>progress_callback</c>. If it throws, the try's log says so
    /// once and it is not called again for this try.
    /// </summary>
    public Action<string>? ProgressCallback { get; set; }

    /// <summary>
    /// Hooks into the pod's lifecycle (the provider's <c>callbacks</c>), called in this order for each moment the try
    /// reaches; see <see cref="KubernetesPodOperatorCallback"/>.
    /// </summary>
    public IList<KubernetesPodOperatorCallback> Callbacks { get; set; } = [];

    /// <summary>Whether container output is streamed into the task log (default true).</summary>
    public bool GetLogs { get; set; } = true;

    /// <summary>The name of the container whose exit code decides the try (default <c>base</c>).</summary>
    public string BaseContainerName { get; set; } = "base";

    /// <summary>Init containers whose output is logged; <c>*</c> for all; none when empty.</summary>
    public IList<string> InitContainerLogs { get; set; } = [];

    /// <summary>Containers whose output is logged; <c>*</c> for all; the base container when empty.</summary>
    public IList<string> ContainerLogs { get; set; } = [];

    /// <summary><c>Always</c>, <c>IfNotPresent</c> or <c>Never</c>.</summary>
    public string? ImagePullPolicy { get; set; }

    /// <summary>Requests and limits of the base container.</summary>
    public V1ResourceRequirements? ContainerResources { get; set; }

    /// <summary>
    /// The legacy <c>resources</c> dict (<c>limit_memory</c>, <c>limit_cpu</c>, <c>limit_ephemeral_storage</c>,
    /// <c>limit_gpu</c>, <c>request_memory</c>, <c>request_cpu</c>, <c>request_ephemeral_storage</c>), mapped onto
    /// <see cref="ContainerResources"/>; both set is an error.
    /// </summary>
    public IDictionary<string, string>? Resources { get; set; }

    /// <summary>Pod affinity.</summary>
    public V1Affinity? Affinity { get; set; }

    /// <summary>Node labels the pod must be placed on.</summary>
    public IDictionary<string, string> NodeSelector { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Tolerations of the pod.</summary>
    public IList<V1Toleration> Tolerations { get; set; } = [];

    /// <summary>Secrets used to pull images; see <see cref="SetImagePullSecrets"/> for the comma-separated form.</summary>
    public IList<V1LocalObjectReference> ImagePullSecrets { get; set; } = [];

    /// <summary>The service account the pod runs as.</summary>
    public string? ServiceAccountName { get; set; }

    /// <summary>Whether the service account token is mounted.</summary>
    public bool? AutomountServiceAccountToken { get; set; }

    /// <summary>Whether the pod uses the node's network (default false).</summary>
    public bool HostNetwork { get; set; }

    /// <summary>Extra <c>/etc/hosts</c> entries.</summary>
    public IList<V1HostAlias> HostAliases { get; set; } = [];

    /// <summary>The pod's security context.</summary>
    public V1PodSecurityContext? SecurityContext { get; set; }

    /// <summary>The base container's security context.</summary>
    public V1SecurityContext? ContainerSecurityContext { get; set; }

    /// <summary>The pod's DNS policy.</summary>
    public string? DnsPolicy { get; set; }

    /// <summary>The pod's DNS configuration.</summary>
    public V1PodDNSConfig? DnsConfig { get; set; }

    /// <summary>The pod's host name.</summary>
    public string? Hostname { get; set; }

    /// <summary>The pod's subdomain.</summary>
    public string? Subdomain { get; set; }

    /// <summary>The scheduler that places the pod.</summary>
    public string? SchedulerName { get; set; }

    /// <summary>A complete pod whose settings the operator's own parameters override.</summary>
    public V1Pod? FullPodSpec { get; set; }

    /// <summary>A YAML or JSON pod file, the base of the pod (relative paths resolve against the DAG folder).</summary>
    public string? PodTemplateFile { get; set; }

    /// <summary>A pod as a dictionary (the JSON shape of a V1Pod), the base of the pod.</summary>
    public IDictionary<string, object?>? PodTemplateDict { get; set; }

    /// <summary>Init containers of the pod.</summary>
    public IList<V1Container> InitContainers { get; set; } = [];

    /// <summary>Whether the pod's events are written to the log when the try fails (default false).</summary>
    public bool LogEventsOnFailure { get; set; }

    /// <summary>Whether the pod's spec is written to the log when the try fails (default true).</summary>
    public bool LogPodSpecOnFailure { get; set; } = true;

    /// <summary>The pod's priority class.</summary>
    public string? PriorityClassName { get; set; }

    /// <summary>Seconds the pod is given to stop when deleted.</summary>
    public int? TerminationGracePeriod { get; set; }

    /// <summary>Seconds after which the cluster stops the pod.</summary>
    public long? ActiveDeadlineSeconds { get; set; }

    /// <summary>Exit codes of the base container that end the try as skipped.</summary>
    public IList<int> SkipOnExitCode { get; set; } = [];

    /// <summary>What happens to the pod after the try (default <see cref="OnFinishAction.DeletePod"/>).</summary>
    public OnFinishAction OnFinishAction { get; set; } = OnFinishAction.DeletePod;

    /// <summary>The base container's <c>terminationMessagePolicy</c> (default <c>File</c>).</summary>
    public string TerminationMessagePolicy { get; set; } = "File";

    /// <summary>
    /// JSON values written into the pod as it is sent to the API server, after the typed pod is built, each at a JSON
    /// pointer (<c>/spec/affinity/podAffinity/...</c>). The Airflow reader puts here what a DAG file gave that the
    /// typed models cannot hold (a string where Kubernetes wants a list), as Python's client would send it, so the API
    /// server judges the pod as it judges the provider's and only this task fails.
    /// </summary>
    public IDictionary<string, System.Text.Json.Nodes.JsonNode?> RawPodFields { get; } = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>(StringComparer.Ordinal);

    /// <summary>Sets <see cref="ImagePullSecrets"/> from the provider's comma-separated form, e.g. <c>"a,b"</c>.</summary>
    public void SetImagePullSecrets(string commaSeparated)
    {
        ArgumentNullException.ThrowIfNull(commaSeparated);
        ImagePullSecrets = [.. commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => new V1LocalObjectReference { Name = n })];
    }

    /// <inheritdoc/>
    public override BaseOperator CloneForTry()
    {
        var copy = (KubernetesPodOperator)MemberwiseClone();
        copy.Cmds = [.. Cmds];
        copy.Arguments = [.. Arguments];
        copy.Ports = DeepCopy(Ports);
        copy.VolumeMounts = DeepCopy(VolumeMounts);
        copy.Volumes = DeepCopy(Volumes);
        copy.EnvVars = new Dictionary<string, string>(EnvVars, StringComparer.Ordinal);
        copy.EnvVarList = DeepCopy(EnvVarList);
        copy.EnvFrom = DeepCopy(EnvFrom);
        copy.Configmaps = [.. Configmaps];
        copy.Secrets = [.. Secrets];
        copy.PodRuntimeInfoEnvs = DeepCopy(PodRuntimeInfoEnvs);
        copy.Labels = new Dictionary<string, string>(Labels, StringComparer.Ordinal);
        copy.Annotations = new Dictionary<string, string>(Annotations, StringComparer.Ordinal);
        copy.InitContainerLogs = [.. InitContainerLogs];
        copy.Callbacks = [.. Callbacks];
        copy.ContainerLogs = [.. ContainerLogs];
        copy.ContainerResources = DeepCopy(ContainerResources);
        copy.Resources = Resources is null ? null : new Dictionary<string, string>(Resources, StringComparer.Ordinal);
        copy.Affinity = DeepCopy(Affinity);
        copy.NodeSelector = new Dictionary<string, string>(NodeSelector, StringComparer.Ordinal);
        copy.Tolerations = DeepCopy(Tolerations);
        copy.ImagePullSecrets = DeepCopy(ImagePullSecrets);
        copy.HostAliases = DeepCopy(HostAliases);
        copy.SecurityContext = DeepCopy(SecurityContext);
        copy.ContainerSecurityContext = DeepCopy(ContainerSecurityContext);
        copy.DnsConfig = DeepCopy(DnsConfig);
        copy.FullPodSpec = DeepCopy(FullPodSpec);
        copy.PodTemplateDict = PodTemplateDict is null ? null : JsonCopy.Dictionary(PodTemplateDict);
        copy.InitContainers = DeepCopy(InitContainers);
        copy.SkipOnExitCode = [.. SkipOnExitCode];
        return copy;
    }

    /// <summary>Runs the pod of this try and returns its XCom (when <see cref="BaseOperator.DoXcomPush"/>) or null.</summary>
    /// <param name="context">The try's context.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed: the pod is deleted and the try fails.</param>
    public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ApplyStartupTimeoutCap(context.Config.Get("kubernetes", "max_startup_timeout_seconds", null));
        var runtime = context.Services?.GetService(typeof(KubernetesRuntime)) as KubernetesRuntime
            ?? throw new SiroccoException($"{TaskId}: no Kubernetes runtime in this process: the scheduler must be given RuntimeServices with AddKubernetes (its composition root does this)");
        return PodRun.ExecuteAsync(this, context, runtime, cancellationToken);
    }

    /// <summary>
    /// <c>[kubernetes] max_startup_timeout_seconds</c> caps the startup and schedule timeouts of every pod (for tests and
    /// demos where a DAG's 300 s would be a long wait). This object is the try's own copy, so the DAG is unchanged.
    /// </summary>
    private void ApplyStartupTimeoutCap(string? cap)
    {
        if (string.IsNullOrEmpty(cap))
        {
            return;
        }

        if (!int.TryParse(cap, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var max) || max < 1)
        {
            throw new SiroccoException($"[kubernetes] max_startup_timeout_seconds must be a positive whole number of seconds, got '{cap}'");
        }

        StartupTimeoutSeconds = Math.Min(StartupTimeoutSeconds, max);
        ScheduleTimeoutSeconds = ScheduleTimeoutSeconds is { } s ? Math.Min(s, max) : null;
    }

    /// <summary>
    /// A mapped <c>env_vars</c> may be a dict (name to value) or a list of <c>V1EnvVar</c> objects, as in the provider;
    /// a mapped <c>image_pull_secrets</c> may be the comma-separated form.
    /// </summary>
    protected override bool TryApplyMappedArgument(System.Reflection.PropertyInfo property, System.Text.Json.JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(property);
        switch (property.Name)
        {
            case nameof(EnvVars) when value.ValueKind == System.Text.Json.JsonValueKind.Array:
                EnvVarList = KubernetesJson.Deserialize<List<V1EnvVar>>(value.GetRawText());
                EnvVars = new Dictionary<string, string>(StringComparer.Ordinal);
                return true;
            case nameof(ImagePullSecrets) when value.ValueKind == System.Text.Json.JsonValueKind.String:
                SetImagePullSecrets(value.GetString()!);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Kubernetes models are read with the client's own JSON rules (quantities, int-or-string).</summary>
    protected override object? ConvertMappedValue(Type type, System.Text.Json.JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(type);
        var element = type.IsGenericType ? type.GetGenericArguments()[^1] : type;
        if (element.Namespace == typeof(V1Pod).Namespace)
        {
            var target = type.IsInterface && type.IsGenericType ? typeof(List<>).MakeGenericType(element) : type;
            object?[] args = [value.GetRawText(), .. Enumerable.Repeat<object?>(null, DeserializeString.GetParameters().Length - 1)];
            try
            {
                return DeserializeString.MakeGenericMethod(target).Invoke(null, args);
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is { } inner)
            {
                throw new SiroccoException(inner.Message);
            }
        }

        return base.ConvertMappedValue(type, value);
    }

    private static T? DeepCopy<T>(T? model)
        where T : class =>
        model is null ? null : KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(model));

    private static List<T> DeepCopy<T>(IList<T> models)
        where T : class =>
        [.. models.Select(m => DeepCopy(m)!)];
}
