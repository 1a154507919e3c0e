using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Auth;

/// <summary>One RBAC rule of a role (a policy rule).</summary>
internal sealed record PolicyRule(string[] Verbs, string[] ApiGroups, string[] Resources, string[] ResourceNames, string[] NonResourceUrls)
{
    public static PolicyRule Parse(JsonNode? rule) => new(
        Strings(rule?["verbs"]), Strings(rule?["apiGroups"]), Strings(rule?["resources"]), Strings(rule?["resourceNames"]), Strings(rule?["nonResourceURLs"]));

    private static string[] Strings(JsonNode? node) =>
        node is JsonArray a ? [.. a.Select(Meta.Str).Where(s => s is not null).Select(s => s!)] : [];

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["verbs"] = Array(Verbs) };
        if (NonResourceUrls.Length > 0)
        {
            o["nonResourceURLs"] = Array(NonResourceUrls);
            return o;
        }

        o["apiGroups"] = Array(ApiGroups);
        o["resources"] = Array(Resources);
        if (ResourceNames.Length > 0)
        {
            o["resourceNames"] = Array(ResourceNames);
        }

        return o;
    }

    private static JsonArray Array(string[] values) => new([.. values.Select(v => (JsonNode)v)]);

    /// <summary>Whether this rule allows the request (Kubernetes' RuleAllows).</summary>
    public bool Allows(RequestAttributes a)
    {
        if (!Has(Verbs, a.Verb))
        {
            return false;
        }

        if (!a.IsResource)
        {
            return NonResourceUrls.Any(u => u == "*" || u == a.Path || (u.EndsWith('*') && a.Path.StartsWith(u[..^1], StringComparison.Ordinal)));
        }

        return Has(ApiGroups, a.Group)
            && Resources.Any(r => r == "*" || r == a.FullResource || (a.Subresource.Length > 0 && r == "*/" + a.Subresource))
            && (ResourceNames.Length == 0 || (a.Name.Length > 0 && ResourceNames.Contains(a.Name)));
    }

    private static bool Has(string[] values, string value) => values.Contains("*") || values.Contains(value);
}

/// <summary>
/// Kubernetes' RBAC authorizer over the Roles, ClusterRoles and their bindings in the store. A request is allowed when
/// a rule of a role bound to its user, one of its groups or its service account allows it; nothing is denied
/// explicitly. The holders of <c>system:masters</c> are allowed everything (as the real server's
/// cluster-admin binding allows them), without reading the bindings.
/// </summary>
internal sealed class RbacAuthorizer(ObjectStore store)
{
    /// <summary>Whether <paramref name="user"/> may do <paramref name="a"/>, and which binding allowed it.</summary>
    public (bool Allowed, string Reason) Authorize(UserInfo user, RequestAttributes a)
    {
        if (user.IsMaster)
        {
            return (true, "RBAC: allowed by ClusterRoleBinding \"cluster-admin\" of ClusterRole \"cluster-admin\" to Group \"system:masters\"");
        }

        foreach (var (binding, roleRef, subject, rules) in Grants(user, a.Namespace))
        {
            if (rules.Any(r => r.Allows(a)))
            {
                return (true, $"RBAC: allowed by {binding} of {roleRef} to {subject}");
            }
        }

        return (false, "");
    }

    /// <summary>Every rule that applies to <paramref name="user"/> in <paramref name="ns"/> ("" for the cluster scope only).</summary>
    public IEnumerable<PolicyRule> Rules(UserInfo user, string ns) =>
        user.IsMaster ? BootstrapPolicy.ClusterAdminRules : Grants(user, ns).SelectMany(g => g.Rules);

    /// <summary>The forbidden message of the real server, after "… is forbidden: ".</summary>
    public static string Denial(UserInfo user, RequestAttributes a)
    {
        if (!a.IsResource)
        {
            return $"User \"{user.Name}\" cannot {a.Verb} path \"{a.Path}\"";
        }

        var scope = a.Namespace.Length > 0 ? $"in the namespace \"{a.Namespace}\"" : "at the cluster scope";
        return $"User \"{user.Name}\" cannot {a.Verb} resource \"{a.FullResource}\" in API group \"{a.Group}\" {scope}";
    }

    private IEnumerable<(string Binding, string RoleRef, string Subject, IReadOnlyList<PolicyRule> Rules)> Grants(UserInfo user, string ns)
    {
        foreach (var item in store.List("clusterrolebindings", null).Items)
        {
            var binding = item.ToJson();
            if (Match(user, binding, "") is { } subject && Role(binding, "") is { } role)
            {
                yield return ($"ClusterRoleBinding \"{item.Name}\"", role.Ref, subject, role.Rules);
            }
        }

        if (ns.Length == 0)
        {
            yield break;
        }

        foreach (var item in store.List("rolebindings", ns).Items)
        {
            var binding = item.ToJson();
            if (Match(user, binding, ns) is { } subject && Role(binding, ns) is { } role)
            {
                yield return ($"RoleBinding \"{item.Name}/{ns}\"", role.Ref, subject, role.Rules);
            }
        }
    }

    /// <summary>The rules of a binding's role; null when the role does not exist (the binding grants nothing).</summary>
    private (string Ref, IReadOnlyList<PolicyRule> Rules)? Role(JsonObject binding, string ns)
    {
        var kind = Meta.Str(binding["roleRef"]?["kind"]);
        var name = Meta.Str(binding["roleRef"]?["name"]) ?? "";
        var stored = kind switch
        {
            "ClusterRole" => store.Get("clusterroles", "", name),
            "Role" when ns.Length > 0 => store.Get("roles", ns, name),
            _ => null,
        };
        if (stored is null)
        {
            return null;
        }

        var rules = stored.ToJson()["rules"] as JsonArray ?? [];
        var reference = kind == "Role" ? $"Role \"{name}\"" : $"ClusterRole \"{name}\"";
        return (reference, [.. rules.Select(PolicyRule.Parse)]);
    }

    /// <summary>The first subject of a binding that names the user, as the real server words it; null for none.</summary>
    private static string? Match(UserInfo user, JsonObject binding, string bindingNamespace)
    {
        foreach (var s in binding["subjects"] as JsonArray ?? [])
        {
            var kind = Meta.Str(s?["kind"]);
            var name = Meta.Str(s?["name"]) ?? "";
            switch (kind)
            {
                case "User" when name == user.Name:
                    return $"User \"{name}\"";
                case "Group" when user.Groups.Contains(name):
                    return $"Group \"{name}\"";
                case "ServiceAccount":
                    var saNamespace = Meta.Str(s?["namespace"]) is { Length: > 0 } n ? n : bindingNamespace;
                    if (user.Name == $"system:serviceaccount:{saNamespace}:{name}")
                    {
                        return $"ServiceAccount \"{name}/{saNamespace}\"";
                    }

                    break;
            }
        }

        return null;
    }
}
