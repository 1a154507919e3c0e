using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>What the pod of one try depends on besides the operator's (rendered) parameters.</summary>
internal sealed record PodBuildContext
{
    public required string DagId { get; init; }

    public required string TaskId { get; init; }

    public required string RunId { get; init; }

    public required int TryNumber { get; init; }

    public int MapIndex { get; init; } = -1;

    /// <summary>The namespace when neither the operator nor the template names one.</summary>
    public string DefaultNamespace { get; init; } = "default";

    public string XComSidecarImage { get; init; } = PodBuilder.DefaultSidecarImage;

    /// <summary>The sidecar's resources from the connection's <c>xcom_sidecar_container_resources</c>; the small default when null.</summary>
    public V1ResourceRequirements? XComSidecarResources { get; init; }

    /// <summary>The sidecar's security context from the connection's <c>xcom_sidecar_container_security_context</c>.</summary>
    public V1SecurityContext? XComSidecarSecurityContext { get; init; }

    /// <summary>Where a relative pod_template_file is looked up.</summary>
    public string? DagFolder { get; init; }

    /// <summary>
    /// The suffix of the pod name (8 characters of [a-z0-9]); null: one derived from the try's identity, so that a
    /// try resumed after a crash between its pod's create and its recording meets its own pod (409) instead of making
    /// a second one.
    /// </summary>
    public Func<string>? RandomSuffix { get; init; }

    public string SiroccoVersion { get; init; } = PodBuilder.Version;

    /// <summary>
    /// The callback kind (<c>on_success_callback</c> …) when the pod runs a task's callback rather than the task: it
    /// is part of the pod's identity, so a callback never takes its task's pod (same try, same labels) for its own.
    /// </summary>
    public string? Callback { get; init; }
}

/// <summary>
/// Turns an operator (its template fields already rendered) into the V1Pod of one try. A pure function apart from the
/// pod template file it may read: the pod is composed along one fixed precedence, pod_template_file or
/// pod_template_dict, then full_pod_spec over it, then the operator's own parameters over both; then the secrets, the
/// XCom sidecar, the identifying labels, the name and <c>restartPolicy: Never</c> are applied.
/// </summary>
internal static class PodBuilder
{
    public const string DefaultSidecarImage = "alpine";
    public const string SidecarName = "airflow-xcom-sidecar";
    public const string XComVolume = "xcom";
    public const string XComPath = "/airflow/xcom";
    public const string SidecarCommand = "trap \"exit 0\" INT; while true; do sleep 1; done;";
    public const string AlreadyCheckedLabel = "already_checked";

    /// <summary>The label naming the callback a pod runs (absent on a task's own pods).</summary>
    public const string CallbackLabel = "sirocco_callback";

    public static readonly string Version =
        typeof(PodBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    // Lists that accumulate when pods are composed (the base's entries, then the override's); others are replaced.
    private static readonly HashSet<string> ExtendedLists = new(StringComparer.Ordinal)
    {
        "volumes", "initContainers", "volumeMounts", "env", "envFrom", "ports", "imagePullSecrets", "tolerations",
        "hostAliases",
    };

    public static V1Pod Build(KubernetesPodOperator op, PodBuildContext ctx)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(ctx);
        var template = LoadTemplate(op, ctx);
        JsonNode? merged = template;
        merged = Reconcile(merged, op.FullPodSpec is null ? null : JsonNode.Parse(KubernetesJson.Serialize(op.FullPodSpec)));
        merged = Reconcile(merged, JsonNode.Parse(KubernetesJson.Serialize(FromParameters(op))));
        var pod = KubernetesJson.Deserialize<V1Pod>(merged!.ToJsonString());
        pod.ApiVersion = "v1";
        pod.Kind = "Pod";
        pod.Metadata ??= new V1ObjectMeta();
        pod.Spec ??= new V1PodSpec();
        pod.Spec.Containers ??= [];
        var baseContainer = pod.Spec.Containers.FirstOrDefault(c => c.Name == op.BaseContainerName);
        if (baseContainer is null)
        {
            throw new SiroccoException(
                $"task {ctx.TaskId}: the pod has no container named '{op.BaseContainerName}' (base_container_name); containers: {string.Join(", ", pod.Spec.Containers.Select(c => c.Name))}");
        }

        if (string.IsNullOrEmpty(baseContainer.Image))
        {
            throw new SiroccoException($"task {ctx.TaskId}: image is required (the base container '{op.BaseContainerName}' has none)");
        }

        foreach (var secret in op.Secrets)
        {
            Attach(pod, baseContainer, secret);
        }

        if (op.DoXcomPush)
        {
            AddXComSidecar(pod, baseContainer, ctx);
        }

        var labels = pod.Metadata.Labels ?? new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in IdentityLabels(ctx))
        {
            labels[k] = v;
        }

