using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>The real server's (v1.20) checks of a pod's spec, in the order it makes them.</summary>
internal static partial class Validation
{
    private const string FileModeError = "must be a number between 0 and 0777 (octal), both inclusive";

    /// <summary>Volume sources in the order v1.20 looks at them, with the field names its errors use ("downwarAPI" sic).</summary>
    private static readonly (string Json, string Field)[] VolumeSources =
    [
        ("emptyDir", "emptyDir"), ("hostPath", "hostPath"), ("gitRepo", "gitRepo"), ("gcePersistentDisk", "gcePersistentDisk"),
        ("awsElasticBlockStore", "awsElasticBlockStore"), ("secret", "secret"), ("nfs", "nfs"), ("iscsi", "iscsi"), ("glusterfs", "glusterfs"),
        ("flocker", "flocker"), ("persistentVolumeClaim", "persistentVolumeClaim"), ("rbd", "rbd"), ("cinder", "cinder"), ("cephfs", "cephFS"),
        ("quobyte", "quobyte"), ("downwardAPI", "downwarAPI"), ("fc", "fc"), ("configMap", "configMap"), ("azureFile", "azureFile"),
        ("vsphereVolume", "vsphereVolume"), ("photonPersistentDisk", "photonPersistentDisk"), ("portworxVolume", "portworxVolume"),
        ("azureDisk", "azureDisk"), ("storageos", "storageos"), ("projected", "projected"), ("scaleIO", "scaleIO"), ("csi", "csi"),
    ];

    private static readonly string[] EnvFieldPaths =
        ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.podIP", "status.podIPs"];

    private static readonly string[] VolumeFieldPaths =
        ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

    private static readonly string[] DownwardLabels =
    [
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.restartPolicy",
        "spec.serviceAccountName", "spec.schedulerName", "status.phase", "status.hostIP", "status.podIP", "status.podIPs", "spec.host",
    ];

    private static readonly string[] ResourceFieldPaths =
        ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"];

    private static readonly HashSet<string> StandardResources =
    [
        "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
        "limits.ephemeral-storage", "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "persistentvolumeclaims",
        "configmaps", "services.nodeports", "services.loadbalancers", "requests.storage",
    ];

    [GeneratedRegex("^[-a-z0-9]+$")]
    private static partial Regex PortNameChars();

    [GeneratedRegex("[a-z]")]
    private static partial Regex PortNameLetter();

    private static void CheckPod(JsonObject pod, List<FieldCause> causes)
    {
        if (pod["spec"] is not JsonObject spec)
        {
            causes.Add(Required("spec.containers", ""));
            return;
        }

        CheckPodSpec(spec, causes);
        if (string.IsNullOrEmpty(Meta.Str(spec["serviceAccountName"])) && spec["volumes"] is JsonArray vols)
        {
            for (var i = 0; i < vols.Count; i++)
            {
                if (vols[i]?["projected"]?["sources"] is JsonArray sources)
                {
                    for (var j = 0; j < sources.Count; j++)
                    {
                        if (sources[j]?["serviceAccountToken"] is not null)
                        {
                            causes.Add(Forbidden($"spec.volumes[{i}].projected.sources[{j}].serviceAccountToken", "must not be specified when serviceAccountName is not set"));
                        }
                    }
                }
            }
        }
    }

