using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sirocco.Fidelity.Tests.Corpus;

/// <summary>
/// Takes out of an answer only what must differ between two clusters (uids, timestamps, resourceVersions, node and
/// pod addresses, generated name suffixes, the kubelet's progress), plus the documented v1.20 gaps, each counted by name.
/// </summary>
public static partial class Normalizer
{
    /// <summary>v1.20 mounts the service account token as a secret volume "default-token-*"; Kubernetes 1.22+ (and
    /// the local cluster) as a projected volume "kube-api-access-*". Both are dropped.</summary>
    public const string TokenVolume = "token-volume";

    /// <summary>v1.20 makes a token secret per service account and lists it in the account's <c>secrets</c>; 1.24+
    /// (and the local cluster) do not. Dropped.</summary>
    public const string TokenSecrets = "token-secrets";

    /// <summary>The <c>kubernetes.io/metadata.name</c> label on namespaces came in 1.21. Dropped.</summary>
    public const string NamespaceNameLabel = "namespace-name-label";

    /// <summary>v1.20 ends a refused pod update with a Go-struct diff of the spec and lists fewer mutable fields than
    /// newer versions (which the local cluster follows); only the shared first sentence is compared.</summary>
    public const string PodUpdateMessage = "pod-update-message";

    /// <summary>The scheduler's words changed after v1.20 ("didn't match node selector" became "didn't match Pod's
    /// node affinity/selector", with a preemption note); only the message's start is compared.</summary>
    public const string SchedulerMessage = "scheduler-message";

    /// <summary>A body that does not decode: the real server quotes its Go decoder's error (byte offsets, Go type
    /// names); only the part before the decoder's own words is compared.</summary>
    public const string DecoderText = "decoder-text";

    /// <summary>An invalid value that is a whole Go struct is printed by v1.20 with its fields and memory addresses;
    /// only the explanation after it is compared.</summary>
    public const string GoValue = "go-value";

    /// <summary>Errors about several keys of one map come in a random order from the real server; the list in an
    /// Invalid message is compared sorted (the causes are compared in full anyway).</summary>
    public const string ErrorOrder = "error-order";

    public static JsonNode? Normalize(JsonNode? body, Req req, ISet<string> applied)
    {
        if (body is null)
        {
            return null;
        }

        if (req.Events > 0 && body is JsonArray events)
        {
            var ordered = req.Unordered ? events.OrderBy(e => e?["object"]?["metadata"]?["name"]?.GetValue<string>(), StringComparer.Ordinal) : events.AsEnumerable();
            return new JsonArray([.. ordered.Select(e => (JsonNode?)new JsonObject
            {
                ["type"] = e?["type"]?.DeepClone(),
                ["object"] = Normalize(e?["object"], req with { Events = 0 }, applied),
            })]);
        }

        if (body is not JsonObject o)
        {
            return body.DeepClone();
        }

        var kind = o["kind"]?.GetValue<string>();
        if (kind == "Status")
        {
            return Status(o, applied);
        }

        if (kind is not null && kind.EndsWith("List", StringComparison.Ordinal) && o["items"] is JsonArray items)
        {
            var list = (JsonObject)o.DeepClone();
            list.Remove("metadata");
            var normalized = items.Where(i => !IsTokenSecret(i, applied)).Select(i => Object(i!.AsObject(), req, applied, itemKind: kind[..^4]))
                .OrderBy(i => i["metadata"]?["namespace"]?.GetValue<string>(), StringComparer.Ordinal)
                .ThenBy(i => i["metadata"]?["name"]?.GetValue<string>(), StringComparer.Ordinal);
            list["items"] = new JsonArray([.. normalized]);
            return list;
        }

        return Object(o, req, applied, kind);
    }

    private static bool IsTokenSecret(JsonNode? item, ISet<string> applied)
    {
        if (item?["type"]?.GetValue<string>() == "kubernetes.io/service-account-token")
        {
            applied.Add(TokenSecrets);
            return true;
        }

        return false;
    }