        pod.Metadata.Labels = labels;
        var name = op.Name ?? pod.Metadata.Name ?? ctx.TaskId;
        pod.Metadata.Name = LabelSanitizer.PodName(name, op.RandomNameSuffix ? ctx.RandomSuffix?.Invoke() ?? LabelSanitizer.TrySuffix(ctx.DagId, ctx.Callback is null ? ctx.TaskId : ctx.TaskId + "/" + ctx.Callback, ctx.RunId, ctx.MapIndex, ctx.TryNumber) : null);
        pod.Metadata.NamespaceProperty = op.Namespace ?? pod.Metadata.NamespaceProperty ?? ctx.DefaultNamespace;
        pod.Spec.RestartPolicy = "Never";
        return pod;
    }

    /// <summary>The labels that identify the pod of a try (values label-safe); without the try number for searching a task's pods.</summary>
    public static Dictionary<string, string> IdentityLabels(PodBuildContext ctx, bool includeTryNumber = true)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["dag_id"] = LabelSanitizer.LabelValue(ctx.DagId),
            ["task_id"] = LabelSanitizer.LabelValue(ctx.TaskId),
            ["run_id"] = LabelSanitizer.LabelValue(ctx.RunId),
            ["kubernetes_pod_operator"] = "True",
            ["sirocco_version"] = LabelSanitizer.LabelValue(ctx.SiroccoVersion),
        };
        if (includeTryNumber)
        {
            labels["try_number"] = ctx.TryNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (ctx.MapIndex >= 0)
        {
            labels["map_index"] = ctx.MapIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (ctx.Callback is not null)
        {
            labels[CallbackLabel] = LabelSanitizer.LabelValue(ctx.Callback);
        }

        return labels;
    }

    /// <summary>The legacy <c>resources</c> dict as requirements; the error names an unknown key.</summary>
    public static V1ResourceRequirements FromLegacyResources(IDictionary<string, string> resources)
    {
        var result = new V1ResourceRequirements();
        foreach (var (key, value) in resources)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            var (isLimit, name) = key switch
            {
                "limit_memory" => (true, "memory"),
                "limit_cpu" => (true, "cpu"),
                "limit_ephemeral_storage" => (true, "ephemeral-storage"),
                "limit_gpu" => (true, "nvidia.com/gpu"),
                "request_memory" => (false, "memory"),
                "request_cpu" => (false, "cpu"),
                "request_ephemeral_storage" => (false, "ephemeral-storage"),
                _ => throw new SiroccoException(
                    $"resources: unknown key '{key}'; expected limit_memory, limit_cpu, limit_ephemeral_storage, limit_gpu, request_memory, request_cpu or request_ephemeral_storage"),
            };
            var target = isLimit
                ? result.Limits ??= new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal)
                : result.Requests ??= new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal);
            target[name] = new ResourceQuantity(value);
        }

        return result;
    }

    private static V1Pod FromParameters(KubernetesPodOperator op)
    {
        if (op.Resources is { Count: > 0 } && op.ContainerResources is not null)
        {
            throw new SiroccoException("set either container_resources or the legacy resources dict, not both");
        }

        var env = new List<V1EnvVar>();
        env.AddRange(op.EnvVars.Select(kv => new V1EnvVar { Name = kv.Key, Value = kv.Value }));
        env.AddRange(op.EnvVarList);
        env.AddRange(op.PodRuntimeInfoEnvs);
        var envFrom = new List<V1EnvFromSource>(op.EnvFrom);
        envFrom.AddRange(op.Configmaps.Select(c => new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = c } }));
        var container = new V1Container
        {
            Name = op.BaseContainerName,
            Image = op.Image,
            ImagePullPolicy = op.ImagePullPolicy,
            Command = NullIfEmpty(op.Cmds),
            Args = NullIfEmpty(op.Arguments),
            Ports = NullIfEmpty(op.Ports),
            VolumeMounts = NullIfEmpty(op.VolumeMounts),
            Resources = op.Resources is { Count: > 0 } legacy ? FromLegacyResources(legacy) : op.ContainerResources,
            Env = NullIfEmpty(env),
            EnvFrom = NullIfEmpty(envFrom),
            SecurityContext = op.ContainerSecurityContext,
            TerminationMessagePolicy = op.TerminationMessagePolicy,
        };
        return new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = op.Name,
                NamespaceProperty = op.Namespace,
                Labels = NullIfEmpty(op.Labels),
                Annotations = NullIfEmpty(op.Annotations),
            },
            Spec = new V1PodSpec
            {
                Containers = [container],
                InitContainers = NullIfEmpty(op.InitContainers),
                Volumes = NullIfEmpty(op.Volumes),
                Affinity = IsEmpty(op.Affinity) ? null : op.Affinity,
                NodeSelector = NullIfEmpty(op.NodeSelector),
                Tolerations = NullIfEmpty(op.Tolerations),
                ImagePullSecrets = NullIfEmpty(op.ImagePullSecrets),
                ServiceAccountName = op.ServiceAccountName,
                AutomountServiceAccountToken = op.AutomountServiceAccountToken,
                HostNetwork = op.HostNetwork ? true : null,
                HostAliases = NullIfEmpty(op.HostAliases),
                SecurityContext = op.SecurityContext,
                DnsPolicy = op.DnsPolicy,
                DnsConfig = op.DnsConfig,
                Hostname = op.Hostname,
                Subdomain = op.Subdomain,
                SchedulerName = op.SchedulerName,
                PriorityClassName = op.PriorityClassName,
                TerminationGracePeriodSeconds = op.TerminationGracePeriod,
                ActiveDeadlineSeconds = op.ActiveDeadlineSeconds,
            },
        };
    }

    private static JsonNode? LoadTemplate(KubernetesPodOperator op, PodBuildContext ctx)
    {
        if (op.PodTemplateFile is { Length: > 0 } file)
        {
            var path = Path.IsPathRooted(file) || ctx.DagFolder is null ? file : Path.Combine(ctx.DagFolder, file);
            if (!File.Exists(path))
            {
                throw new SiroccoException($"pod_template_file '{path}' does not exist");
            }

            try
            {
                var pod = KubernetesYaml.Deserialize<V1Pod>(File.ReadAllText(path));
                return JsonNode.Parse(KubernetesJson.Serialize(pod));
            }
            catch (Exception e) when (e is not SiroccoException and not IOException)
            {
                throw new SiroccoException($"pod_template_file '{path}' is not a valid pod: {e.Message}", e);
            }
        }

        if (op.PodTemplateDict is { Count: > 0 } dict)
        {
            var node = JsonCopy.ToNode(dict);
            try
            {
                var pod = KubernetesJson.Deserialize<V1Pod>(node!.ToJsonString());
                return JsonNode.Parse(KubernetesJson.Serialize(pod));
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new SiroccoException($"pod_template_dict is not a valid pod: {e.Message}", e);
            }
        }

        return null;
    }

    /// <summary>Composes two pods as JSON: objects merge key by key, the override's scalars win, containers merge by position.</summary>
    private static JsonNode? Reconcile(JsonNode? basePod, JsonNode? overridePod)
    {
        if (basePod is null)
        {
            return overridePod?.DeepClone();
        }

        if (overridePod is null)
        {
            return basePod.DeepClone();
        }

        return Merge(basePod, overridePod, null);
    }

    private static JsonNode? Merge(JsonNode? b, JsonNode? o, string? key)
    {
        if (o is null)
        {
            return b?.DeepClone();
        }

        if (b is JsonObject bo && o is JsonObject oo)
        {
            var result = (JsonObject)bo.DeepClone();
            foreach (var (k, v) in oo)
            {
                result[k] = Merge(bo[k], v, k);
            }

            return result;
        }

        if (b is JsonArray ba && o is JsonArray oa)
        {
            if (key is "containers")
            {
                var merged = new JsonArray();
                for (var i = 0; i < Math.Max(ba.Count, oa.Count); i++)
                {
                    merged.Add(Merge(i < ba.Count ? ba[i] : null, i < oa.Count ? oa[i] : null, null));
                }

                return merged;
            }

            if (key is not null && ExtendedLists.Contains(key))
            {
                return new JsonArray([.. ba.Select(x => x?.DeepClone()), .. oa.Select(x => x?.DeepClone())]);
            }
        }

        return o.DeepClone();
    }

    private static void Attach(V1Pod pod, V1Container container, Secret secret)
    {
        if (secret.DeployType == "volume")
        {
            var volumeName = "secretvol" + Convert.ToHexStringLower(
                SHA256.HashData(Encoding.UTF8.GetBytes(secret.SecretName + "\n" + secret.DeployTarget)))[..12];
            pod.Spec.Volumes ??= [];
            pod.Spec.Volumes.Add(new V1Volume
            {
                Name = volumeName,
                Secret = new V1SecretVolumeSource
                {
                    SecretName = secret.SecretName,
                    Items = secret.Items.Count > 0 ? [.. secret.Items] : null,
                },
            });
            container.VolumeMounts ??= [];
            container.VolumeMounts.Add(new V1VolumeMount { Name = volumeName, MountPath = secret.DeployTarget, ReadOnlyProperty = true });
        }
        else if (secret.Key is null)
        {
            container.EnvFrom ??= [];
            container.EnvFrom.Add(new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = secret.SecretName } });
        }
        else
        {
            container.Env ??= [];
            container.Env.Add(new V1EnvVar
            {
                Name = secret.DeployTarget,
                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret.SecretName, Key = secret.Key } },
            });
        }
    }

    private static void AddXComSidecar(V1Pod pod, V1Container container, PodBuildContext ctx)
    {
        pod.Spec.Volumes ??= [];
        pod.Spec.Volumes.Add(new V1Volume { Name = XComVolume, EmptyDir = new V1EmptyDirVolumeSource() });
        container.VolumeMounts ??= [];
        container.VolumeMounts.Add(new V1VolumeMount { Name = XComVolume, MountPath = XComPath });
        pod.Spec.Containers.Add(new V1Container
        {
            Name = SidecarName,
            Image = ctx.XComSidecarImage,
            Command = ["sh", "-c", SidecarCommand],
            VolumeMounts = [new V1VolumeMount { Name = XComVolume, MountPath = XComPath }],
            SecurityContext = ctx.XComSidecarSecurityContext,
            Resources = ctx.XComSidecarResources ?? new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal)
                {
                    ["cpu"] = new ResourceQuantity("1m"),
                    ["memory"] = new ResourceQuantity("10Mi"),
                },
            },
        });
    }

    private static bool IsEmpty(V1Affinity? a) =>
        a is null || (a.NodeAffinity is null && a.PodAffinity is null && a.PodAntiAffinity is null);

    private static List<T>? NullIfEmpty<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        return list.Count == 0 ? null : list;
    }

    private static Dictionary<string, string>? NullIfEmpty(IDictionary<string, string> items) =>
        items.Count == 0 ? null : new Dictionary<string, string>(items, StringComparer.Ordinal);
}
