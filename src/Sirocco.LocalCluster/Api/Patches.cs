using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>The three patch formats of the Kubernetes API: JSON merge, strategic merge and JSON patch.</summary>
internal static class Patches
{
    // Lists that strategic merge patches merge element by element, and the key that identifies an element.
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["imagePullSecrets"] = "name",
        ["secrets"] = "name",
        ["volumeMounts"] = "mountPath",
        ["ports"] = "containerPort",
        ["conditions"] = "type",
        ["ownerReferences"] = "uid",
        ["hostAliases"] = "ip",
        ["containerStatuses"] = "name",
        ["initContainerStatuses"] = "name",
    };

    // Primitive lists merged as sets.
    private static readonly HashSet<string> MergedPrimitiveLists = new(StringComparer.Ordinal) { "finalizers" };

    public static JsonObject Apply(string contentType, JsonObject target, string body)
    {
        var mediaType = contentType.Split(';')[0].Trim();
        JsonNode? patch;
        try
        {
            // A key given twice keeps its last value, as in a created object (read leniently, it would throw later).
            patch = JsonText.ParseLastWins(body);
        }
        catch (System.Text.Json.JsonException e)
        {
            // The real server's answer to a merge patch that is not JSON.
            throw mediaType == "application/merge-patch+json" ? ApiException.Internal("Invalid JSON Patch") : ApiException.BadRequest($"error decoding patch: {e.Message}");
        }

        switch (mediaType)
        {
            case "application/merge-patch+json":
                return Merge(target, patch as JsonObject ?? throw ApiException.BadRequest("merge patch must be a JSON object")) as JsonObject
                    ?? throw ApiException.BadRequest("patch removed the object");
            case "application/strategic-merge-patch+json":
                var strategic = patch as JsonObject ?? throw ApiException.BadRequest("strategic merge patch must be a JSON object");
                if (Meta.Str(target["kind"]) == "ServiceAccount" && strategic["imagePullSecrets"] is { } pullSecrets)
                {
                    // A service account's pull secrets have no merge key: the list is replaced.
                    target["imagePullSecrets"] = pullSecrets.DeepClone();
                    strategic = (JsonObject)strategic.DeepClone();
                    strategic.Remove("imagePullSecrets");
                }

                return Strategic(target, strategic);
            case "application/json-patch+json":
                return JsonPatch(target, patch as JsonArray ?? throw ApiException.BadRequest("json patch must be a JSON array"));
            case "application/apply-patch+yaml":
                throw new ApiException(415, "UnsupportedMediaType", "server-side apply is not supported by the local cluster; use client-side apply");
            default:
                throw new ApiException(415, "UnsupportedMediaType", "415: Unsupported Media Type") { EmptyDetails = true };
        }
    }

    /// <summary>RFC 7386: objects merge recursively, null deletes, everything else replaces.</summary>
    public static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? t : [];
        foreach (var (key, value) in p)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                var current = result[key];
                result.Remove(key);
                result[key] = Merge(current?.DeepClone(), value);
            }
        }

        return result;
    }

    private static JsonObject Strategic(JsonObject target, JsonObject patch)
    {
        if (Meta.Str(patch["$patch"]) == "replace")
        {
            var replaced = (JsonObject)patch.DeepClone();
            replaced.Remove("$patch");
            return replaced;
        }

        foreach (var (key, value) in patch)
        {
            if (key.StartsWith('$') || key.StartsWith("$setElementOrder/", StringComparison.Ordinal) || key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal) && target[key[25..]] is JsonArray prim && value is JsonArray gone)
                {
                    var drop = gone.Select(g => g?.ToJsonString()).ToHashSet();
                    foreach (var item in prim.Where(i => drop.Contains(i?.ToJsonString())).ToList())
                    {
                        prim.Remove(item);
                    }
                }

                continue;
            }

            if (value is null)
            {
                target.Remove(key);
                continue;
            }

            var current = target[key];
            if (value is JsonObject vo && current is JsonObject co)
            {
                if (Meta.Str(vo["$patch"]) == "delete")
                {
                    target.Remove(key);
                }
                else
                {
                    Strategic(co, vo);
                }
            }
            else if (value is JsonArray va && current is JsonArray ca && MergeKeys.TryGetValue(key, out var mergeKey))
            {
                MergeList(ca, va, mergeKey);
            }
            else if (value is JsonArray pa && current is JsonArray cp && MergedPrimitiveLists.Contains(key))
            {
                var existing = cp.Select(i => i?.ToJsonString()).ToHashSet();
                foreach (var item in pa.Where(i => !existing.Contains(i?.ToJsonString())))
                {
                    cp.Add(item?.DeepClone());
                }
            }
            else
            {
                target.Remove(key);
                target[key] = StripDirectives(value.DeepClone());
            }
        }

        return target;
    }

    private static void MergeList(JsonArray current, JsonArray patch, string mergeKey)
    {
        foreach (var item in patch)
        {
            if (item is not JsonObject po)
            {
                continue;
            }

            var keyValue = po[mergeKey]?.ToJsonString();
            var existing = current.OfType<JsonObject>().FirstOrDefault(c => c[mergeKey]?.ToJsonString() == keyValue);
            if (Meta.Str(po["$patch"]) == "delete")
            {
                if (existing is not null)
                {
                    current.Remove(existing);
                }
            }
            else if (existing is not null)
            {
                Strategic(existing, po);
            }
            else
            {
                current.Add(StripDirectives(po.DeepClone()));
            }
        }
    }

    private static JsonNode StripDirectives(JsonNode node)
    {
        if (node is JsonObject o)
        {
            foreach (var key in o.Select(p => p.Key).Where(k => k.StartsWith('$')).ToList())
            {
                o.Remove(key);
            }

            foreach (var (_, v) in o.ToList())
            {
                if (v is not null)
                {
                    StripDirectives(v);
                }
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var v in a)
            {
                if (v is not null)
                {
                    StripDirectives(v);
                }
            }
        }

        return node;
    }

    /// <summary>How Go's JSON decoder names the kind of a value in its errors.</summary>
    private static string GoKind(JsonNode node) => node.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.Array => "array",
        System.Text.Json.JsonValueKind.String => "string",
        System.Text.Json.JsonValueKind.Number => "number",
        _ => "bool",
    };

    private static JsonObject JsonPatch(JsonObject target, JsonArray ops)
    {
        JsonNode root = target;
        foreach (var item in ops)
        {
            // Each operation is an object (null reads as one without members); the real server's decoder words the rest.
            var op = item is null or JsonObject
                ? (JsonObject?)item
                : throw ApiException.BadRequest($"json: cannot unmarshal {GoKind(item)} into Go value of type jsonpatch.Operation");
            var kind = Meta.Str(op?["op"]) ?? throw ApiException.BadRequest("json patch operation is missing 'op'");
            var path = Meta.Str(op?["path"]) ?? throw ApiException.BadRequest("json patch operation is missing 'path'");
            switch (kind)
            {
                case "add":
                    Put(root, path, op!["value"]?.DeepClone(), insert: true);
                    break;
                case "replace":
                    Get(root, path);
                    Put(root, path, op!["value"]?.DeepClone(), insert: false);
                    break;
                case "remove":
                    Remove(root, path);
                    break;
                case "test":
                    if (Get(root, path)?.ToJsonString() != op!["value"]?.ToJsonString())
                    {
                        throw new ApiException(422, "Invalid", "the server rejected our request due to an error in our request") { EmptyDetails = true };
                    }

                    break;
                case "move":
                case "copy":
                    var from = Meta.Str(op?["from"]) ?? throw ApiException.BadRequest("json patch operation is missing 'from'");
                    var value = Get(root, from)?.DeepClone();
                    if (kind == "move")
                    {
                        Remove(root, from);
                    }

                    Put(root, path, value, insert: true);
                    break;
                default:
                    throw ApiException.BadRequest($"Unexpected kind: {kind}");
            }
        }

        return target;
    }

    private static (JsonNode Parent, string Last) Walk(JsonNode root, string path)
    {
        if (!path.StartsWith('/'))
        {
            throw ApiException.BadRequest($"invalid json patch path \"{path}\"");
        }

        var parts = path[1..].Split('/').Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        var node = root;
        foreach (var part in parts[..^1])
        {
            node = (node switch
            {
                JsonObject o => o[part],
                JsonArray a when int.TryParse(part, out var i) && i >= 0 && i < a.Count => a[i],
                _ => null,
            }) ?? throw new ApiException(422, "Invalid", "the server rejected our request due to an error in our request") { EmptyDetails = true };
        }

        return (node, parts[^1]);
    }

    private static JsonNode? Get(JsonNode root, string path)
    {
        var (parent, last) = Walk(root, path);
        return parent switch
        {
            JsonObject o when o.ContainsKey(last) => o[last],
            JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count => a[i],
            _ => throw new ApiException(422, "Invalid", "the server rejected our request due to an error in our request") { EmptyDetails = true },
        };
    }

    private static void Put(JsonNode root, string path, JsonNode? value, bool insert)
    {
        var (parent, last) = Walk(root, path);
        switch (parent)
        {
            case JsonObject o:
                o.Remove(last);
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                if (insert)
                {
                    a.Insert(i, value);
                }
                else
                {
                    a[i] = value;
                }

                break;
            default:
                throw new ApiException(422, "Invalid", "the server rejected our request due to an error in our request") { EmptyDetails = true };
        }
    }

    private static void Remove(JsonNode root, string path)
    {
        var (parent, last) = Walk(root, path);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new ApiException(422, "Invalid", "the server rejected our request due to an error in our request") { EmptyDetails = true };
        }
    }
}
