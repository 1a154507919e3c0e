using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Auth;

/// <summary>
/// What the real server checks when RBAC objects are written: their fields (roleRef, subjects, rules), a binding's
/// roleRef that never changes, and escalation. A user may write a role only with rules it holds itself (or with the
/// <c>escalate</c> verb), and may bind a role only if it holds the role's rules (or has the <c>bind</c> verb on it).
/// </summary>
internal static class RbacAdmission
{
    private static readonly string[] SubjectKinds = ["ServiceAccount", "User", "Group"];

    /// <summary>Refuses an invalid RBAC object (422, in the real server's words); <paramref name="current"/> on update.</summary>
    public static void Validate(ResourceInfo resource, JsonObject obj, JsonObject? current)
    {
        if (resource.Group != ResourceInfo.Rbac)
        {
            return;
        }

        var causes = new List<FieldCause>();
        if (resource.Name is "roles" or "clusterroles")
        {
            var rules = obj["rules"] as JsonArray ?? [];
            for (var i = 0; i < rules.Count; i++)
            {
                var rule = PolicyRule.Parse(rules[i]);
                if (rule.Verbs.Length == 0)
                {
                    causes.Add(new("FieldValueRequired", $"rules[{i}].verbs", "Required value: verbs must contain at least one value"));
                }

                if (rule.NonResourceUrls.Length > 0 && resource.Name == "roles")
                {
                    causes.Add(new("FieldValueInvalid", $"rules[{i}].nonResourceURLs", "Invalid value: []string{" + string.Join(", ", rule.NonResourceUrls.Select(u => $"\"{u}\"")) + "}: namespaced rules cannot apply to non-resource URLs"));
                }
                else if (rule.NonResourceUrls.Length > 0 && (rule.Resources.Length > 0 || rule.ApiGroups.Length > 0))
                {
                    causes.Add(new("FieldValueInvalid", $"rules[{i}].nonResourceURLs", "Invalid value: []string{" + string.Join(", ", rule.NonResourceUrls.Select(u => $"\"{u}\"")) + "}: rules cannot apply to both regular resources and non-resource URLs"));
                }
                else if (rule.NonResourceUrls.Length == 0 && rule.ApiGroups.Length == 0)
                {
                    causes.Add(new("FieldValueRequired", $"rules[{i}].apiGroups", "Required value: resource rules must supply at least one api group"));
                }
                else if (rule.NonResourceUrls.Length == 0 && rule.Resources.Length == 0)
                {
                    causes.Add(new("FieldValueRequired", $"rules[{i}].resources", "Required value: resource rules must supply at least one resource"));
                }
            }
        }
        else
        {
            var kind = Meta.Str(obj["roleRef"]?["kind"]) ?? "";
            var allowedKinds = resource.Name == "rolebindings" ? new[] { "Role", "ClusterRole" } : ["ClusterRole"];
            if (Meta.Str(obj["roleRef"]?["apiGroup"]) is var group && group != ResourceInfo.Rbac)
            {
                causes.Add(new("FieldValueNotSupported", "roleRef.apiGroup", $"Unsupported value: \"{group}\": supported values: \"{ResourceInfo.Rbac}\""));
            }

            if (!allowedKinds.Contains(kind))
            {
                causes.Add(new("FieldValueNotSupported", "roleRef.kind", $"Unsupported value: \"{kind}\": supported values: {string.Join(", ", allowedKinds.Select(k => $"\"{k}\""))}"));
            }

            if (string.IsNullOrEmpty(Meta.Str(obj["roleRef"]?["name"])))
            {
                causes.Add(new("FieldValueRequired", "roleRef.name", "Required value"));
            }

            var subjects = obj["subjects"] as JsonArray ?? [];
            for (var i = 0; i < subjects.Count; i++)
            {
                var subjectKind = Meta.Str(subjects[i]?["kind"]) ?? "";
                if (string.IsNullOrEmpty(Meta.Str(subjects[i]?["name"])))
                {
                    causes.Add(new("FieldValueRequired", $"subjects[{i}].name", "Required value"));
                }

                if (!SubjectKinds.Contains(subjectKind))
                {
                    causes.Add(new("FieldValueNotSupported", $"subjects[{i}].kind", $"Unsupported value: \"{subjectKind}\": supported values: \"ServiceAccount\", \"User\", \"Group\""));
                }
                else if (subjectKind == "ServiceAccount" && resource.Name == "clusterrolebindings" && string.IsNullOrEmpty(Meta.Str(subjects[i]?["namespace"])))
                {
                    causes.Add(new("FieldValueRequired", $"subjects[{i}].namespace", "Required value"));
                }
            }

            if (current is not null && !JsonNode.DeepEquals(current["roleRef"], obj["roleRef"]))
            {
                // The real server quotes the roleRef asked for.
                var was = obj["roleRef"];
                causes.Add(new("FieldValueInvalid", "roleRef",
                    $"Invalid value: rbac.RoleRef{{APIGroup:\"{Meta.Str(was?["apiGroup"])}\", Kind:\"{Meta.Str(was?["kind"])}\", Name:\"{Meta.Str(was?["name"])}\"}}: cannot change roleRef"));
            }
        }

