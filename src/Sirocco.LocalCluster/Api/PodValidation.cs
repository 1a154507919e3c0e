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

    [GeneratedRegex("^([a-z0-9]([-_a-z0-9]*[a-z0-9])?\\.)*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")]
    private static partial Regex SysctlName();

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
                        // v1.20 prints the Go value of the probe or handler; its fields and addresses are not reproduced.
                        var shown = forbidden == "lifecycle" ? "core.Lifecycle{...}" : "core.Probe{...}";
                        causes.Add(new FieldCause("FieldValueInvalid", $"{at}.{forbidden}", $"Invalid value: {shown}: must not be set for init containers"));
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

        foreach (var kind in new[] { "podAffinity", "podAntiAffinity" })
        {
            if (spec["affinity"]?[kind] is JsonObject podAffinity)
            {
                CheckPodAffinity(podAffinity, "spec.affinity." + kind, causes);
            }
        }

        CheckDnsConfig(spec["dnsConfig"] as JsonObject, dnsPolicy, causes);
        var gates = spec["readinessGates"] as JsonArray ?? [];
        for (var i = 0; i < gates.Count; i++)
        {
            var condition = Meta.Str(gates[i]?["conditionType"]) ?? "";
            causes.AddRange(LabelKeyErrors(condition).Select(e => InvalidValue($"spec.readinessGates[{i}].conditionType", condition, e)));
        }

        CheckTopologySpread(spec["topologySpreadConstraints"] as JsonArray ?? [], causes);
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

        foreach (var alias in spec["hostAliases"] as JsonArray ?? [])
        {
            var ip = Meta.Str(alias?["ip"]) ?? "";
            if (!IPAddress.TryParse(ip, out _))
            {
                causes.Add(InvalidValue("spec.hostAliases.ip", ip, "must be valid IP address"));
            }

            foreach (var hostname in alias?["hostnames"] as JsonArray ?? [])
            {
                var host = Meta.Str(hostname) ?? "";
                causes.AddRange(Dns1123SubdomainErrors(host).Select(e => InvalidValue("spec.hostAliases.hostnames", host, e)));
            }
        }

        if (Meta.Str(spec["priorityClassName"]) is { Length: > 0 } priorityClass)
        {
            foreach (var e in Dns1123SubdomainErrors(priorityClass))
            {
                causes.Add(InvalidValue("spec.priorityClassName", priorityClass, e));
            }
        }
    }

    /// <summary>Checks the volumes; returns those without errors by name (mounts may only name these).</summary>
    private static Dictionary<string, JsonObject> CheckVolumes(JsonArray? vols, List<FieldCause> causes)
    {
        var names = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
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

            if (names.ContainsKey(name))
            {
                errors.Add(Duplicate(at + ".name", name));
            }

            if (errors.Count == 0)
            {
                names.Add(name, vol);
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
                    CheckProjectionSources(s["sources"] as JsonArray ?? [], path, causes);
                    break;
                case "emptyDir":
                    if (s["sizeLimit"] is { } sizeLimit && GoQuantity.TryParse(Meta.Text(sizeLimit), out var size) && size.Sign < 0)
                    {
                        causes.Add(Forbidden(path + ".sizeLimit", "SizeLimit field must be a valid resource quantity"));
                    }

                    break;
            }
        }

        // A volume without a source is not an error: the real server defaults it to an emptyDir.
    }

    private static void CheckProjectionSources(JsonArray sources, string at, List<FieldCause> causes)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sources.Count; i++)
        {
            var source = sources[i] as JsonObject ?? [];
            var srcAt = $"{at}.sources[{i}]";
            var count = 0;
            foreach (var kind in new[] { "secret", "configMap" })
            {
                if (source[kind] is not JsonObject s)
                {
                    continue;
                }

                count++;
                var name = Meta.Str(s["name"]) ?? "";
                if (name.Length == 0)
                {
                    causes.Add(Required($"{srcAt}.{kind}.name", ""));
                }

                var items = s["items"] as JsonArray ?? [];
                CheckItems(items, $"{srcAt}.{kind}.items", causes);
                foreach (var item in items)
                {
                    if (Meta.Str(item?["path"]) is { Length: > 0 } path && !paths.Add(path))
                    {
                        causes.Add(InvalidValue(at, name, "conflicting duplicate paths"));
                    }
                }
            }

            if (source["downwardAPI"] is JsonObject downward)
            {
                count++;
                foreach (var file in (downward["items"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    CheckDownwardFile(file, srcAt + ".downwardAPI", causes);
                    if (Meta.Str(file["path"]) is { Length: > 0 } path && !paths.Add(path))
                    {
                        causes.Add(InvalidValue(at, path, "conflicting duplicate paths"));
                    }
                }
            }

            if (source["serviceAccountToken"] is JsonObject token)
            {
                count++;
                var seconds = Long(token["expirationSeconds"]) ?? 3600;
                if (seconds < 600)
                {
                    causes.Add(InvalidValue(srcAt + ".serviceAccountToken.expirationSeconds", seconds, "may not specify a duration less than 10 minutes"));
                }

                if (seconds > 1L << 32)
                {
                    causes.Add(InvalidValue(srcAt + ".serviceAccountToken.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds"));
                }

                if (string.IsNullOrEmpty(Meta.Str(token["path"])))
                {
                    // v1.20 names the projected volume's path here, not the token's.
                    causes.Add(Required(at + ".path", ""));
                }
            }

            if (count > 1)
            {
                causes.Add(Forbidden(srcAt, "may not specify more than 1 volume type"));
            }
        }
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

    private static void CheckContainers(JsonArray? containers, string field, Dictionary<string, JsonObject> volumes, List<FieldCause> causes)
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

            var image = Meta.Str(c["image"]) ?? "";
            if (image.Length == 0)
            {
                causes.Add(Required(at + ".image", ""));
            }
            else if (image != image.Trim())
            {
                causes.Add(InvalidValue(at + ".image", image, "must not have leading or trailing whitespace"));
            }

            if (c["lifecycle"] is JsonObject lifecycle)
            {
                foreach (var hook in new[] { "postStart", "preStop" })
                {
                    if (lifecycle[hook] is JsonObject handler)
                    {
                        CheckHandler(handler, $"{at}.lifecycle.{hook}", causes);
                    }
                }
            }

            foreach (var probe in new[] { "livenessProbe", "startupProbe" })
            {
                CheckProbe(c[probe] as JsonObject, $"{at}.{probe}", causes);
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

            CheckProbe(c["readinessProbe"] as JsonObject, at + ".readinessProbe", causes);
            CheckPorts(c["ports"] as JsonArray, at + ".ports", causes);
            CheckEnv(c["env"] as JsonArray, at + ".env", causes);
            CheckEnvFrom(c["envFrom"] as JsonArray, at + ".envFrom", causes);
            CheckVolumeMounts(c, at + ".volumeMounts", volumes, causes);
            CheckVolumeDevices(c, at + ".volumeDevices", volumes, causes);
            var pull = Meta.Str(c["imagePullPolicy"]);
            if (!string.IsNullOrEmpty(pull) && pull is not ("Always" or "IfNotPresent" or "Never"))
            {
                causes.Add(NotSupported(at + ".imagePullPolicy", pull, "Always", "IfNotPresent", "Never"));
            }

            CheckResources(c["resources"] as JsonObject, at + ".resources", causes);
            if (c["securityContext"] is JsonObject sc)
            {
                CheckContainerSecurityContext(sc, at + ".securityContext", causes);
            }
        }

        // Host ports may not collide: across all containers, or within each init container (they run one by one).
        var hostPorts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < containers.Count; i++)
        {
            if (field.EndsWith("initContainers", StringComparison.Ordinal))
            {
                hostPorts.Clear();
            }

            var ports = containers[i]?["ports"] as JsonArray ?? [];
            for (var j = 0; j < ports.Count; j++)
            {
                if (Long(ports[j]?["hostPort"]) is { } hostPort && hostPort != 0)
                {
                    var protocol = Meta.Str(ports[j]?["protocol"]) is { Length: > 0 } p ? p : "TCP";
                    var key = $"{protocol}/{Meta.Str(ports[j]?["hostIP"])}/{hostPort}";
                    if (!hostPorts.Add(key))
                    {
                        causes.Add(Duplicate($"{field}[{i}].ports[{j}].hostPort", key));
                    }
                }
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

        if (selector["divisor"] is { } divisorNode && GoQuantity.TryParse(Meta.Text(divisorNode), out var divisor) && divisor.Sign != 0)
        {
            var text = divisor.ToString();
            string[] memoryDivisors = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
            var error = resource switch
            {
                "limits.cpu" or "requests.cpu" when text is not ("1m" or "1") => "only divisor's values 1m and 1 are supported with the cpu resource",
                "limits.memory" or "requests.memory" when !memoryDivisors.Contains(text) => "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
                "limits.ephemeral-storage" or "requests.ephemeral-storage" when !memoryDivisors.Contains(text) => "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource",
                _ when (resource.StartsWith("requests.hugepages-", StringComparison.Ordinal) || resource.StartsWith("limits.hugepages-", StringComparison.Ordinal)) && !memoryDivisors.Contains(text)
                    => "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource",
                _ => null,
            };
            if (error is not null)
            {
                causes.Add(InvalidValue(at + ".divisor", resource, error));
            }
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

    private static void CheckVolumeMounts(JsonObject container, string at, Dictionary<string, JsonObject> volumes, List<FieldCause> causes)
    {
        var mounts = container["volumeMounts"] as JsonArray;
        var devices = (container["volumeDevices"] as JsonArray ?? []).Select(d => (Name: Meta.Str(d?["name"]) ?? "", Path: Meta.Str(d?["devicePath"]) ?? "")).ToList();
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

            if (!volumes.ContainsKey(name))
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

            if (devices.Any(d => d.Name == name))
            {
                causes.Add(InvalidValue(mat + ".name", name, "must not already exist in volumeDevices"));
            }

            if (devices.Any(d => d.Path == path))
            {
                causes.Add(InvalidValue(mat + ".mountPath", path, "must not already exist as a path in volumeDevices"));
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

            if (Meta.Str(m?["mountPropagation"]) is { } propagation)
            {
                if (propagation is not ("Bidirectional" or "HostToContainer" or "None"))
                {
                    causes.Add(NotSupported(at + ".mountPropagation", propagation, "Bidirectional", "HostToContainer", "None"));
                }

                if (propagation == "Bidirectional" && !(container["securityContext"]?["privileged"] is JsonValue pv && pv.TryGetValue<bool>(out var privileged) && privileged))
                {
                    causes.Add(Forbidden(at + ".mountPropagation", "Bidirectional mount propagation is available only to privileged containers"));
                }
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

        if (spec["shareProcessNamespace"] is JsonValue spn && spn.TryGetValue<bool>(out var share)
            && share && spec["hostPID"] is JsonValue hp && hp.TryGetValue<bool>(out var hostPid) && hostPid)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "spec.securityContext.shareProcessNamespace", "Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"));
        }

        var sysctls = sc["sysctls"] as JsonArray ?? [];
        var sysctlNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sysctls.Count; i++)
        {
            var name = Meta.Str(sysctls[i]?["name"]) ?? "";
            var at = $"spec.securityContext.sysctls[{i}].name";
            if (name.Length == 0)
            {
                causes.Add(Required(at, ""));
            }
            else if (name.Length > 253 || !SysctlName().IsMatch(name))
            {
                causes.Add(InvalidValue(at, name, "must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?\\.)*[a-z0-9]([-_a-z0-9]*[a-z0-9])?"));
            }
            else if (sysctlNames.Contains(name))
            {
                causes.Add(Duplicate(at, name));
            }

            sysctlNames.Add(name);
        }

        if (Meta.Str(sc["fsGroupChangePolicy"]) is { } changePolicy && changePolicy is not ("Always" or "OnRootMismatch"))
        {
            causes.Add(NotSupported("spec.securityContext.fsGroupChangePolicy", changePolicy, "Always", "OnRootMismatch"));
        }

        CheckSeccomp(sc["seccompProfile"] as JsonObject, "spec.securityContext.seccompProfile", causes);
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
            CheckSelectorRequirement(expressions[j] as JsonObject ?? [], $"{at}.matchExpressions[{j}]", true, causes);
        }
    }

    /// <summary>A node selector's (Gt and Lt allowed) or a label selector's requirement.</summary>
    private static void CheckSelectorRequirement(JsonObject rq, string rqAt, bool node, List<FieldCause> causes)
    {
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
            case "Gt" or "Lt" when node:
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

        if (nameservers.Count > 3)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "spec.dnsConfig.nameservers", $"Invalid value: {GoStrings(nameservers)}: must not have more than 3 nameservers"));
        }

        for (var i = 0; i < nameservers.Count; i++)
        {
            var ns = Meta.Str(nameservers[i]) ?? "";
            if (!IPAddress.TryParse(ns, out _))
            {
                causes.Add(InvalidValue($"spec.dnsConfig.nameservers[{i}]", ns, "must be valid IP address"));
            }
        }

        var searches = config?["searches"] as JsonArray ?? [];
        if (searches.Count > 6)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "spec.dnsConfig.searches", $"Invalid value: {GoStrings(searches)}: must not have more than 6 search paths"));
        }

        if (string.Join(' ', searches.Select(x => Meta.Str(x) ?? "")).Length > 256)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "spec.dnsConfig.searches", $"Invalid value: {GoStrings(searches)}: must not have more than 256 characters (including spaces) in the search list"));
        }

        for (var i = 0; i < searches.Count; i++)
        {
            // A trailing dot is fine.
            var search = Meta.Str(searches[i]) ?? "";
            var checkedName = search.EndsWith('.') ? search[..^1] : search;
            causes.AddRange(Dns1123SubdomainErrors(checkedName).Select(e => InvalidValue($"spec.dnsConfig.searches[{i}]", checkedName, e)));
        }

        var options = config?["options"] as JsonArray ?? [];
        for (var i = 0; i < options.Count; i++)
        {
            if (string.IsNullOrEmpty(Meta.Str(options[i]?["name"])))
            {
                causes.Add(Required($"spec.dnsConfig.options[{i}]", "must not be empty"));
            }
        }
    }

    /// <summary>A list of strings as Go's %#v writes a []string.</summary>
    private static string GoStrings(JsonArray values) => "[]string{" + string.Join(", ", values.Select(v => GoQuote(Meta.Str(v) ?? ""))) + "}";

    private static void CheckTopologySpread(JsonArray constraints, List<FieldCause> causes)
    {
        for (var i = 0; i < constraints.Count; i++)
        {
            var at = $"spec.topologySpreadConstraints[{i}]";
            var maxSkew = Long(constraints[i]?["maxSkew"]) ?? 0;
            var key = Meta.Str(constraints[i]?["topologyKey"]) ?? "";
            var when = Meta.Str(constraints[i]?["whenUnsatisfiable"]) ?? "";
            if (maxSkew <= 0)
            {
                causes.Add(InvalidValue(at + ".maxSkew", maxSkew, "must be greater than zero"));
            }

            if (key.Length == 0)
            {
                causes.Add(Required(at + ".topologyKey", "can not be empty"));
            }

            if (when is not ("DoNotSchedule" or "ScheduleAnyway"))
            {
                causes.Add(NotSupported(at + ".whenUnsatisfiable", when, "DoNotSchedule", "ScheduleAnyway"));
            }

            if (constraints.Skip(i + 1).Any(c => (Meta.Str(c?["topologyKey"]) ?? "") == key && (Meta.Str(c?["whenUnsatisfiable"]) ?? "") == when))
            {
                causes.Add(Duplicate(at + ".{topologyKey, whenUnsatisfiable}", $"{{{key}, {when}}}"));
            }
        }
    }

    private static void CheckPodAffinity(JsonObject affinity, string at, List<FieldCause> causes)
    {
        var required = affinity["requiredDuringSchedulingIgnoredDuringExecution"] as JsonArray ?? [];
        for (var i = 0; i < required.Count; i++)
        {
            CheckPodAffinityTerm(required[i] as JsonObject ?? [], $"{at}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", causes);
        }

        var preferred = affinity["preferredDuringSchedulingIgnoredDuringExecution"] as JsonArray ?? [];
        for (var i = 0; i < preferred.Count; i++)
        {
            var termAt = $"{at}.preferredDuringSchedulingIgnoredDuringExecution[{i}]";
            var weight = Long(preferred[i]?["weight"]) ?? 0;
            if (weight is <= 0 or > 100)
            {
                causes.Add(InvalidValue(termAt + ".weight", weight, "must be in the range 1-100"));
            }

            CheckPodAffinityTerm(preferred[i]?["podAffinityTerm"] as JsonObject ?? [], termAt + ".podAffinityTerm", causes);
        }
    }

    private static void CheckPodAffinityTerm(JsonObject term, string at, List<FieldCause> causes)
    {
        // v1.20 names the selector's path "matchExpressions" (sic), so its requirements are matchExpressions.matchExpressions[i].
        if (term["labelSelector"] is JsonObject selector)
        {
            var selectorAt = at + ".matchExpressions";
            if (selector["matchLabels"] is JsonObject matchLabels)
            {
                CheckLabels(matchLabels, selectorAt + ".matchLabels", causes);
            }

            var expressions = selector["matchExpressions"] as JsonArray ?? [];
            for (var j = 0; j < expressions.Count; j++)
            {
                CheckSelectorRequirement(expressions[j] as JsonObject ?? [], $"{selectorAt}.matchExpressions[{j}]", false, causes);
            }
        }

        foreach (var ns in term["namespaces"] as JsonArray ?? [])
        {
            var name = Meta.Str(ns) ?? "";
            causes.AddRange(Dns1123LabelErrors(name).Select(e => InvalidValue(at + ".namespace", name, e)));
        }

        var key = Meta.Str(term["topologyKey"]) ?? "";
        if (key.Length == 0)
        {
            causes.Add(Required(at + ".topologyKey", "can not be empty"));
        }

        causes.AddRange(LabelKeyErrors(key).Select(e => InvalidValue(at + ".topologyKey", key, e)));
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
