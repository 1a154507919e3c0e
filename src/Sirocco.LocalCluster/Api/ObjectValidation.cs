using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Api;

/// <summary>The real server's (v1.20) checks of configmaps, secrets and events.</summary>
internal static partial class Validation
{
    private const int MaxDataSize = 1024 * 1024;
    private const string ImmutableMessage = "field is immutable when `immutable` is set";

    private static void CheckConfigMap(JsonObject obj, List<FieldCause> causes)
    {
        var data = obj["data"] as JsonObject;
        var binary = obj["binaryData"] as JsonObject;
        long total = 0;
        foreach (var (key, value) in data ?? [])
        {
            foreach (var e in ConfigKeyErrors(key))
            {
                causes.Add(InvalidValue($"data[{key}]", key, e));
            }

            if (binary?.ContainsKey(key) == true)
            {
                causes.Add(InvalidValue($"data[{key}]", key, "duplicate of key present in binaryData"));
            }

            total += Encoding.UTF8.GetByteCount(Meta.Str(value) ?? "");
        }

        foreach (var (key, value) in binary ?? [])
        {
            foreach (var e in ConfigKeyErrors(key))
            {
                causes.Add(InvalidValue($"binaryData[{key}]", key, e));
            }

            total += Base64Length(value);
        }

        if (total > MaxDataSize)
        {
            // The real server names no field here: the error is about the whole object.
            causes.Add(TooLong("[]", MaxDataSize));
        }
    }

    private static void CheckSecret(JsonObject obj, List<FieldCause> causes)
    {
        var data = obj["data"] as JsonObject;
        long total = 0;
        foreach (var (key, value) in data ?? [])
        {
            foreach (var e in ConfigKeyErrors(key))
            {
                causes.Add(InvalidValue($"data[{key}]", key, e));
            }

            total += Base64Length(value);
        }

        if (total > MaxDataSize)
        {
            causes.Add(TooLong("data", MaxDataSize));
        }

        bool Has(string key) => data?.ContainsKey(key) == true;
        switch (Meta.Str(obj["type"]))
        {
            case "kubernetes.io/service-account-token":
                if (string.IsNullOrEmpty(Meta.Str(Meta.Of(obj)["annotations"]?["kubernetes.io/service-account.name"])))
                {
                    causes.Add(Required("metadata.annotations[kubernetes.io/service-account.name]", ""));
                }

                break;
            case "kubernetes.io/dockercfg":
                CheckDockerConfig(data, ".dockercfg", causes);
                break;
            case "kubernetes.io/dockerconfigjson":
                CheckDockerConfig(data, ".dockerconfigjson", causes);
                break;
            case "kubernetes.io/basic-auth":
                if (!Has("username") && !Has("password"))
                {
                    // The real server writes these two paths with a literal "%s".
                    causes.Add(Required("data[%s][username]", ""));
                    causes.Add(Required("data[%s][password]", ""));
                }

                break;
            case "kubernetes.io/ssh-auth":
                if (Base64Length(data?["ssh-privatekey"]) == 0)
                {
                    causes.Add(Required("data[%s][ssh-privatekey]", ""));
                }

                break;
            case "kubernetes.io/tls":
                if (!Has("tls.crt"))
                {
                    causes.Add(Required("data[tls.crt]", ""));
                }

                if (!Has("tls.key"))
                {
                    causes.Add(Required("data[tls.key]", ""));
                }

                break;
        }
    }

    private static void CheckDockerConfig(JsonObject? data, string key, List<FieldCause> causes)
    {
        if (data?[key] is not { } value)
        {
            causes.Add(Required($"data[{key}]", ""));
            return;
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(Meta.Str(value) ?? "");
        }
        catch (FormatException)
        {
            return;
        }

        if (GoJsonObjectError(Encoding.UTF8.GetString(bytes)) is { } error)
        {
            causes.Add(InvalidValue($"data[{key}]", "<secret contents redacted>", error));
        }
    }

    /// <summary>Why Go's json.Unmarshal into a map would fail on <paramref name="text"/>, or null; the common messages only.</summary>
    private static string? GoJsonObjectError(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind switch
            {
                JsonValueKind.Object or JsonValueKind.Null => null,
                JsonValueKind.Array => "json: cannot unmarshal array into Go value of type map[string]interface {}",
                JsonValueKind.String => "json: cannot unmarshal string into Go value of type map[string]interface {}",
                JsonValueKind.Number => "json: cannot unmarshal number into Go value of type map[string]interface {}",
                _ => "json: cannot unmarshal bool into Go value of type map[string]interface {}",
            };
        }
        catch (JsonException)
        {
        }

        var i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\r' or '\n')
        {
            i++;
        }

        if (i == text.Length)
        {
            return "unexpected end of JSON input";
        }

        var c = text[i];
        foreach (var literal in new[] { "null", "true", "false" })
        {
            if (c != literal[0])
            {
                continue;
            }

            for (var j = 1; j < literal.Length; j++)
            {
                if (i + j >= text.Length)
                {
                    return "unexpected end of JSON input";
                }

                if (text[i + j] != literal[j])
                {
                    return $"invalid character {GoChar(text[i + j])} in literal {literal} (expecting {GoChar(literal[j])})";
                }
            }
        }

        if (c is not ('{' or '[' or '"' or '-' or (>= '0' and <= '9')))
        {
            return $"invalid character {GoChar(c)} looking for beginning of value";
        }