    private static JsonObject Status(JsonObject s, ISet<string> applied)
    {
        var r = new JsonObject
        {
            ["kind"] = "Status",
            ["status"] = s["status"]?.DeepClone(),
            ["message"] = Message(s["message"]?.GetValue<string>(), applied),
            ["reason"] = s["reason"]?.DeepClone(),
            ["code"] = s["code"]?.DeepClone(),
        };
        if (s["details"] is JsonObject d)
        {
            var details = new JsonObject();
            foreach (var key in new[] { "name", "group", "kind", "retryAfterSeconds" })
            {
                if (d[key] is { } v)
                {
                    details[key] = v.DeepClone();
                }
            }

            if (d["causes"] is JsonArray causes)
            {
                details["causes"] = new JsonArray([.. causes.Select(c =>
                    {
                        var cause = c!.DeepClone().AsObject();
                        cause["message"] = Message(cause["message"]?.GetValue<string>(), applied);
                        return (JsonNode)cause;
                    })
                    .OrderBy(c => c["field"]?.GetValue<string>(), StringComparer.Ordinal)
                    .ThenBy(c => c["message"]?.GetValue<string>(), StringComparer.Ordinal)]);
            }

            r["details"] = details;
        }

        return r;
    }

    private static string? Message(string? m, ISet<string> applied)
    {
        if (m is null)
        {
            return null;
        }

        m = TooOld().Replace(m, "too old resource version: N (N)");
        if (GoStruct().IsMatch(m))
        {
            applied.Add(GoValue);
            var reason = m.LastIndexOf("}: ", StringComparison.Ordinal);
            m = "Invalid value: <go value>" + (reason >= 0 ? m[(reason + 1)..] : "");
        }

        var open = m.IndexOf(" is invalid: [", StringComparison.Ordinal);
        if (open >= 0 && m.EndsWith(']'))
        {
            var start = open + " is invalid: [".Length;
            var items = ErrorItem().Split(m[start..^1]).Select(i => GoStruct().IsMatch(i) ? GoStructInItem().Replace(i, "<go value>") : i).ToList();
            var sorted = items.Order(StringComparer.Ordinal).ToList();
            if (!items.SequenceEqual(sorted))
            {
                applied.Add(ErrorOrder);
            }

            m = m[..start] + string.Join(", ", sorted) + "]";
        }
        m = Uid().Replace(m, "<uid>");
        m = InRecord().Replace(m, "in record (N)");
        foreach (var (marker, rule) in new[]
        {
            ("pod updates may not change fields other than", PodUpdateMessage),
            (" cannot be handled as a ", DecoderText),
            ("json parse error: ", DecoderText),
            ("0/1 nodes are available: 1 node(s) didn't match", SchedulerMessage),
        })
        {
            var at = m.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                applied.Add(rule);
                return m[..(at + marker.Length)] + "…";
            }
        }

