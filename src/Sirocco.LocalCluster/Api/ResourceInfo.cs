using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Api;

/// <summary>One resource the server serves: its names, scope, verbs and the typed model used to decode it.</summary>
internal sealed record ResourceInfo(
    string Name,
    string Kind,
    bool Namespaced,
    string[] ShortNames,
    string[] Verbs,
    Type Model,
    string[] Subresources,
    string Group = "")
{
    /// <summary>The RBAC API group.</summary>
    public const string Rbac = "rbac.authorization.k8s.io";

    private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public static readonly IReadOnlyList<ResourceInfo> All =
    [
        new("namespaces", "Namespace", false, ["ns"], ["create", "delete", "get", "list", "patch", "update", "watch"], typeof(V1Namespace), ["status"]),
        new("nodes", "Node", false, ["no"], AllVerbs, typeof(V1Node), ["status"]),
        new("pods", "Pod", true, ["po"], AllVerbs, typeof(V1Pod), ["attach", "exec", "log", "status"]),
        new("secrets", "Secret", true, [], AllVerbs, typeof(V1Secret), []),
        new("configmaps", "ConfigMap", true, ["cm"], AllVerbs, typeof(V1ConfigMap), []),
        new("serviceaccounts", "ServiceAccount", true, ["sa"], AllVerbs, typeof(V1ServiceAccount), ["token"]),
        new("events", "Event", true, ["ev"], AllVerbs, typeof(Corev1Event), []),
        new("clusterrolebindings", "ClusterRoleBinding", false, [], AllVerbs, typeof(V1ClusterRoleBinding), [], Rbac),
        new("clusterroles", "ClusterRole", false, [], AllVerbs, typeof(V1ClusterRole), [], Rbac),
        new("rolebindings", "RoleBinding", true, [], AllVerbs, typeof(V1RoleBinding), [], Rbac),
        new("roles", "Role", true, [], AllVerbs, typeof(V1Role), [], Rbac),
    ];

    /// <summary>The groups served besides core/v1, each at version v1.</summary>
    public static readonly IReadOnlyList<string> Groups = [Rbac, AccessReviews.Group];

    /// <summary>The object's <c>apiVersion</c>: <c>v1</c> for the core group, else <c>group/v1</c>.</summary>
    public string ApiVersion => Group.Length == 0 ? "v1" : Group + "/v1";

    /// <summary>The name in messages: <c>pods</c>, <c>roles.rbac.authorization.k8s.io</c>.</summary>
    public string QualifiedName => Group.Length == 0 ? Name : Name + "." + Group;

    private string Roundtrip(string json) => Model.Name switch
    {
        nameof(V1Namespace) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1Namespace>(json)),
        nameof(V1Node) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1Node>(json)),
        nameof(V1Pod) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1Pod>(json)),
        nameof(V1Secret) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1Secret>(json)),
        nameof(V1ConfigMap) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1ConfigMap>(json)),
        nameof(V1ServiceAccount) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1ServiceAccount>(json)),
        nameof(V1Role) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1Role>(json)),
        nameof(V1ClusterRole) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1ClusterRole>(json)),
        nameof(V1RoleBinding) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1RoleBinding>(json)),
        nameof(V1ClusterRoleBinding) => KubernetesJson.Serialize(KubernetesJson.Deserialize<V1ClusterRoleBinding>(json)),
        _ => KubernetesJson.Serialize(KubernetesJson.Deserialize<Corev1Event>(json)),
    };

    public static ResourceInfo? Find(string group, string name) => All.FirstOrDefault(r => r.Group == group && r.Name == name);

    public string SingularName => Kind.ToLowerInvariant();

    /// <summary>
    /// Decodes a body through the typed model (so values get their Kubernetes types and unknown fields drop)
    /// and returns the normalized JSON plus the paths of fields the model did not know.
    /// </summary>
    public (JsonObject Object, List<string> UnknownFields) Decode(JsonObject input)
    {
        string typed;
        try
        {
            typed = Roundtrip(input.ToJsonString());
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException or ArithmeticException or NotSupportedException)
        {
            var plain = Describe(e);
            var why = !plain.StartsWith("quantities", StringComparison.Ordinal) && e is JsonException j && GoJsonErrors.Describe(j, Model, input) is { } go ? go : plain;
            throw ApiException.BadRequest($"{Kind} in version \"v1\" cannot be handled as a {Kind}: {why}");
        }

        var normalized = JsonNode.Parse(typed)!.AsObject();
        var unknown = new List<string>();
        FindUnknown(input, normalized, "", unknown);
        return (normalized, unknown);
    }

    private static string Describe(Exception e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        return message.Contains("quantit", StringComparison.OrdinalIgnoreCase) || e.StackTrace?.Contains("ResourceQuantity", StringComparison.Ordinal) == true
            ? "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            : message;
    }

    private static void FindUnknown(JsonNode? input, JsonNode? known, string path, List<string> unknown)
    {
        switch (input)
        {
            case JsonObject o:
                if (known is not JsonObject k)
                {
                    return;
                }

                // Maps (labels, data, resources) are free-form: every key the model kept is known.
                foreach (var (key, value) in o)
                {
                    var child = path.Length == 0 ? key : path + "." + key;
                    if (value is null)
                    {
                        continue;
                    }

                    if (!k.TryGetPropertyValue(key, out var kv))
                    {
                        unknown.Add(child);
                    }
                    else
                    {
                        FindUnknown(value, kv, child, unknown);
                    }
                }

                break;
            case JsonArray a when known is JsonArray ka:
                for (var i = 0; i < a.Count && i < ka.Count; i++)
                {
                    FindUnknown(a[i], ka[i], $"{path}[{i}]", unknown);
                }

                break;
        }
    }
}