        if (causes.Count > 0)
        {
            var e = ApiException.Invalid($"{resource.Kind}.{ResourceInfo.Rbac}", Meta.Get(obj, "name") ?? "", causes);
            throw new ApiException(422, "Invalid", e.Message, Meta.Get(obj, "name"), resource.Kind, causes) { Group = ResourceInfo.Rbac };
        }
    }

    /// <summary>Refuses (403) a role or binding that would give <paramref name="user"/> rights it does not hold.</summary>
    public static void CheckEscalation(UserInfo user, ResourceInfo resource, string ns, JsonObject obj, RbacAuthorizer rbac, ObjectStore store)
    {
        if (resource.Group != ResourceInfo.Rbac || user.IsMaster)
        {
            return;
        }

        var name = Meta.Get(obj, "name") ?? "";
        List<PolicyRule> wanted;
        if (resource.Name is "roles" or "clusterroles")
        {
            if (rbac.Authorize(user, new RequestAttributes("escalate", ResourceInfo.Rbac, resource.Name, "", ns, name, "")).Allowed)
            {
                return;
            }

            wanted = [.. (obj["rules"] as JsonArray ?? []).Select(PolicyRule.Parse)];
        }
        else
        {
            var kind = Meta.Str(obj["roleRef"]?["kind"]);
            var roleName = Meta.Str(obj["roleRef"]?["name"]) ?? "";
            var roleResource = kind == "Role" ? "roles" : "clusterroles";
            var roleNamespace = kind == "Role" ? ns : "";
            if (rbac.Authorize(user, new RequestAttributes("bind", ResourceInfo.Rbac, roleResource, "", roleNamespace, roleName, "")).Allowed)
            {
                return;
            }

            var role = store.Get(roleResource, roleNamespace, roleName)
                ?? throw ApiException.NotFound(roleResource, roleName);
            wanted = [.. (role.ToJson()["rules"] as JsonArray ?? []).Select(PolicyRule.Parse)];
        }

        var held = rbac.Rules(user, ns).ToList();
        var missing = wanted.SelectMany(Split).Where(r => !Covered(held, r)).ToList();
        if (missing.Count > 0)
        {
            var groups = string.Join(" ", user.Groups.Select(g => $"\"{g}\""));
            throw ApiException.Forbidden(resource.Name, name,
                $"user \"{user.Name}\" (groups=[{groups}]) is attempting to grant RBAC permissions not currently held:\n"
                + string.Join("\n", missing.Select(Describe)));
        }
    }

    /// <summary>A rule split into one rule per combination, as the real escalation check compares them.</summary>
    private static IEnumerable<PolicyRule> Split(PolicyRule rule)
    {
        if (rule.NonResourceUrls.Length > 0)
        {
            foreach (var url in rule.NonResourceUrls)
            {
                foreach (var verb in rule.Verbs)
                {
                    yield return new([verb], [], [], [], [url]);
                }
            }

            yield break;
        }

        foreach (var group in rule.ApiGroups)
        {
            foreach (var resource in rule.Resources)
            {
                foreach (var name in rule.ResourceNames.Length > 0 ? rule.ResourceNames : [""])
                {
                    foreach (var verb in rule.Verbs)
                    {
                        yield return new([verb], [group], [resource], name.Length > 0 ? [name] : [], []);
                    }
                }
            }
        }
    }

    private static bool Covered(List<PolicyRule> held, PolicyRule one)
    {
        if (one.NonResourceUrls is [var url])
        {
            return held.Any(h => (h.Verbs.Contains("*") || h.Verbs.Contains(one.Verbs[0]))
                && h.NonResourceUrls.Any(u => u == "*" || u == url || (u.EndsWith('*') && url.StartsWith(u[..^1], StringComparison.Ordinal))));
        }

        var parts = one.Resources[0].Split('/', 2);
        var attributes = new RequestAttributes(one.Verbs[0], one.ApiGroups[0], parts[0], parts.Length > 1 ? parts[1] : "", "", one.ResourceNames.FirstOrDefault() ?? "", "");
        return held.Any(h => h.Allows(attributes));
    }

    private static string Describe(PolicyRule r)
    {
        static string List(string[] values) => "[" + string.Join(" ", values.Select(v => $"\"{v}\"")) + "]";
        if (r.NonResourceUrls.Length > 0)
        {
            return $"{{NonResourceURLs:{List(r.NonResourceUrls)}, Verbs:{List(r.Verbs)}}}";
        }

        var names = r.ResourceNames.Length > 0 ? $", ResourceNames:{List(r.ResourceNames)}" : "";
        return $"{{APIGroups:{List(r.ApiGroups)}, Resources:{List(r.Resources)}{names}, Verbs:{List(r.Verbs)}}}";
    }
}
