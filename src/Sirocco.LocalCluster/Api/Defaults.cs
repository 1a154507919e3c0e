using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>The defaults the real API server fills in on create, for the resources served here.</summary>
internal static class Defaults
{
    public static void Apply(string resource, JsonObject obj)
    {
        switch (resource)
        {
            case "pods":
                Pod(obj);
                break;
            case "secrets":
                obj["type"] ??= "Opaque";
                break;
            case "events":
                // Fields the real server always writes, empty when not given.
                obj["source"] ??= new JsonObject();
                foreach (var time in new[] { "firstTimestamp", "lastTimestamp", "eventTime" })
                {
                    if (!obj.ContainsKey(time))
                    {
                        obj[time] = null;
                    }
                }

                obj["reportingComponent"] ??= "";
                obj["reportingInstance"] ??= "";
                MicroTime(obj, "eventTime");
                if (obj["series"] is JsonObject series)
                {
                    MicroTime(series, "lastObservedTime");
                }

                break;
            case "namespaces":
                var name = Meta.Get(obj, "name") ?? "";
                Meta.Child(Meta.Of(obj), "labels")["kubernetes.io/metadata.name"] = name;
                Meta.Child(obj, "spec")["finalizers"] ??= new JsonArray("kubernetes");
                Meta.Child(obj, "status")["phase"] ??= "Active";
                break;
        }
    }