        return "unexpected end of JSON input";
    }

    private static string GoChar(char c) => c switch
    {
        '\'' => "'\\''",
        '"' => "'\"'",
        < ' ' => $"'\\x{(int)c:x2}'",
        _ => $"'{c}'",
    };

    /// <summary>The number of bytes a base64 value of a data map holds.</summary>
    private static long Base64Length(JsonNode? value)
    {
        var text = Meta.Str(value);
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var padding = text.EndsWith("==", StringComparison.Ordinal) ? 2 : text.EndsWith('=') ? 1 : 0;
        return Math.Max(0, (text.Length * 3 / 4) - padding);
    }

    private static void CheckSecretUpdate(JsonObject obj, JsonObject old, List<FieldCause> causes)
    {
        if (Meta.Str(old["type"]) is { } type && (Meta.Str(obj["type"]) ?? type) != type)
        {
            causes.Add(InvalidValue("type", Meta.Str(obj["type"]) ?? "", "field is immutable"));
        }

        CheckImmutable(obj, old, ["data"], causes);
    }

    /// <summary>Once <c>immutable</c> is true, it stays true and the data maps may not change.</summary>
    private static void CheckImmutable(JsonObject obj, JsonObject old, string[] fields, List<FieldCause> causes)
    {
        if (old["immutable"] is not JsonValue was || !was.TryGetValue<bool>(out var immutable) || !immutable)
        {
            return;
        }

        if (obj["immutable"] is not JsonValue now || !now.TryGetValue<bool>(out var still) || !still)
        {
            causes.Add(Forbidden("immutable", ImmutableMessage));
        }

        foreach (var field in fields)
        {
            var before = old[field] is JsonObject { Count: > 0 } b ? b : null;
            var after = obj[field] is JsonObject { Count: > 0 } a ? a : null;
            if (!JsonNode.DeepEquals(before, after))
            {
                causes.Add(Forbidden(field, ImmutableMessage));
            }
        }
    }

    private static void CheckNamespace(JsonObject obj, List<FieldCause> causes)
    {
        foreach (var finalizer in obj["spec"]?["finalizers"] as JsonArray ?? [])
        {
            var name = Meta.Str(finalizer) ?? "";
            causes.AddRange(LabelKeyErrors(name).Select(e => InvalidValue("spec.finalizers", name, e)));
            if (!name.Contains('/', StringComparison.Ordinal) && name is not ("kubernetes" or "orphan" or "foregroundDeletion"))
            {
                causes.Add(InvalidValue("spec.finalizers", name, "name is neither a standard finalizer name nor is it fully qualified"));
            }
        }
    }

    /// <summary>
    /// Events: v1.20 checks the namespaces only for events without eventTime, and the reporting fields for
    /// events with one; it does not check the event's name beyond the path-segment rules.
    /// </summary>
    private static void CheckEvent(JsonObject obj, List<FieldCause> causes)
    {
        // The real server always has the request's namespace here; without one (never on a namespaced
        // request), the namespace checks are left out rather than failing on a value the client never sent.
        var ns = Meta.Get(obj, "namespace");
        var involvedNs = Meta.Str(obj["involvedObject"]?["namespace"]) ?? "";
        if (string.IsNullOrEmpty(Meta.Str(obj["eventTime"])))
        {
            if (ns is { Length: > 0 } && (involvedNs.Length == 0 ? ns != "default" : ns != involvedNs))
            {
                causes.Add(InvalidValue("involvedObject.namespace", involvedNs, "does not match event.namespace"));
            }
        }
        else
        {
            if (involvedNs.Length == 0 && ns is { Length: > 0 } and not "kube-system")
            {
                causes.Add(InvalidValue("involvedObject.namespace", involvedNs, "does not match event.namespace"));
            }

            var controller = Meta.Str(obj["reportingComponent"]) ?? "";
            if (controller.Length == 0)
            {
                causes.Add(Required("reportingController", ""));
            }

            foreach (var e in LabelKeyErrors(controller))
            {
                causes.Add(InvalidValue("reportingController", controller, e));
            }

            var instance = Meta.Str(obj["reportingInstance"]) ?? "";
            if (instance.Length == 0)
            {
                causes.Add(Required("reportingInstance", ""));
            }

            if (instance.Length > 128)
            {
                causes.Add(InvalidValue("reportingInstance", "", "can have at most 128 characters"));
            }

            var action = Meta.Str(obj["action"]) ?? "";
            if (action.Length == 0)
            {
                causes.Add(Required("action", ""));
            }

            if (action.Length > 128)
            {
                causes.Add(InvalidValue("action", "", "can have at most 128 characters"));
            }

            var reason = Meta.Str(obj["reason"]) ?? "";
            if (reason.Length == 0)
            {
                causes.Add(Required("reason", ""));
            }

            if (reason.Length > 128)
            {
                causes.Add(InvalidValue("reason", "", "can have at most 128 characters"));
            }

            if ((Meta.Str(obj["message"]) ?? "").Length > 1024)
            {
                causes.Add(InvalidValue("message", "", "can have at most 1024 characters"));
            }
        }

        if (!string.IsNullOrEmpty(ns))
        {
            causes.AddRange(Dns1123SubdomainErrors(ns).Select(e => InvalidValue("namespace", ns, e)));
        }
    }
}
