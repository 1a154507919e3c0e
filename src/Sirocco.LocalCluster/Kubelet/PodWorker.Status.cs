using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The status side of a pod: its phase, conditions and container statuses, computed and written to the object.</summary>
internal sealed partial class PodWorker
{
    /// <summary>Writes the pod's status, computed from the containers, to the API object.</summary>
    public void PublishStatus()
    {
        JsonObject status;
        lock (_gate)
        {
            status = BuildStatus();
        }

        _cluster.Store.TryUpdate("pods", Namespace, Name, p =>
        {
            if (Meta.Get(p, "uid") != Uid)
            {
                return null;
            }

            var old = p["status"] as JsonObject;
            var scheduled = (old?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(x => Meta.Str(x["type"]) == "PodScheduled");
            if (scheduled is not null)
            {
                ((JsonArray)status["conditions"]!).Add(scheduled.DeepClone());
            }

            status["qosClass"] = old?["qosClass"]?.DeepClone();
            if (JsonNode.DeepEquals(old, status))
            {
                // Nothing changed: no write, no watch event.
                return null;
            }

            p["status"] = status.DeepClone();
            return p;
        });
    }

    private JsonObject BuildStatus()
    {
        var now = Time.Seconds(_cluster.Now);
        var initDone = _init.TrueForAll(c => c.Succeeded);
        string phase;
        string? reason = null;
        string? message = null;
        var allMainTerminated = _main.TrueForAll(c => c.State == "terminated");
        var policy = _pod.Spec.RestartPolicy ?? "Always";
        if (_deadlineExceeded)
        {
            phase = "Failed";
            reason = "DeadlineExceeded";
            message = "Pod was active on the node longer than the specified deadline";
        }
        else if (_evictedMessage is not null && Containers.All(c => c.State != "running"))
        {
            phase = "Failed";
            reason = "Evicted";
            message = _evictedMessage;
        }
        else if (_initFailed && (policy == "Never" || Finished))
        {
            phase = "Failed";
        }
        else if (!initDone)
        {
            phase = "Pending";
        }
        else if (allMainTerminated && (Finished || policy != "Always"))
        {
            phase = _main.TrueForAll(c => c.ExitCode == 0) ? "Succeeded" : "Failed";
        }
        else if (_main.Exists(c => c.State != "waiting" || c.RestartCount > 0 || c.LastTerminated is not null))
        {
            phase = Finished && _deleting ? (_main.TrueForAll(c => c.State == "terminated" && c.ExitCode == 0) ? "Succeeded" : "Failed") : "Running";
        }
        else
        {
            phase = Finished && _deleting ? "Failed" : "Pending";
        }

        if (_evictedMessage is not null && reason is null)
        {
            // The reason is published the moment the pod is evicted, before its containers are killed (an operator
            // that sees its container end reads why); the phase turns Failed once they have stopped.
            reason = "Evicted";
            message = _evictedMessage;
        }

        var terminal = phase is "Succeeded" or "Failed";
        var conditions = new JsonArray();
        JsonObject Condition(string type, bool value, string? why = null, string? text = null)
        {
            var s = value ? "True" : "False";
            if (!_transitions.TryGetValue(type, out var t) || t.Status != s)
            {
                t = (s, now);
                _transitions[type] = t;
            }

            var o = new JsonObject { ["type"] = type, ["status"] = s, ["lastProbeTime"] = null, ["lastTransitionTime"] = t.Time };
            if (why is not null)
            {
                o["reason"] = why;
            }

            if (text is not null)
            {
                o["message"] = text;
            }

            return o;
        }

        conditions.Add(Condition("PodReadyToStartContainers", _sandboxReady && !terminal));
        var incompleteInit = _init.Where(c => !c.Succeeded).Select(c => c.Name).ToList();
        conditions.Add(incompleteInit.Count == 0
            ? Condition("Initialized", true)
            : Condition("Initialized", false, "ContainersNotInitialized", $"containers with incomplete status: [{string.Join(" ", incompleteInit)}]"));
        var unready = _main.Where(c => c.State != "running").Select(c => c.Name).ToList();
        foreach (var type in new[] { "Ready", "ContainersReady" })
        {
            conditions.Add(terminal
                ? Condition(type, false, "PodCompleted")
                : unready.Count == 0
                    ? Condition(type, true)
                    : Condition(type, false, "ContainersNotReady", $"containers with unready status: [{string.Join(" ", unready)}]"));
        }

        var status = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = conditions,
        };
        if (reason is not null)
        {
            status["reason"] = reason;
            status["message"] = message;
        }

        status["hostIP"] = "127.0.0.1";
        status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" });
        var podIp = _network?.PodAddress ?? "127.0.0.1";
        status["podIP"] = podIp;
        status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
        status["startTime"] = Time.Seconds(_startTime);
        if (_init.Count > 0)
        {
            status["initContainerStatuses"] = new JsonArray([.. _init.Select(c => (JsonNode)c.StatusJson())]);
        }

        status["containerStatuses"] = new JsonArray([.. _main.Select(c => (JsonNode)c.StatusJson())]);
        return status;
    }
}
