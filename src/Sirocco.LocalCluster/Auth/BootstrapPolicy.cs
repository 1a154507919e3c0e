using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Auth;

/// <summary>
/// The cluster roles and bindings the real API server makes at start (its <c>rbac/bootstrap-roles</c> hook), for the
/// groups this cluster serves: cluster-admin, admin, edit, view and the system roles every authenticated user holds.
/// Kept up to date at each start unless their <c>rbac.authorization.kubernetes.io/autoupdate</c> annotation is
/// "false", as the real server does. admin, edit and view hold their rules directly (the real ones aggregate them
/// from <c>system:aggregate-to-*</c> roles).
/// </summary>
internal static class BootstrapPolicy
{
    private static readonly string[] Read = ["get", "list", "watch"];
    private static readonly string[] Write = ["create", "delete", "deletecollection", "patch", "update"];
    private static readonly string[] ReadWrite = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public static readonly IReadOnlyList<PolicyRule> ClusterAdminRules =
    [
        new(["*"], ["*"], ["*"], [], []),
        new(["*"], [], [], [], ["*"]),
    ];

    private static readonly PolicyRule[] ViewRules =
    [
        Core(Read, "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"),
        Core(Read, "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"),
        Core(Read, "namespaces"),
    ];

    private static readonly PolicyRule[] EditRules =
    [
        Core(Read, "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
        Core(["impersonate"], "serviceaccounts"),
        Core(Write, "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
        Core(["create"], "pods/eviction"),
        Core(Write, "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"),
        Core(["create"], "serviceaccounts/token"),
        .. ViewRules,
    ];

    private static readonly PolicyRule[] AdminRules =
    [
        new(["create"], [AccessReviews.Group], ["localsubjectaccessreviews"], [], []),
        new(ReadWrite, [ResourceInfo.Rbac], ["rolebindings", "roles"], [], []),
        .. EditRules,
    ];

    private static readonly (string Name, IReadOnlyList<PolicyRule> Rules, bool UserFacing)[] Roles =
    [
        ("cluster-admin", ClusterAdminRules, false),
        ("admin", AdminRules, true),
        ("edit", EditRules, true),
        ("view", ViewRules, true),
        ("system:basic-user", [new(["create"], [AccessReviews.Group], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], [], []), new(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"], [], [])], false),
        ("system:discovery", [new(["get"], [], [], [], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"])], false),
        ("system:public-info-viewer", [new(["get"], [], [], [], ["/healthz", "/livez", "/readyz", "/version", "/version/"])], false),
    ];

    private static readonly (string Name, string Role, string[] Groups)[] Bindings =
    [
        ("cluster-admin", "cluster-admin", [UserInfo.Masters]),
        ("system:basic-user", "system:basic-user", [UserInfo.Authenticated]),
        ("system:discovery", "system:discovery", [UserInfo.Authenticated]),
        ("system:public-info-viewer", "system:public-info-viewer", [UserInfo.Authenticated, "system:unauthenticated"]),
    ];

    private static PolicyRule Core(string[] verbs, params string[] resources) => new(verbs, [""], resources, [], []);

    /// <summary>Creates the missing roles and bindings and brings the auto-updated ones back to their rules.</summary>
    public static void Ensure(ClusterContext cluster)
    {
        foreach (var (name, rules, userFacing) in Roles)
        {
            var labels = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" };
            if (userFacing && name != "admin")
            {
                // As the real roles: view is aggregated into edit, edit into admin.
                labels[$"rbac.authorization.k8s.io/aggregate-to-{(name == "view" ? "edit" : "admin")}"] = "true";
            }

            Upsert(cluster, "clusterroles", "ClusterRole", name, labels, o => o["rules"] = new JsonArray([.. rules.Select(r => (JsonNode)r.ToJson())]));
        }

        foreach (var (name, role, groups) in Bindings)
        {
            Upsert(cluster, "clusterrolebindings", "ClusterRoleBinding", name, new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" }, o =>
            {
                o["roleRef"] = new JsonObject { ["apiGroup"] = ResourceInfo.Rbac, ["kind"] = "ClusterRole", ["name"] = role };
                o["subjects"] = new JsonArray([.. groups.Select(g => (JsonNode)new JsonObject { ["apiGroup"] = ResourceInfo.Rbac, ["kind"] = "Group", ["name"] = g })]);
            });
        }
    }

    private static void Upsert(ClusterContext cluster, string resource, string kind, string name, JsonObject labels, Action<JsonObject> fill)
    {
        var existing = cluster.Store.Get(resource, "", name);
        if (existing is null)
        {
            var obj = new JsonObject
            {
                ["kind"] = kind,
                ["apiVersion"] = ResourceInfo.Rbac + "/v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["uid"] = Guid.NewGuid().ToString(),
                    ["creationTimestamp"] = Time.Seconds(cluster.Now),
                    ["labels"] = labels,
                    ["annotations"] = new JsonObject { ["rbac.authorization.kubernetes.io/autoupdate"] = "true" },
                },
            };
            fill(obj);
            try
            {
                cluster.Store.Create(resource, obj);
            }
            catch (ApiException e) when (e.Code == 409)
            {
                // Made meanwhile.
            }

            return;
        }

        if (Meta.Str(existing.ToJson()["metadata"]?["annotations"]?["rbac.authorization.kubernetes.io/autoupdate"]) == "false")
        {
            return;
        }

        cluster.Store.TryUpdate(resource, "", name, current =>
        {
            var next = current.DeepClone().AsObject();
            fill(next);
            return JsonNode.DeepEquals(current, next) ? null : next;
        });
    }
}
