using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco.Kubernetes.Internal;

/// <summary>Copies and converts the plain dictionaries that stand for JSON objects (pod_template_dict).</summary>
internal static class JsonCopy
{
    public static Dictionary<string, object?> Dictionary(IDictionary<string, object?> source)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in source)
        {
            copy[k] = Value(v);
        }

        return copy;
    }

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        JsonElement e => JsonNode.Parse(e.GetRawText()),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        IDictionary<string, object?> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        IDictionary<string, string> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
        System.Collections.IEnumerable list => new JsonArray([.. list.Cast<object?>().Select(ToNode)]),
        _ => JsonNode.Parse(k8s.KubernetesJson.Serialize(value)),
    };

    private static object? Value(object? v) => v switch
    {
        IDictionary<string, object?> d => Dictionary(d),
        IList<object?> l => l.Select(Value).ToList(),
        _ => v,
    };
}