    private static void CheckPodSpec(JsonObject spec, List<FieldCause> causes)
    {
        var volumes = CheckVolumes(spec["volumes"] as JsonArray, causes);
        var containers = spec["containers"] as JsonArray;
        CheckContainers(containers, "spec.containers", volumes, causes);
        if (spec["initContainers"] is JsonArray inits && inits.Count > 0)
        {
            CheckContainers(inits, "spec.initContainers", volumes, causes);
            var names = new HashSet<string>((containers ?? []).Select(c => Meta.Str(c?["name"]) ?? ""), StringComparer.Ordinal);
            for (var i = 0; i < inits.Count; i++)
            {
                var at = $"spec.initContainers[{i}]";
                var name = Meta.Str(inits[i]?["name"]) ?? "";
                if (names.Contains(name))
                {
                    causes.Add(Duplicate(at + ".name", name));
                }

                if (name.Length > 0)
                {
                    names.Add(name);
                }

                foreach (var forbidden in new[] { "lifecycle", "livenessProbe", "readinessProbe", "startupProbe" })
                {
                    if (inits[i]?[forbidden] is JsonObject)
                    {
                        causes.Add(new FieldCause("FieldValueInvalid", $"{at}.{forbidden}", "Invalid value: \"\": must not be set for init containers"));
                    }
                }
            }
        }

        var restart = Meta.Str(spec["restartPolicy"]);
        if (!string.IsNullOrEmpty(restart) && restart is not ("Always" or "OnFailure" or "Never"))
        {
            causes.Add(NotSupported("spec.restartPolicy", restart, "Always", "OnFailure", "Never"));
        }

        var dnsPolicy = Meta.Str(spec["dnsPolicy"]);
        if (!string.IsNullOrEmpty(dnsPolicy) && dnsPolicy is not ("ClusterFirstWithHostNet" or "ClusterFirst" or "Default" or "None"))
        {
            causes.Add(NotSupported("spec.dnsPolicy", dnsPolicy, "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"));
        }

        if (spec["nodeSelector"] is JsonObject nodeSelector)
        {
            CheckLabels(nodeSelector, "spec.nodeSelector", causes);
        }

        CheckPodSecurityContext(spec, causes);
        if (spec["affinity"]?["nodeAffinity"] is JsonObject nodeAffinity)
        {
            CheckNodeAffinity(nodeAffinity, "spec.affinity.nodeAffinity", causes);
        }

        CheckDnsConfig(spec["dnsConfig"] as JsonObject, dnsPolicy, causes);
        foreach (var (field, label) in new[] { ("serviceAccountName", false), ("nodeName", false) })
        {
            if (Meta.Str(spec[field]) is { Length: > 0 } value)
            {
                foreach (var e in label ? Dns1123LabelErrors(value) : Dns1123SubdomainErrors(value))
                {
                    causes.Add(InvalidValue("spec." + field, value, e));
                }
            }
        }

        if (Long(spec["activeDeadlineSeconds"]) is { } deadline && deadline is < 1 or > int.MaxValue)
        {
            causes.Add(InvalidValue("spec.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"));
        }

        foreach (var field in new[] { "hostname", "subdomain" })
        {
            if (Meta.Str(spec[field]) is { Length: > 0 } value)
            {
                foreach (var e in Dns1123LabelErrors(value))
                {
                    causes.Add(InvalidValue("spec." + field, value, e));
                }
            }
        }

        if (spec["tolerations"] is JsonArray tolerations)
        {
            CheckTolerations(tolerations, causes);
        }

        if (Meta.Str(spec["priorityClassName"]) is { Length: > 0 } priorityClass)
        {
            foreach (var e in Dns1123SubdomainErrors(priorityClass))
            {
                causes.Add(InvalidValue("spec.priorityClassName", priorityClass, e));
            }
        }
    }

