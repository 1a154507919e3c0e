using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The scheduler's part: the one node fits a pod or the pod stays Pending with FailedScheduling.</summary>
internal sealed partial class PodRuntime
{
    private readonly Lock _scheduling = new();

    private void Schedule(StoredObject stored, JsonObject pod, bool first)
    {
        lock (_scheduling)
        {
            var current = _store.Get("pods", stored.Namespace, stored.Name);
            if (current is null || !string.IsNullOrEmpty(current.Fields.GetValueOrDefault("spec.nodeName")))
            {
                return;
            }

            var problem = Fit(pod);
            var key = stored.Key;
            var now = Time.Seconds(_cluster.Now);
            if (problem is not null)
            {
                bool known;
                lock (_gate)
                {
                    known = !_unschedulable.Add(key);
                }

                if (known && !first)
                {
                    return;
                }

                var message = $"0/1 nodes are available: {problem}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
                _store.TryUpdate("pods", stored.Namespace, stored.Name, p =>
                {
                    var status = Meta.Child(p, "status");
                    status["phase"] = "Pending";
                    status["conditions"] = new JsonArray(new JsonObject
                    {
                        ["type"] = "PodScheduled",
                        ["status"] = "False",
                        ["lastProbeTime"] = null,
                        ["lastTransitionTime"] = now,
                        ["reason"] = "Unschedulable",
                        ["message"] = message,
                    });
                    return p;
                });
                Events.Record(pod, "Warning", "FailedScheduling", message, component: "default-scheduler");
                return;
            }

            lock (_gate)
            {
                _unschedulable.Remove(key);
            }

            var node = _cluster.Options.NodeName;
            var bound = _store.TryUpdate("pods", stored.Namespace, stored.Name, p =>
            {
                var spec = Meta.Child(p, "spec");
                if (!string.IsNullOrEmpty(Meta.Str(spec["nodeName"])))
                {
                    return null;
                }

                spec["nodeName"] = node;
                var status = Meta.Child(p, "status");
                var conditions = new JsonArray(new JsonObject
                {
                    ["type"] = "PodScheduled",
                    ["status"] = "True",
                    ["lastProbeTime"] = null,
                    ["lastTransitionTime"] = now,
                });
                status["conditions"] = conditions;
                return p;
            });
            if (bound is not null)
            {
                // Count the pod on the node now, before the next pod is weighed.
                Reserve(Meta.Get(pod, "uid") ?? "", pod);
                Events.Record(pod, "Normal", "Scheduled", $"Successfully assigned {stored.Namespace}/{stored.Name} to {node}", component: "default-scheduler");
            }
        }
    }

    /// <summary>Why the pod does not fit the node, in the scheduler's words, or null when it fits.</summary>
    private string? Fit(JsonObject pod)
    {
        var nodeObj = _store.Get("nodes", "", _cluster.Options.NodeName);
        var labels = nodeObj?.Labels ?? new Dictionary<string, string>();
        var spec = pod["spec"] as JsonObject ?? [];
        if (spec["nodeSelector"] is JsonObject selector && selector.Any(kv => labels.GetValueOrDefault(kv.Key) != Meta.Str(kv.Value)))
        {
            return "1 node(s) didn't match Pod's node affinity/selector";
        }

        var terms = Meta.At(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms") as JsonArray;
        if (terms is { Count: > 0 } && !terms.OfType<JsonObject>().Any(t => TermMatches(t, labels, _cluster.Options.NodeName)))
        {
            return "1 node(s) didn't match Pod's node affinity/selector";
        }

        var (cpu, memory) = Requests(pod);
        decimal usedCpu = 0, usedMemory = 0;
        int count;
        lock (_gate)
        {
            foreach (var (c, m) in _bound.Values)
            {
                usedCpu += c;
                usedMemory += m;
            }

            count = _bound.Count;
        }

        var reasons = new List<string>();
        if (cpu + usedCpu > _cpu)
        {
            reasons.Add("1 Insufficient cpu");
        }

        if (memory + usedMemory > _memory)
        {
            reasons.Add("1 Insufficient memory");
        }

        if (count + 1 > NodeInfo.MaxPods)
        {
            reasons.Add("1 Too many pods");
        }

        return reasons.Count > 0 ? string.Join(", ", reasons) : null;
    }

    private static bool TermMatches(JsonObject term, IReadOnlyDictionary<string, string> labels, string nodeName)
    {
        var expressions = (term["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>().Select(e => (e, labels));
        var fields = (term["matchFields"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(e => (e, (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { ["metadata.name"] = nodeName }));
        var all = expressions.Concat(fields).ToList();
        if (all.Count == 0)
        {
            return false;
        }

        foreach (var (e, values) in all)
        {
            var key = Meta.Str(e["key"]) ?? "";
            var op = Meta.Str(e["operator"]) ?? "";
            var set = (e["values"] as JsonArray ?? []).Select(v => Meta.Str(v) ?? "").ToList();
            var has = values.TryGetValue(key, out var value);
            var ok = op switch
            {
                "In" => has && set.Contains(value!),
                "NotIn" => !has || !set.Contains(value!),
                "Exists" => has,
                "DoesNotExist" => !has,
                "Gt" => has && long.TryParse(value, out var gv) && set.Count == 1 && long.TryParse(set[0], out var g) && gv > g,
                "Lt" => has && long.TryParse(value, out var lv) && set.Count == 1 && long.TryParse(set[0], out var l) && lv < l,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The pod's effective requests: the larger of the sum over containers and the largest init container.</summary>
    private static (decimal Cpu, decimal Memory) Requests(JsonObject pod)
    {
        static (decimal, decimal) Of(JsonNode? c)
        {
            var requests = c?["resources"]?["requests"] as JsonObject;
            decimal Parse(string key) => requests?[key] is { } q ? Quantity.Parse(Meta.Text(q)) : 0;
            return (Parse("cpu"), Parse("memory"));
        }

        decimal cpu = 0, memory = 0;
        foreach (var c in pod["spec"]?["containers"] as JsonArray ?? [])
        {
            var (a, b) = Of(c);
            cpu += a;
            memory += b;
        }

        foreach (var c in pod["spec"]?["initContainers"] as JsonArray ?? [])
        {
            var (a, b) = Of(c);
            cpu = Math.Max(cpu, a);
            memory = Math.Max(memory, b);
        }

        return (cpu, memory);
    }

}