        return m;
    }

    private static JsonObject Object(JsonObject source, Req req, ISet<string> applied, string? itemKind)
    {
        var o = (JsonObject)source.DeepClone();
        var kind = o["kind"]?.GetValue<string>() ?? itemKind;
        if (o["metadata"] is JsonObject meta)
        {
            foreach (var key in new[] { "uid", "resourceVersion", "creationTimestamp", "managedFields", "selfLink" })
            {
                meta.Remove(key);
            }

            if (meta["deletionTimestamp"] is not null)
            {
                meta["deletionTimestamp"] = "<time>";
            }

            if (meta["generateName"]?.GetValue<string>() is { } prefix && meta["name"]?.GetValue<string>() is { } name && name.StartsWith(prefix, StringComparison.Ordinal))
            {
                meta["name"] = prefix + "<random>";
            }

            if (meta["ownerReferences"] is JsonArray owners)
            {
                foreach (var owner in owners.OfType<JsonObject>())
                {
                    owner["uid"] = "<uid>";
                }
            }

            if (kind == "Namespace" && meta["labels"] is JsonObject labels && labels.Remove("kubernetes.io/metadata.name"))
            {
                applied.Add(NamespaceNameLabel);
                if (labels.Count == 0)
                {
                    meta.Remove("labels");
                }
            }
        }

        switch (kind)
        {
            case "Pod":
                Pod(o, req, applied);
                break;
            case "ServiceAccount":
                if (o["secrets"] is JsonArray secrets)
                {
                    foreach (var s in secrets.Where(s => TokenSecretName().IsMatch(s?["name"]?.GetValue<string>() ?? "")).ToList())
                    {
                        secrets.Remove(s);
                        applied.Add(TokenSecrets);
                    }

                    if (secrets.Count == 0)
                    {
                        o.Remove("secrets");
                    }
                }

                break;
            case "ConfigMap" when (o["metadata"]?["name"]?.GetValue<string>()) == "kube-root-ca.crt":
                // Each cluster's own certificate authority.
                o["data"] = new JsonObject { ["ca.crt"] = "<ca>" };
                o["metadata"]?.AsObject().Remove("annotations");
                break;
            case "Event":
                foreach (var key in new[] { "firstTimestamp", "lastTimestamp", "eventTime" })
                {
                    if (o[key] is JsonValue)
                    {
                        o[key] = "<time>";
                    }
                }

                break;
        }

        return o;
    }

    private static void Pod(JsonObject pod, Req req, ISet<string> applied)
    {
        if (pod["spec"] is JsonObject spec)
        {
            // The node's name differs, and whether a pod is bound yet when it is read depends on each scheduler's speed.
            if (spec["nodeName"] is not null && req.WithStatus)
            {
                spec["nodeName"] = "<node>";
            }
            else
            {
                spec.Remove("nodeName");
            }

            if (spec["volumes"] is JsonArray volumes)
            {
                var tokens = volumes.Where(v => v?["name"]?.GetValue<string>() is { } n && TokenVolumeName().IsMatch(n)).ToList();
                foreach (var v in tokens)
                {
                    volumes.Remove(v);
                    applied.Add(TokenVolume);
                }

                var names = tokens.Select(v => v!["name"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
                foreach (var list in new[] { "containers", "initContainers" })
                {
                    foreach (var c in (spec[list] as JsonArray ?? []).OfType<JsonObject>())
                    {
                        if (c["volumeMounts"] is JsonArray mounts)
                        {
                            foreach (var m in mounts.Where(m => names.Contains(m?["name"]?.GetValue<string>() ?? "")).ToList())
                            {
                                mounts.Remove(m);
                            }

                            if (mounts.Count == 0)
                            {
                                c.Remove("volumeMounts");
                            }
                        }
                    }
                }

                if (volumes.Count == 0)
                {
                    spec.Remove("volumes");
                }
            }
        }

        if (pod["status"] is not JsonObject status)
        {
            return;
        }

        if (!req.WithStatus)
        {
            var kept = new JsonObject { ["qosClass"] = status["qosClass"]?.DeepClone() };
            if (req.Method == "POST")
            {
                kept["phase"] = status["phase"]?.DeepClone();
            }

            pod["status"] = kept;
            return;
        }

        foreach (var key in new[] { "startTime", "hostIP", "podIP", "podIPs", "containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses" })
        {
            if (status[key] is not null)
            {
                status[key] = "<kubelet>";
            }
        }

        foreach (var c in (status["conditions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            c["message"] = Message(c["message"]?.GetValue<string>(), applied);
            foreach (var key in new[] { "lastProbeTime", "lastTransitionTime" })
            {
                if (c[key] is JsonValue)
                {
                    c[key] = "<time>";
                }
            }
        }
    }

    [GeneratedRegex(@"Invalid value: (\[\])?(core|v1)\.[A-Za-z]+\{")]
    private static partial Regex GoStruct();

    [GeneratedRegex(@"(\[\])?(core|v1)\.[A-Za-z]+\{.*\}(?=: )")]
    private static partial Regex GoStructInItem();

    [GeneratedRegex(@", (?=[a-z][A-Za-z0-9.\[\]'/_ -]*: )")]
    private static partial Regex ErrorItem();

    [GeneratedRegex(@"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Uid();

    [GeneratedRegex(@"in record \(\d+\)")]
    private static partial Regex InRecord();

    [GeneratedRegex(@"too old resource version: \d+ \(\d+\)")]
    private static partial Regex TooOld();

    [GeneratedRegex(@"^[a-z0-9.-]+-token-[a-z0-9]{5}$")]
    private static partial Regex TokenSecretName();

    [GeneratedRegex(@"^(default-token-|kube-api-access-)[a-z0-9]{5}$")]
    private static partial Regex TokenVolumeName();
}
