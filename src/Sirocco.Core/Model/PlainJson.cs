using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sirocco;

/// <summary>JSON as the plain values templates and task arguments use: dictionaries, lists, strings, longs, doubles, booleans, null.</summary>
public static class PlainJson
{
    /// <summary>The plain value of <paramref name="node"/> (objects as <see cref="Dictionary{TKey, TValue}"/> of string keys, arrays as lists).</summary>
    public static object? From(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => From(kv.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(From).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when v.TryGetValue<long>(out var l) => l,
            JsonValueKind.Number => v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };

    /// <summary>
    /// An option given as JSON that may be text or structure (a connection extra, a backend kwarg): a string's text,
    /// any other node's JSON, null for none.
    /// </summary>
    public static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };
}
