using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// A body value of the wrong type, told as the API server's Go decoder tells it:
/// <c>json: cannot unmarshal string into Go struct field LabelSelectorRequirement.spec.affinity…values of type []string</c>
/// (the innermost struct, the field's path from the object without list indexes, the field's Go type).
/// </summary>
internal static class GoJsonErrors
{
    /// <summary>The Go decoder's message for <paramref name="e"/>, or null when its path does not lead to a field of the model.</summary>
    public static string? Describe(JsonException e, Type model, JsonNode input)
    {
        if (e.Path is not { Length: > 1 } path || !path.StartsWith('$'))
        {
            return null;
        }

        var type = model;
        var owner = model;
        JsonNode? node = input;
        var fields = new List<string>();
        foreach (var (name, index) in Segments(path[1..]))
        {
            if (index is { } i)
            {
                type = Element(type);
                node = node is JsonArray a && i < a.Count ? a[i] : null;
                continue;
            }

            var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .FirstOrDefault(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name == name);
            if (property is null)
            {
                return null;
            }

            owner = type;
            fields.Add(name!);
            type = property.PropertyType;
            node = node is JsonObject o ? o[name!] : null;
        }

        return fields.Count == 0 ? null : $"json: cannot unmarshal {Kind(node)} into Go struct field {Struct(owner)}.{string.Join('.', fields)} of type {Go(type)}";
    }

    private static IEnumerable<(string? Name, int? Index)> Segments(string path)
    {
        var i = 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                yield return (path[(i + 1)..end], null);
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i, StringComparison.Ordinal);
                end = end < 0 ? path.Length : end;
                yield return (path[(i + 2)..end], null);
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                end = end < 0 ? path.Length : end;
                yield return (null, int.TryParse(path.AsSpan(i + 1, end - i - 1), out var n) ? n : 0);
                i = end + 1;
            }
            else
            {
                yield break;
            }
        }
    }

    private static Type Element(Type t) =>
        t.IsArray ? t.GetElementType()! : t.IsGenericType && t.GetGenericArguments() is [var item] ? item : typeof(object);

    private static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => "null",
    };

    private static string Struct(Type t)
    {
        var name = t.Name;
        foreach (var prefix in new[] { "Corev1", "V1", "V2" })
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length && char.IsUpper(name[prefix.Length]))
            {
                return name[prefix.Length..];
            }
        }

        return name;
    }

    private static string Go(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string))
        {
            return "string";
        }

        if (t == typeof(bool))
        {
            return "bool";
        }

        if (t == typeof(int))
        {
            return "int32";
        }

        if (t == typeof(long))
        {
            return "int64";
        }

        if (t == typeof(double))
        {
            return "float64";
        }

        if (t.IsGenericType && t.GetGenericArguments() is [var key, var value])
        {
            return $"map[{Go(key)}]{Go(value)}";
        }

        if (t.IsArray || (t.IsGenericType && t.GetGenericArguments().Length == 1))
        {
            return "[]" + Go(Element(t));
        }

        return t.Namespace == "k8s.Models" ? "v1." + Struct(t) : t.Name;
    }
}
