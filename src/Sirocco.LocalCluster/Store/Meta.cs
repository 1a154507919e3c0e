using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Store;

/// <summary>Small helpers over the JSON of an object.</summary>
internal static class Meta
{
    /// <summary>The object's <c>metadata</c>, created when missing.</summary>
    public static JsonObject Of(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m)
        {
            return m;
        }

        var created = new JsonObject();
        obj["metadata"] = created;
        return created;
    }

    public static string? Get(JsonObject obj, string field) => Str(obj["metadata"]?[field]);

    /// <summary>A string value, or null when missing or not a string.</summary>
    public static string? Str(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The node at a dotted path (no escaping), or null.</summary>
    public static JsonNode? At(JsonNode? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            if (node is not JsonObject o)
            {
                return null;
            }

            node = o[part];
        }

        return node;
    }

    /// <summary>The object at <paramref name="key"/> in <paramref name="parent"/>, created when missing.</summary>
    public static JsonObject Child(JsonObject parent, string key)
    {
        if (parent[key] is JsonObject o)
        {
            return o;
        }

        var created = new JsonObject();
        parent[key] = created;
        return created;
    }

    /// <summary>The array at <paramref name="key"/>, created when missing.</summary>
    public static JsonArray Array(JsonObject parent, string key)
    {
        if (parent[key] is JsonArray a)
        {
            return a;
        }

        var created = new JsonArray();
        parent[key] = created;
        return created;
    }

    /// <summary>A value rendered for field selectors and messages: strings as they are, others as JSON.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };
}