    /// <summary>A MicroTime field written as the real server writes it: RFC 3339 with six fractional digits.</summary>
    private static void MicroTime(JsonObject obj, string key)
    {
        if (Meta.Str(obj[key]) is { } text && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t))
        {
            obj[key] = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static void Pod(JsonObject pod)
    {
        var spec = Meta.Child(pod, "spec");
        if (spec["imagePullSecrets"] is JsonArray pullSecrets)
        {
            // An empty name is not written back, as the real server omits it.
            foreach (var reference in pullSecrets.OfType<JsonObject>().Where(r => Meta.Str(r["name"]) is ""))
            {
                reference.Remove("name");
            }
        }

        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["securityContext"] ??= new JsonObject();
        spec["schedulerName"] ??= "default-scheduler";
        spec["serviceAccountName"] ??= Meta.Str(spec["serviceAccount"]) ?? "default";
        spec["serviceAccount"] ??= Meta.Str(spec["serviceAccountName"]);
        spec["enableServiceLinks"] ??= true;
        spec["priority"] ??= 0;
        spec["preemptionPolicy"] ??= "PreemptLowerPriority";
        DefaultTolerations(spec);

        foreach (var list in new[] { "initContainers", "containers" })
        {
            if (spec[list] is not JsonArray containers)
            {
                continue;
            }

            foreach (var c in containers.OfType<JsonObject>())
            {
                Container(c);
            }
        }

        ServiceAccountVolume(spec);

        if (spec["volumes"] is JsonArray volumes)
        {
            foreach (var v in volumes.OfType<JsonObject>())
            {
                if (v.Count == 1 && v.ContainsKey("name"))
                {
                    // A volume without a source is an emptyDir.
                    v["emptyDir"] = new JsonObject();
                }

                if (v["secret"] is JsonObject s)
                {
                    s["defaultMode"] ??= 420;
                }

                if (v["configMap"] is JsonObject cm)
                {
                    cm["defaultMode"] ??= 420;
                }

                if (v["downwardAPI"] is JsonObject d)
                {
                    d["defaultMode"] ??= 420;
                    foreach (var item in (d["items"] as JsonArray ?? []).OfType<JsonObject>())
                    {
                        if (item["fieldRef"] is JsonObject f)
                        {
                            f["apiVersion"] ??= "v1";
                        }

                        if (item["resourceFieldRef"] is JsonObject r)
                        {
                            r["divisor"] ??= "0";
                        }
                    }
                }

                if (v["projected"] is JsonObject p)
                {
                    p["defaultMode"] ??= 420;
                }

                if (v["hostPath"] is JsonObject h)
                {
                    h["type"] ??= "";
                }
            }
        }
    }

    /// <summary>The not-ready and unreachable tolerations of five minutes, which admission adds on create and update.</summary>
    public static void DefaultTolerations(JsonObject spec)
    {
        if (spec["tolerations"] is not JsonArray tolerations)
        {
            tolerations = [];
            spec["tolerations"] = tolerations;
        }

        foreach (var taint in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            if (!tolerations.Any(t => Meta.Str(t?["key"]) == taint))
            {
                tolerations.Add(new JsonObject
                {
                    ["key"] = taint,
                    ["operator"] = "Exists",
                    ["effect"] = "NoExecute",
                    ["tolerationSeconds"] = 300,
                });
            }
        }
    }

    private const string TokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>
    /// What the ServiceAccount admission plugin adds: a projected <c>kube-api-access-*</c> volume with the token, the
    /// cluster's CA and the namespace, mounted read-only in every container, unless the pod opts out or a container
    /// already mounts something there.
    /// </summary>
    private static void ServiceAccountVolume(JsonObject spec)
    {
        if (spec["automountServiceAccountToken"] is JsonValue v && v.TryGetValue<bool>(out var automount) && !automount)
        {
            return;
        }

        var containers = (spec["containers"] as JsonArray ?? []).Concat(spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (containers.Any(c => (c["volumeMounts"] as JsonArray ?? []).Any(m => Meta.Str(m?["mountPath"]) == TokenMountPath)))
        {
            return;
        }

        const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var name = "kube-api-access-" + string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(Alphabet.Length)];
            }
        });
        Meta.Array(spec, "volumes").Add(new JsonObject
        {
            ["name"] = name,
            ["projected"] = new JsonObject
            {
                ["sources"] = new JsonArray(
                    new JsonObject { ["serviceAccountToken"] = new JsonObject { ["expirationSeconds"] = 3607, ["path"] = "token" } },
                    new JsonObject { ["configMap"] = new JsonObject { ["name"] = "kube-root-ca.crt", ["items"] = new JsonArray(new JsonObject { ["key"] = "ca.crt", ["path"] = "ca.crt" }) } },
                    new JsonObject { ["downwardAPI"] = new JsonObject { ["items"] = new JsonArray(new JsonObject { ["path"] = "namespace", ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = "metadata.namespace" } }) } }),
                ["defaultMode"] = 420,
            },
        });
        foreach (var c in containers)
        {
            Meta.Array(c, "volumeMounts").Add(new JsonObject { ["name"] = name, ["readOnly"] = true, ["mountPath"] = TokenMountPath });
        }
    }

    private static void Container(JsonObject c)
    {
        c["terminationMessagePath"] ??= "/dev/termination-log";
        c["terminationMessagePolicy"] ??= "File";
        c["resources"] ??= new JsonObject();
        foreach (var kind in (string[])["livenessProbe", "readinessProbe", "startupProbe"])
        {
            if (c[kind] is JsonObject probe)
            {
                Probe(probe);
            }
        }

        if (c["lifecycle"] is JsonObject lifecycle)
        {
            foreach (var hook in (string[])["postStart", "preStop"])
            {
                if (lifecycle[hook]?["httpGet"] is JsonObject get)
                {
                    HttpGet(get);
                }
            }
        }

        var image = Meta.Str(c["image"]) ?? "";
        c["imagePullPolicy"] ??= ImagePullPolicy(image);
        if (c["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>())
            {
                p["protocol"] ??= "TCP";
            }
        }

        if (c["env"] is JsonArray env)
        {
            foreach (var e in env.OfType<JsonObject>())
            {
                if (e["valueFrom"]?["fieldRef"] is JsonObject f)
                {
                    f["apiVersion"] ??= "v1";
                }

                if (e["valueFrom"]?["resourceFieldRef"] is JsonObject rf)
                {
                    rf["divisor"] ??= "0";
                }
            }
        }

        // Like the real server: a limit without a request makes the request equal to the limit.
        if (c["resources"] is JsonObject r && r["limits"] is JsonObject limits)
        {
            var requests = Meta.Child(r, "requests");
            foreach (var (k, v) in limits)
            {
                requests[k] ??= v?.DeepClone();
            }
        }
    }

    /// <summary>The probe defaults the API server writes: 1 s timeout, every 10 s, 1 success, 3 failures.</summary>
    private static void Probe(JsonObject probe)
    {
        probe["timeoutSeconds"] ??= 1;
        probe["periodSeconds"] ??= 10;
        probe["successThreshold"] ??= 1;
        probe["failureThreshold"] ??= 3;
        if (probe["httpGet"] is JsonObject get)
        {
            HttpGet(get);
        }
    }

    private static void HttpGet(JsonObject get)
    {
        get["path"] ??= "/";
        get["scheme"] ??= "HTTP";
    }

    /// <summary><c>Always</c> for <c>:latest</c> or no tag, <c>IfNotPresent</c> otherwise (a digest counts as a tag).</summary>
    public static string ImagePullPolicy(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return "IfNotPresent";
        }

        var lastSlash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', lastSlash + 1);
        return colon < 0 || image[(colon + 1)..] == "latest" ? "Always" : "IfNotPresent";
    }

    /// <summary>Whether two quantities are equal, compared exactly: a valid quantity (<c>1e308</c>) may be far beyond decimal's range.</summary>
    private static bool SameQuantity(string a, string b) =>
        GoQuantity.TryParse(a, out var x) && GoQuantity.TryParse(b, out var y) ? x.CompareTo(y) == 0 : a == b;

    /// <summary>The pod's QoS class from its containers' requests and limits.</summary>
    public static string QosClass(JsonObject spec)
    {
        var containers = (spec["containers"] as JsonArray ?? []).Concat(spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var any = false;
        var guaranteed = true;
        foreach (var c in containers)
        {
            var requests = c["resources"]?["requests"] as JsonObject;
            var limits = c["resources"]?["limits"] as JsonObject;
            // Only cpu and memory count (extended resources do not make a pod Burstable).
            if (new[] { "cpu", "memory" }.Any(r => requests?[r] is not null || limits?[r] is not null))
            {
                any = true;
            }

            foreach (var res in new[] { "cpu", "memory" })
            {
                var l = Meta.Text(limits?[res]);
                var q = Meta.Text(requests?[res]);
                if (l.Length == 0 || q.Length == 0 || !SameQuantity(l, q))
                {
                    guaranteed = false;
                }
            }
        }

        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }
}
