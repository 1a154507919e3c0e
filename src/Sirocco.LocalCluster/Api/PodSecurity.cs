using System.Globalization;
using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// Pod Security admission, by the Pod Security Standards: a namespace's label
/// <c>pod-security.kubernetes.io/enforce</c> (privileged, baseline or restricted; baseline when absent) decides which
/// pods it admits; a refused pod is a 403 listing every violated check as the real server words it. The system
/// namespaces (kube-system, kube-public, kube-node-lease) are exempt, as a cluster's own components live there.
/// </summary>
internal static class PodSecurity
{
    public const string EnforceLabel = "pod-security.kubernetes.io/enforce";
    public const string VersionLabel = "pod-security.kubernetes.io/enforce-version";
    private static readonly string[] Levels = ["privileged", "baseline", "restricted"];
    private static readonly HashSet<string> ExemptNamespaces = new(StringComparer.Ordinal) { "kube-system", "kube-public", "kube-node-lease" };

    private static readonly HashSet<string> BaselineCapabilities = new(StringComparer.Ordinal)
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    };

    private static readonly HashSet<string> RestrictedVolumeTypes = new(StringComparer.Ordinal)
    {
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
    };

    /// <summary>A namespace's labels are refused when the enforce label names no level (422, as the real server).</summary>
    public static void CheckNamespaceLabels(string name, JsonObject obj)
    {
        if (obj["metadata"]?["labels"]?[EnforceLabel] is { } value && !Levels.Contains(Meta.Str(value)))
        {
            throw new ApiException(422, "Invalid", $"Namespace \"{name}\" is invalid: metadata.labels[{EnforceLabel}]: Invalid value: \"{Meta.Str(value)}\": must be one of privileged, baseline, restricted", name, "Namespace",
                [new FieldCause("FieldValueInvalid", $"metadata.labels[{EnforceLabel}]", $"Invalid value: \"{Meta.Str(value)}\": must be one of privileged, baseline, restricted")]);
        }
    }

    /// <summary>Refuses a new pod that its namespace's level does not allow.</summary>
    public static void Admit(string ns, IReadOnlyDictionary<string, string> namespaceLabels, string name, JsonObject pod)
    {
        if (ExemptNamespaces.Contains(ns))
        {
            return;
        }

        var level = namespaceLabels.GetValueOrDefault(EnforceLabel) ?? "baseline";
        if (level == "privileged" || pod["spec"] is not JsonObject spec)
        {
            return;
        }

        var violations = Baseline(spec);
        if (level == "restricted")
        {
            violations.AddRange(Restricted(spec));
        }

        if (violations.Count > 0)
        {
            var version = namespaceLabels.GetValueOrDefault(VersionLabel) ?? "latest";
            throw new ApiException(403, "Forbidden", $"pods \"{name}\" is forbidden: violates PodSecurity \"{level}:{version}\": {string.Join(", ", violations)}", name, "pods");
        }
    }

    private static List<string> Baseline(JsonObject spec)
    {
        var v = new List<string>();
        var hostNamespaces = new[] { "hostNetwork", "hostPID", "hostIPC" }.Where(f => spec[f]?.GetValueKind() == System.Text.Json.JsonValueKind.True).Select(f => f + "=true").ToList();
        if (hostNamespaces.Count > 0)
        {
            v.Add($"host namespaces ({string.Join(", ", hostNamespaces)})");
        }

        var containers = Containers(spec);
        Add(v, "privileged", containers.Where(c => c["securityContext"]?["privileged"]?.GetValueKind() == System.Text.Json.JsonValueKind.True).Select(Name), "must not set securityContext.privileged=true");

        var added = containers.SelectMany(c => Strings(c["securityContext"]?["capabilities"]?["add"]).Where(cap => !BaselineCapabilities.Contains(cap)).Select(cap => (Name(c), cap))).ToList();
        if (added.Count > 0)
        {
            v.Add($"non-default capabilities ({Subject(added.Select(a => a.Item1))} must not include {Quoted(added.Select(a => a.cap))} in securityContext.capabilities.add)");
        }

        var hostPaths = (spec["volumes"] as JsonArray ?? []).OfType<JsonObject>().Where(vol => vol["hostPath"] is not null).Select(vol => Meta.Str(vol["name"]) ?? "").ToList();
        if (hostPaths.Count > 0)
        {
            v.Add($"hostPath volumes ({(hostPaths.Count == 1 ? "volume" : "volumes")} {Quoted(hostPaths)})");
        }

        var ports = containers.SelectMany(c => (c["ports"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(p => (Container: Name(c), Port: p["hostPort"]?.GetValue<int>() ?? 0)).Where(p => p.Port != 0)).ToList();
        if (ports.Count > 0)
        {
            var names = ports.Select(p => p.Container).Distinct().ToList();
            v.Add($"hostPort ({Subject(names)} {(names.Count == 1 ? "uses" : "use")} {(ports.Count == 1 ? "hostPort" : "hostPorts")} {string.Join(", ", ports.Select(p => p.Port.ToString(CultureInfo.InvariantCulture)))})");
        }

        var podSeccomp = Meta.Str(spec["securityContext"]?["seccompProfile"]?["type"]);
        var unconfined = containers.Where(c => Meta.Str(c["securityContext"]?["seccompProfile"]?["type"]) == "Unconfined").Select(Name).ToList();
        if (podSeccomp == "Unconfined" || unconfined.Count > 0)
        {
            var who = podSeccomp == "Unconfined" ? ["pod", .. unconfined.Select(n => $"container \"{n}\"")] : unconfined.Select(n => $"container \"{n}\"").ToList();
            v.Add($"seccompProfile ({string.Join(" and ", who)} must not set securityContext.seccompProfile.type to \"Unconfined\")");
        }

        Add(v, "procMount", containers.Where(c => Meta.Str(c["securityContext"]?["procMount"]) is { } pm && pm != "Default").Select(Name), "must not set securityContext.procMount");
        return v;
    }

    private static IEnumerable<string> Restricted(JsonObject spec)
    {
        var containers = Containers(spec);
        var podContext = spec["securityContext"] as JsonObject;
        var badVolumes = (spec["volumes"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(vol => (Name: Meta.Str(vol["name"]) ?? "", Type: vol.Select(p => p.Key).FirstOrDefault(k => k != "name") ?? ""))
            .Where(vol => !RestrictedVolumeTypes.Contains(vol.Type)).ToList();
        if (badVolumes.Count > 0)
        {
            var types = badVolumes.Select(b => b.Type).Distinct().ToList();
            yield return $"restricted volume types ({(badVolumes.Count == 1 ? "volume" : "volumes")} {Quoted(badVolumes.Select(b => b.Name))} {(badVolumes.Count == 1 ? "uses" : "use")} restricted volume {(types.Count == 1 ? "type" : "types")} {Quoted(types)})";
        }

        var v = new List<string>();
        Add(v, "allowPrivilegeEscalation != false", containers.Where(c => c["securityContext"]?["allowPrivilegeEscalation"]?.GetValueKind() != System.Text.Json.JsonValueKind.False).Select(Name), "must set securityContext.allowPrivilegeEscalation=false");
        Add(v, "unrestricted capabilities", containers.Where(c => !Strings(c["securityContext"]?["capabilities"]?["drop"]).Contains("ALL")).Select(Name), "must set securityContext.capabilities.drop=[\"ALL\"]");
        var extra = containers.SelectMany(c => Strings(c["securityContext"]?["capabilities"]?["add"]).Where(cap => cap != "NET_BIND_SERVICE").Select(cap => (Name(c), cap))).ToList();
        if (extra.Count > 0)
        {
            v.Add($"unrestricted capabilities ({Subject(extra.Select(a => a.Item1))} must not include {Quoted(extra.Select(a => a.cap))} in securityContext.capabilities.add)");
        }

        var podNonRoot = podContext?["runAsNonRoot"]?.GetValueKind() == System.Text.Json.JsonValueKind.True;
        var notNonRoot = containers.Where(c => c["securityContext"]?["runAsNonRoot"]?.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.True => false,
            System.Text.Json.JsonValueKind.False => true,
            _ => !podNonRoot,
        }).Select(Name).ToList();
        if (notNonRoot.Count > 0)
        {
            v.Add($"runAsNonRoot != true (pod or {Subject(notNonRoot)} must set securityContext.runAsNonRoot=true)");
        }

        Add(v, "runAsUser=0", containers.Where(c => c["securityContext"]?["runAsUser"]?.GetValue<long>() == 0).Select(Name), "must not set runAsUser=0");
        var podSeccomp = Meta.Str(podContext?["seccompProfile"]?["type"]);
        var noSeccomp = containers.Where(c => (Meta.Str(c["securityContext"]?["seccompProfile"]?["type"]) ?? podSeccomp) is not ("RuntimeDefault" or "Localhost")).Select(Name).ToList();
        if (noSeccomp.Count > 0)
        {
            v.Add($"seccompProfile (pod or {Subject(noSeccomp)} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")");
        }

        foreach (var line in v)
        {
            yield return line;
        }
    }

    private static List<JsonObject> Containers(JsonObject spec) =>
        [.. new[] { "initContainers", "containers", "ephemeralContainers" }.SelectMany(k => (spec[k] as JsonArray ?? []).OfType<JsonObject>())];

    private static string Name(JsonObject container) => Meta.Str(container["name"]) ?? "";

    private static IEnumerable<string> Strings(JsonNode? node) => (node as JsonArray ?? []).Select(Meta.Str).OfType<string>();

    private static void Add(List<string> violations, string check, IEnumerable<string> containers, string must)
    {
        var names = containers.Distinct().ToList();
        if (names.Count > 0)
        {
            violations.Add($"{check} ({Subject(names)} {must})");
        }
    }

    private static string Subject(IEnumerable<string> containers)
    {
        var names = containers.Distinct().ToList();
        return $"{(names.Count == 1 ? "container" : "containers")} {Quoted(names)}";
    }

    private static string Quoted(IEnumerable<string> items) => string.Join(", ", items.Distinct().Select(i => $"\"{i}\""));
}