    /// <summary>Checks the volumes; returns the names of those without errors (mounts may only name these).</summary>
    private static HashSet<string> CheckVolumes(JsonArray? vols, List<FieldCause> causes)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (vols?.Count ?? 0); i++)
        {
            var vol = vols![i] as JsonObject ?? [];
            var at = $"spec.volumes[{i}]";
            var errors = new List<FieldCause>();
            CheckVolumeSource(vol, at, errors);
            var name = Meta.Str(vol["name"]) ?? "";
            if (name.Length == 0)
            {
                errors.Add(Required(at + ".name", ""));
            }
            else
            {
                errors.AddRange(Dns1123LabelErrors(name).Select(e => InvalidValue(at + ".name", name, e)));
            }

            if (names.Contains(name))
            {
                errors.Add(Duplicate(at + ".name", name));
            }

            if (errors.Count == 0)
            {
                names.Add(name);
            }

            causes.AddRange(errors);
        }

        return names;
    }

    private static void CheckVolumeSource(JsonObject vol, string at, List<FieldCause> causes)
    {
        var count = 0;
        foreach (var (source, field) in VolumeSources)
        {
            if (vol[source] is not JsonObject s)
            {
                continue;
            }

            if (count++ > 0)
            {
                causes.Add(Forbidden($"{at}.{field}", "may not specify more than 1 volume type"));
                continue;
            }

            var path = $"{at}.{source}";
            switch (source)
            {
                case "hostPath":
                    var hostPath = Meta.Str(s["path"]) ?? "";
                    if (hostPath.Length == 0)
                    {
                        causes.Add(Required(path + ".path", ""));
                        break;
                    }

                    CheckNoBacksteps(hostPath, path + ".path", causes);
                    if (Meta.Str(s["type"]) is { } type && type is not ("" or "BlockDevice" or "CharDevice" or "Directory" or "DirectoryOrCreate" or "File" or "FileOrCreate" or "Socket"))
                    {
                        causes.Add(NotSupported(path + ".type", type, "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"));
                    }

                    break;
                case "secret":
                    if (string.IsNullOrEmpty(Meta.Str(s["secretName"])))
                    {
                        causes.Add(Required(path + ".secretName", ""));
                    }

                    CheckMode(s["defaultMode"], path + ".defaultMode", causes);
                    CheckItems(s["items"] as JsonArray, path + ".items", causes);
                    break;
                case "configMap":
                    if (string.IsNullOrEmpty(Meta.Str(s["name"])))
                    {
                        causes.Add(Required(path + ".name", ""));
                    }

                    CheckMode(s["defaultMode"], path + ".defaultMode", causes);
                    CheckItems(s["items"] as JsonArray, path + ".items", causes);
                    break;
                case "persistentVolumeClaim":
                    if (string.IsNullOrEmpty(Meta.Str(s["claimName"])))
                    {
                        causes.Add(Required(path + ".claimName", ""));
                    }

                    break;
                case "downwardAPI":
                    CheckMode(s["defaultMode"], path + ".defaultMode", causes);
                    foreach (var item in (s["items"] as JsonArray ?? []).OfType<JsonObject>())
                    {
                        CheckDownwardFile(item, path, causes);
                    }

                    break;
                case "projected":
                    CheckMode(s["defaultMode"], path + ".defaultMode", causes);
                    break;
            }
        }

        // A volume without a source is not an error: the real server defaults it to an emptyDir.
    }

    private static void CheckDownwardFile(JsonObject item, string at, List<FieldCause> causes)
    {
        var path = Meta.Str(item["path"]) ?? "";
        if (path.Length == 0)
        {
            causes.Add(Required(at + ".path", ""));
        }

        CheckLocalNonReservedPath(path, at + ".path", causes);
        if (item["fieldRef"] is JsonObject fieldRef)
        {
            CheckFieldSelector(fieldRef, VolumeFieldPaths, at + ".fieldRef", causes);
            if (item["resourceFieldRef"] is JsonObject)
            {
                causes.Add(InvalidValue(at, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
            }
        }
        else if (item["resourceFieldRef"] is JsonObject resourceRef)
        {
            CheckResourceFieldSelector(resourceRef, at + ".resourceFieldRef", true, causes);
        }
        else
        {
            causes.Add(Required(at, "one of fieldRef and resourceFieldRef is required"));
        }

        CheckMode(item["mode"], at + ".mode", causes);
    }

    private static void CheckItems(JsonArray? items, string at, List<FieldCause> causes)
    {
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = items![i];
            var itemAt = $"{at}[{i}]";
            if (string.IsNullOrEmpty(Meta.Str(item?["key"])))
            {
                causes.Add(Required(itemAt + ".key", ""));
            }

            var path = Meta.Str(item?["path"]) ?? "";
            if (path.Length == 0)
            {
                causes.Add(Required(itemAt + ".path", ""));
            }

            CheckLocalNonReservedPath(path, itemAt + ".path", causes);
            CheckMode(item?["mode"], itemAt + ".mode", causes);
        }
    }

    private static void CheckMode(JsonNode? mode, string at, List<FieldCause> causes)
    {
        if (Long(mode) is { } m && m is < 0 or > 511)
        {
            causes.Add(InvalidValue(at, m, FileModeError));
        }
    }

    private static void CheckLocalNonReservedPath(string path, string at, List<FieldCause> causes)
    {
        CheckLocalDescendingPath(path, at, causes);
        if (path.StartsWith("..", StringComparison.Ordinal) && !path.StartsWith("../", StringComparison.Ordinal))
        {
            causes.Add(InvalidValue(at, path, "must not start with '..'"));
        }
    }

    private static void CheckLocalDescendingPath(string path, string at, List<FieldCause> causes)
    {
        if (path.StartsWith('/'))
        {
            causes.Add(InvalidValue(at, path, "must be a relative path"));
        }

        CheckNoBacksteps(path, at, causes);
    }

    private static void CheckNoBacksteps(string path, string at, List<FieldCause> causes)
    {
        if (path.Split('/').Contains(".."))
        {
            causes.Add(InvalidValue(at, path, "must not contain '..'"));
        }
    }

    private static void CheckContainers(JsonArray? containers, string field, HashSet<string> volumes, List<FieldCause> causes)
    {
        if (containers is null || containers.Count == 0)
        {
            causes.Add(Required(field, ""));
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject ?? [];
            var at = $"{field}[{i}]";
            var name = Meta.Str(c["name"]) ?? "";
            if (name.Length == 0)
            {
                causes.Add(Required(at + ".name", ""));
            }
            else
            {
                causes.AddRange(Dns1123LabelErrors(name).Select(e => InvalidValue(at + ".name", name, e)));
            }

            if (!names.Add(name))
            {
                causes.Add(Duplicate(at + ".name", name));
            }

            if (string.IsNullOrEmpty(Meta.Str(c["image"])))
            {
                causes.Add(Required(at + ".image", ""));
            }

            foreach (var probe in new[] { "livenessProbe", "startupProbe" })
            {
                if (Long(c[probe]?["successThreshold"]) is { } threshold && threshold != 1)
                {
                    causes.Add(InvalidValue($"{at}.{probe}.successThreshold", threshold, "must be 1"));
                }
            }

            var policy = Meta.Str(c["terminationMessagePolicy"]);
            if (!string.IsNullOrEmpty(policy) && policy is not ("File" or "FallbackToLogsOnError"))
            {
                causes.Add(InvalidValue(at + ".terminationMessagePolicy", policy, "must be 'File' or 'FallbackToLogsOnError'"));
            }

            CheckPorts(c["ports"] as JsonArray, at + ".ports", causes);
            CheckEnv(c["env"] as JsonArray, at + ".env", causes);
            CheckEnvFrom(c["envFrom"] as JsonArray, at + ".envFrom", causes);
            CheckVolumeMounts(c["volumeMounts"] as JsonArray, at + ".volumeMounts", volumes, causes);
            var pull = Meta.Str(c["imagePullPolicy"]);
            if (!string.IsNullOrEmpty(pull) && pull is not ("Always" or "IfNotPresent" or "Never"))
            {
                causes.Add(NotSupported(at + ".imagePullPolicy", pull, "Always", "IfNotPresent", "Never"));
            }

            CheckResources(c["resources"] as JsonObject, at + ".resources", causes);
            if (c["securityContext"] is JsonObject sc)
            {
                CheckId(sc["runAsUser"], at + ".securityContext.runAsUser", causes);
                CheckId(sc["runAsGroup"], at + ".securityContext.runAsGroup", causes);
            }
        }
    }

    private static void CheckPorts(JsonArray? ports, string at, List<FieldCause> causes)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (ports?.Count ?? 0); i++)
        {
            var port = ports![i];
            var portAt = $"{at}[{i}]";
            if (Meta.Str(port?["name"]) is { Length: > 0 } name)
            {
                var errors = PortNameErrors(name);
                if (errors.Count > 0)
                {
                    causes.AddRange(errors.Select(e => InvalidValue(portAt + ".name", name, e)));
                }
                else if (!names.Add(name))
                {
                    causes.Add(Duplicate(portAt + ".name", name));
                }
            }

            var containerPort = Long(port?["containerPort"]) ?? 0;
            if (containerPort == 0)
            {
                causes.Add(Required(portAt + ".containerPort", ""));
            }
            else if (containerPort is < 1 or > 65535)
            {
                causes.Add(InvalidValue(portAt + ".containerPort", containerPort, "must be between 1 and 65535, inclusive"));
            }

            if (Long(port?["hostPort"]) is { } hostPort && hostPort != 0 && hostPort is < 1 or > 65535)
            {
                causes.Add(InvalidValue(portAt + ".hostPort", hostPort, "must be between 1 and 65535, inclusive"));
            }

            var protocol = Meta.Str(port?["protocol"]);
            if (!string.IsNullOrEmpty(protocol) && protocol is not ("SCTP" or "TCP" or "UDP"))
            {
                causes.Add(NotSupported(portAt + ".protocol", protocol, "SCTP", "TCP", "UDP"));
            }
        }
    }

    private static List<string> PortNameErrors(string name)
    {
        var errors = new List<string>();
        if (name.Length > 15)
        {
            errors.Add("must be no more than 15 characters");
        }

        if (!PortNameChars().IsMatch(name))
        {
            errors.Add("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
        }

        if (!PortNameLetter().IsMatch(name))
        {
            errors.Add("must contain at least one letter or number (a-z, 0-9)");
        }

        if (name.Contains("--", StringComparison.Ordinal))
        {
            errors.Add("must not contain consecutive hyphens");
        }

        if (name.StartsWith('-') || name.EndsWith('-'))
        {
            errors.Add("must not begin or end with a hyphen");
        }

        return errors;
    }

    private static void CheckEnv(JsonArray? env, string at, List<FieldCause> causes)
    {
        for (var i = 0; i < (env?.Count ?? 0); i++)
        {
            var ev = env![i] as JsonObject ?? [];
            var evAt = $"{at}[{i}]";
            var name = Meta.Str(ev["name"]) ?? "";
            if (name.Length == 0)
            {
                causes.Add(Required(evAt + ".name", ""));
            }
            else
            {
                causes.AddRange(EnvVarNameErrors(name).Select(e => InvalidValue(evAt + ".name", name, e)));
            }

            if (ev["valueFrom"] is not JsonObject from)
            {
                continue;
            }

            var fromAt = evAt + ".valueFrom";
            var sources = 0;
            if (from["fieldRef"] is JsonObject fieldRef)
            {
                sources++;
                CheckFieldSelector(fieldRef, EnvFieldPaths, fromAt + ".fieldRef", causes);
            }

            if (from["resourceFieldRef"] is JsonObject resourceRef)
            {
                sources++;
                CheckResourceFieldSelector(resourceRef, fromAt + ".resourceFieldRef", false, causes);
            }

            foreach (var kind in new[] { "configMapKeyRef", "secretKeyRef" })
            {
                if (from[kind] is JsonObject keyRef)
                {
                    sources++;
                    var refName = Meta.Str(keyRef["name"]) ?? "";
                    causes.AddRange(Dns1123SubdomainErrors(refName).Select(e => InvalidValue($"{fromAt}.{kind}.name", refName, e)));
                    var key = Meta.Str(keyRef["key"]) ?? "";
                    if (key.Length == 0)
                    {
                        causes.Add(Required($"{fromAt}.{kind}.key", ""));
                    }
                    else
                    {
                        causes.AddRange(ConfigKeyErrors(key).Select(e => InvalidValue($"{fromAt}.{kind}.key", key, e)));
                    }
                }
            }

            if (sources == 0)
            {
                causes.Add(InvalidValue(fromAt, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
            }
            else if (!string.IsNullOrEmpty(Meta.Str(ev["value"])))
            {
                causes.Add(InvalidValue(fromAt, "", "may not be specified when `value` is not empty"));
            }
            else if (sources > 1)
            {
                causes.Add(InvalidValue(fromAt, "", "may not have more than one field specified at a time"));
            }
        }
    }

    private static void CheckFieldSelector(JsonObject selector, string[] allowed, string at, List<FieldCause> causes)
    {
        var apiVersion = Meta.Str(selector["apiVersion"]);
        var path = Meta.Str(selector["fieldPath"]) ?? "";
        if (path.Length == 0)
        {
            causes.Add(Required(at + ".fieldPath", ""));
            return;
        }

        string? error = null;
        var subscripted = SplitSubscript(path);
        if (!string.IsNullOrEmpty(apiVersion) && apiVersion != "v1")
        {
            error = $"unsupported pod version: {apiVersion}";
        }
        else if (subscripted is { } sub && sub.Path is not ("metadata.annotations" or "metadata.labels"))
        {
            error = $"field label does not support subscript: {path}";
        }
        else if (subscripted is null && !DownwardLabels.Contains(path))
        {
            error = $"field label not supported: {path}";
        }

        if (error is not null)
        {
            causes.Add(InvalidValue(at + ".fieldPath", path, "error converting fieldPath: " + error));
            return;
        }

        if (subscripted is { } s)
        {
            var key = s.Path == "metadata.annotations" ? s.Key.ToLowerInvariant() : s.Key;
            causes.AddRange(LabelKeyErrors(key).Select(e => InvalidValue(at, s.Key, e)));
            return;
        }

        var internalPath = path == "spec.host" ? "spec.nodeName" : path;
        if (!allowed.Contains(internalPath))
        {
            causes.Add(NotSupported(at + ".fieldPath", internalPath, allowed));
        }
    }

    private static (string Path, string Key)? SplitSubscript(string path)
    {
        if (!path.EndsWith("']", StringComparison.Ordinal))
        {
            return null;
        }

        var trimmed = path[..^2];
        var open = trimmed.IndexOf("['", StringComparison.Ordinal);
        return open <= 0 ? null : (trimmed[..open], trimmed[(open + 2)..]);
    }

    private static void CheckResourceFieldSelector(JsonObject selector, string at, bool volume, List<FieldCause> causes)
    {
        var resource = Meta.Str(selector["resource"]) ?? "";
        if (volume && string.IsNullOrEmpty(Meta.Str(selector["containerName"])))
        {
            causes.Add(Required(at + ".containerName", ""));
        }
        else if (resource.Length == 0)
        {
            causes.Add(Required(at + ".resource", ""));
        }
        else if (!ResourceFieldPaths.Contains(resource)
            && !(resource.StartsWith("requests.hugepages-", StringComparison.Ordinal) || resource.StartsWith("limits.hugepages-", StringComparison.Ordinal)))
        {
            causes.Add(NotSupported(at + ".resource", resource, ResourceFieldPaths));
        }
    }

    private static void CheckEnvFrom(JsonArray? envFrom, string at, List<FieldCause> causes)
    {
        for (var i = 0; i < (envFrom?.Count ?? 0); i++)
        {
            var ef = envFrom![i] as JsonObject ?? [];
            var efAt = $"{at}[{i}]";
            if (Meta.Str(ef["prefix"]) is { Length: > 0 } prefix)
            {
                causes.AddRange(EnvVarNameErrors(prefix).Select(e => InvalidValue(efAt + ".prefix", prefix, e)));
            }

            var sources = 0;
            foreach (var kind in new[] { "configMapRef", "secretRef" })
            {
                if (ef[kind] is JsonObject source)
                {
                    sources++;
                    var name = Meta.Str(source["name"]) ?? "";
                    if (name.Length == 0)
                    {
                        causes.Add(Required($"{efAt}.{kind}.name", ""));
                    }
                    else
                    {
                        causes.AddRange(NameErrors(kind, name, true).Select(e => InvalidValue($"{efAt}.{kind}.name", name, e)));
                    }
                }
            }

            if (sources == 0)
            {
                causes.Add(InvalidValue(at, "", "must specify one of: `configMapRef` or `secretRef`"));
            }
            else if (sources > 1)
            {
                causes.Add(InvalidValue(at, "", "may not have more than one field specified at a time"));
            }
        }
    }

    private static void CheckVolumeMounts(JsonArray? mounts, string at, HashSet<string> volumes, List<FieldCause> causes)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var j = 0; j < (mounts?.Count ?? 0); j++)
        {
            var m = mounts![j];
            var name = Meta.Str(m?["name"]) ?? "";
            var path = Meta.Str(m?["mountPath"]) ?? "";
            var mat = $"{at}[{j}]";
            if (name.Length == 0)
            {
                causes.Add(Required(mat + ".name", ""));
            }

            if (!volumes.Contains(name))
            {
                causes.Add(NotFound(mat + ".name", name));
            }

            if (path.Length == 0)
            {
                causes.Add(Required(mat + ".mountPath", ""));
            }

            if (!paths.Add(path))
            {
                causes.Add(InvalidValue(mat + ".mountPath", path, "must be unique"));
            }

            // The real server names these two without the mount's index.
            var sub = Meta.Str(m?["subPath"]) ?? "";
            if (sub.Length > 0)
            {
                CheckLocalDescendingPath(sub, at + ".subPath", causes);
            }

            if (Meta.Str(m?["subPathExpr"]) is { Length: > 0 } expr)
            {
                if (sub.Length > 0)
                {
                    causes.Add(InvalidValue(mat + ".subPathExpr", expr, "subPathExpr and subPath are mutually exclusive"));
                }

                CheckLocalDescendingPath(expr, at + ".subPathExpr", causes);
            }
        }
    }

    private static void CheckResources(JsonObject? resources, string field, List<FieldCause> causes)
    {
        var limits = resources?["limits"] as JsonObject;
        var requests = resources?["requests"] as JsonObject;
        foreach (var (key, value) in limits ?? [])
        {
            var at = $"{field}.limits[{key}]";
            CheckContainerResourceName(key, at, causes);
            CheckQuantityValue(key, ResourceQuantity(value), at, causes);
        }

        foreach (var (key, value) in requests ?? [])
        {
            var at = $"{field}.requests[{key}]";
            var request = ResourceQuantity(value);
            CheckContainerResourceName(key, at, causes);
            CheckQuantityValue(key, request, at, causes);
            var overcommit = IsNativeResource(key) && !key.StartsWith("hugepages-", StringComparison.Ordinal);
            if (limits?[key] is { } limitNode)
            {
                var limit = ResourceQuantity(limitNode);
                var cmp = request is null || limit is null ? 0 : request.CompareTo(limit);
                if (cmp != 0 && !overcommit)
                {
                    causes.Add(InvalidValue(field + ".requests", request!.ToString(), $"must be equal to {key} limit"));
                }
                else if (cmp > 0)
                {
                    causes.Add(InvalidValue(field + ".requests", request!.ToString(), $"must be less than or equal to {key} limit"));
                }
            }
            else if (!overcommit)
            {
                causes.Add(Required(field + ".limits", "Limit must be set for non overcommitable resources"));
            }
        }
    }

    /// <summary>A quantity of a resource list as the real server holds it after defaulting (rounded up to milli-units).</summary>
    private static GoQuantity? ResourceQuantity(JsonNode? node)
    {
        if (!GoQuantity.TryParse(Meta.Text(node), out var q))
        {
            return null;
        }

        q.RoundUpToMilli();
        return q;
    }

    private static void CheckContainerResourceName(string name, string at, List<FieldCause> causes)
    {
        var errors = LabelKeyErrors(name);
        if (errors.Count > 0)
        {
            causes.AddRange(errors.Select(e => InvalidValue(at, name, e)));
        }
        else if (!name.Contains('/', StringComparison.Ordinal) && !StandardResources.Contains(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal)
            && !name.StartsWith("requests.hugepages-", StringComparison.Ordinal))
        {
            causes.Add(InvalidValue(at, name, "must be a standard resource type or fully qualified"));
        }

        if (!name.Contains('/', StringComparison.Ordinal))
        {
            if (name is not ("cpu" or "memory" or "ephemeral-storage") && !name.StartsWith("hugepages-", StringComparison.Ordinal))
            {
                causes.Add(InvalidValue(at, name, "must be a standard resource for containers"));
            }
        }
        else if (!IsNativeResource(name) && !IsExtendedResource(name))
        {
            causes.Add(InvalidValue(at, name, "doesn't follow extended resource name standard"));
        }
    }

    private static bool IsNativeResource(string name) =>
        !name.Contains('/', StringComparison.Ordinal) || name.Contains("kubernetes.io/", StringComparison.Ordinal);

    private static bool IsExtendedResource(string name) =>
        !IsNativeResource(name) && !name.StartsWith("requests.", StringComparison.Ordinal) && LabelKeyErrors("requests." + name).Count == 0;

    private static void CheckQuantityValue(string resource, GoQuantity? value, string at, List<FieldCause> causes)
    {
        if (value is null)
        {
            return;
        }

        if (value.Sign < 0)
        {
            causes.Add(InvalidValue(at, value.ToString(), "must be greater than or equal to 0"));
        }

        if (IsExtendedResource(resource) && !value.IsWhole)
        {
            causes.Add(new FieldCause("FieldValueInvalid", at, $"Invalid value: {value.GoSyntax()}: must be an integer"));
        }
    }

    private static void CheckPodSecurityContext(JsonObject spec, List<FieldCause> causes)
    {
        if (spec["hostNetwork"] is JsonValue hn && hn.TryGetValue<bool>(out var hostNetwork) && hostNetwork && spec["containers"] is JsonArray containers)
        {
            for (var i = 0; i < containers.Count; i++)
            {
                var ports = containers[i]?["ports"] as JsonArray ?? [];
                for (var j = 0; j < ports.Count; j++)
                {
                    var containerPort = Long(ports[j]?["containerPort"]) ?? 0;
                    if ((Long(ports[j]?["hostPort"]) ?? containerPort) != containerPort)
                    {
                        causes.Add(InvalidValue($"spec.containers[{i}].ports[{j}].containerPort", containerPort, "must match `hostPort` when `hostNetwork` is true"));
                    }
                }
            }
        }

        if (spec["securityContext"] is not JsonObject sc)
        {
            return;
        }

        CheckId(sc["fsGroup"], "spec.securityContext.fsGroup", causes);
        CheckId(sc["runAsUser"], "spec.securityContext.runAsUser", causes);
        CheckId(sc["runAsGroup"], "spec.securityContext.runAsGroup", causes);
        var groups = sc["supplementalGroups"] as JsonArray ?? [];
        for (var i = 0; i < groups.Count; i++)
        {
            CheckId(groups[i], $"spec.securityContext.supplementalGroups[{i}]", causes);
        }
    }

    private static void CheckId(JsonNode? id, string at, List<FieldCause> causes)
    {
        if (Long(id) is { } v && v is < 0 or > int.MaxValue)
        {
            causes.Add(InvalidValue(at, v, "must be between 0 and 2147483647, inclusive"));
        }
    }

    private static void CheckNodeAffinity(JsonObject affinity, string at, List<FieldCause> causes)
    {
        if (affinity["requiredDuringSchedulingIgnoredDuringExecution"] is JsonObject required)
        {
            var termsAt = at + ".requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
            var terms = required["nodeSelectorTerms"] as JsonArray ?? [];
            if (terms.Count == 0)
            {
                causes.Add(Required(termsAt, "must have at least one node selector term"));
            }

            for (var i = 0; i < terms.Count; i++)
            {
                CheckNodeSelectorTerm(terms[i] as JsonObject ?? [], $"{termsAt}[{i}]", causes);
            }
        }

        var preferred = affinity["preferredDuringSchedulingIgnoredDuringExecution"] as JsonArray ?? [];
        for (var i = 0; i < preferred.Count; i++)
        {
            var termAt = $"{at}.preferredDuringSchedulingIgnoredDuringExecution[{i}]";
            if (Long(preferred[i]?["weight"]) is not { } weight || weight is <= 0 or > 100)
            {
                causes.Add(InvalidValue(termAt + ".weight", Long(preferred[i]?["weight"]) ?? 0, "must be in the range 1-100"));
            }

            CheckNodeSelectorTerm(preferred[i]?["preference"] as JsonObject ?? [], termAt + ".preference", causes);
        }
    }

    private static void CheckNodeSelectorTerm(JsonObject term, string at, List<FieldCause> causes)
    {
        var expressions = term["matchExpressions"] as JsonArray ?? [];
        for (var j = 0; j < expressions.Count; j++)
        {
            var rq = expressions[j] as JsonObject ?? [];
            var rqAt = $"{at}.matchExpressions[{j}]";
            var values = (rq["values"] as JsonArray)?.Count ?? 0;
            var op = Meta.Str(rq["operator"]) ?? "";
            switch (op)
            {
                case "In" or "NotIn":
                    if (values == 0)
                    {
                        causes.Add(Required(rqAt + ".values", "must be specified when `operator` is 'In' or 'NotIn'"));
                    }

                    break;
                case "Exists" or "DoesNotExist":
                    if (values > 0)
                    {
                        causes.Add(Forbidden(rqAt + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
                    }

                    break;
                case "Gt" or "Lt":
                    if (values != 1)
                    {
                        causes.Add(Required(rqAt + ".values", "must be specified single value when `operator` is 'Lt' or 'Gt'"));
                    }

                    break;
                default:
                    causes.Add(InvalidValue(rqAt + ".operator", op, "not a valid selector operator"));
                    break;
            }

            var key = Meta.Str(rq["key"]) ?? "";
            causes.AddRange(LabelKeyErrors(key).Select(e => InvalidValue(rqAt + ".key", key, e)));
        }
    }

    private static void CheckDnsConfig(JsonObject? config, string? policy, List<FieldCause> causes)
    {
        var nameservers = config?["nameservers"] as JsonArray ?? [];
        if (policy == "None")
        {
            if (config is null)
            {
                causes.Add(Required("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"));
                return;
            }

            if (nameservers.Count == 0)
            {
                causes.Add(Required("spec.dnsConfig.nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None"));
                return;
            }
        }

        for (var i = 0; i < nameservers.Count; i++)
        {
            var ns = Meta.Str(nameservers[i]) ?? "";
            if (!IPAddress.TryParse(ns, out _))
            {
                causes.Add(InvalidValue($"spec.dnsConfig.nameservers[{i}]", ns, "must be valid IP address"));
            }
        }
    }

    private static void CheckTolerations(JsonArray tolerations, List<FieldCause> causes)
    {
        for (var i = 0; i < tolerations.Count; i++)
        {
            var t = tolerations[i] as JsonObject ?? [];
            var at = $"spec.tolerations[{i}]";
            var key = Meta.Str(t["key"]) ?? "";
            var op = Meta.Str(t["operator"]) ?? "";
            var value = Meta.Str(t["value"]) ?? "";
            var effect = Meta.Str(t["effect"]) ?? "";
            var seconds = Long(t["tolerationSeconds"]);
            if (key.Length > 0)
            {
                causes.AddRange(LabelKeyErrors(key).Select(e => InvalidValue(at + ".key", key, e)));
            }

            if (key.Length == 0 && op != "Exists")
            {
                causes.Add(InvalidValue(at + ".operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
            }

            if (seconds is not null && effect != "NoExecute")
            {
                causes.Add(InvalidValue(at + ".effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
            }

            switch (op)
            {
                case "Equal" or "":
                    if (LabelValueErrors(value) is { Count: > 0 } errors)
                    {
                        causes.Add(InvalidValue(at + ".operator", value, string.Join(";", errors)));
                    }

                    break;
                case "Exists":
                    if (value.Length > 0)
                    {
                        var secondsText = seconds is null ? "(*int64)(nil)" : "(*int64)(0xc000000000)";
                        var shown = $"core.Toleration{{Key:{GoQuote(key)}, Operator:{GoQuote(op)}, Value:{GoQuote(value)}, Effect:{GoQuote(effect)}, TolerationSeconds:{secondsText}}}";
                        causes.Add(new FieldCause("FieldValueInvalid", at + ".operator", $"Invalid value: {shown}: value must be empty when `operator` is 'Exists'"));
                    }

                    break;
                default:
                    causes.Add(NotSupported(at + ".operator", op, "Equal", "Exists"));
                    break;
            }

            if (effect.Length > 0 && effect is not ("NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                causes.Add(NotSupported(at + ".effect", effect, "NoSchedule", "PreferNoSchedule", "NoExecute"));
            }
        }
    }

    /// <summary>A whole number in the JSON, or null when absent or not one.</summary>
    private static long? Long(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<long>(out var l) ? l : node is JsonValue d && d.TryGetValue<double>(out var x) && x == Math.Floor(x) && Math.Abs(x) < 9e18 ? (long)x : null;
}
