using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Store;

/// <summary>The fields each resource supports in field selectors, as the real API server names them.</summary>
internal static class FieldIndex
{
    private static readonly Dictionary<string, string[]> Extra = new(StringComparer.Ordinal)
    {
        ["pods"] = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
        ["events"] = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        ["secrets"] = ["type"],
        ["namespaces"] = ["status.phase"],
        ["nodes"] = ["spec.unschedulable"],
    };

    public static bool Supports(string resource, string field) =>
        field is "metadata.name" or "metadata.namespace" || (Extra.TryGetValue(resource, out var f) && f.Contains(field));

    public static Dictionary<string, string> Extract(string resource, JsonObject obj)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["metadata.name"] = Meta.Get(obj, "name") ?? "",
            ["metadata.namespace"] = Meta.Get(obj, "namespace") ?? "",
        };
        if (Extra.TryGetValue(resource, out var extra))
        {
            foreach (var f in extra)
            {
                fields[f] = f == "source"
                    ? Meta.Text(Meta.At(obj, "source.component"))
                    : f == "spec.unschedulable" || f == "spec.hostNetwork"
                        ? (Meta.At(obj, f) is JsonValue b && b.TryGetValue<bool>(out var flag) && flag ? "true" : "false")
                        : Meta.Text(Meta.At(obj, f));
            }
        }

        return fields;
    }
}
