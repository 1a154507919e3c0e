using System.Globalization;
using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>Writes core/v1 Events about pods, counting repeats as the real event recorder does.</summary>
internal sealed class EventRecorder
{
    private readonly ClusterContext _cluster;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private long _sequence;

    public EventRecorder(ClusterContext cluster) => _cluster = cluster;

    public void Record(JsonObject pod, string type, string reason, string message, string? fieldPath = null, string component = "kubelet")
    {
        var meta = Meta.Of(pod);
        var ns = Meta.Str(meta["namespace"]) ?? "default";
        var podName = Meta.Str(meta["name"]) ?? "";
        var uid = Meta.Str(meta["uid"]) ?? "";
        var now = _cluster.Now;
        var dedupe = $"{uid}|{fieldPath}|{type}|{reason}|{message}|{component}";
        string? existing;
        lock (_gate)
        {
            _names.TryGetValue(dedupe, out existing);
        }

        if (existing is not null)
        {
            var updated = _cluster.Store.TryUpdate("events", ns, existing, e =>
            {
                e["count"] = ((int?)e["count"] ?? 1) + 1;
                e["lastTimestamp"] = Time.Seconds(now);
                return e;
            });
            if (updated is not null)
            {
                return;
            }
        }

        var seq = Interlocked.Increment(ref _sequence);
        var name = $"{podName}.{(now.UtcTicks + seq).ToString("x", CultureInfo.InvariantCulture)}";
        var involved = new JsonObject
        {
            ["kind"] = "Pod",
            ["namespace"] = ns,
            ["name"] = podName,
            ["uid"] = uid,
            ["apiVersion"] = "v1",
            ["resourceVersion"] = Meta.Str(meta["resourceVersion"]),
        };
        if (fieldPath is not null)
        {
            involved["fieldPath"] = fieldPath;
        }

        var ev = new JsonObject
        {
            ["kind"] = "Event",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["uid"] = Guid.NewGuid().ToString(),
                ["creationTimestamp"] = Time.Seconds(now),
            },
            ["involvedObject"] = involved,
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = component == "kubelet"
                ? new JsonObject { ["component"] = component, ["host"] = _cluster.Options.NodeName }
                : new JsonObject { ["component"] = component },
            ["firstTimestamp"] = Time.Seconds(now),
            ["lastTimestamp"] = Time.Seconds(now),
            ["count"] = 1,
            ["type"] = type,
            ["eventTime"] = null,
            ["reportingComponent"] = component,
            ["reportingInstance"] = component == "kubelet" ? _cluster.Options.NodeName : "",
        };
        ev.Remove("eventTime");
        try
        {
            _cluster.Store.Create("events", ev);
            lock (_gate)
            {
                _names[dedupe] = name;
            }
        }
        catch (ApiException)
        {
            // Namespace gone or a name clash: an event is best effort, as in Kubernetes.
        }
    }

    /// <summary>Forgets the repeat counters of a deleted pod.</summary>
    public void Forget(string uid)
    {
        lock (_gate)
        {
            foreach (var key in _names.Keys.Where(k => k.StartsWith(uid + "|", StringComparison.Ordinal)).ToList())
            {
                _names.Remove(key);
            }
        }
    }
}
