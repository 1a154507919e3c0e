namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    private const string RbacGroup = "rbac.authorization.k8s.io";

    private static string R(string plural, string? name = null) => $"/apis/{RbacGroup}/v1/namespaces/{{ns}}/{plural}" + (name is null ? "" : "/" + name);

    private static string Role(string name, string rules = """[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]""") =>
        $$$"""{"apiVersion":"{{{RbacGroup}}}/v1","kind":"Role","metadata":{"name":"{{{name}}}"},"rules":{{{rules}}}}""";

    private static string Binding(string name, string role, string kind = "ClusterRole", string subjects = """[{"kind":"ServiceAccount","name":"default","namespace":"{ns}"}]""") =>
        $$$"""{"apiVersion":"{{{RbacGroup}}}/v1","kind":"RoleBinding","metadata":{"name":"{{{name}}}"},"roleRef":{"apiGroup":"{{{RbacGroup}}}","kind":"{{{kind}}}","name":"{{{role}}}"},"subjects":{{{subjects}}}}""";

    /// <summary>A read as the namespace's default service account, repeated until its binding has taken effect.</summary>
    private static Req Effective(string path, string listKind) => Req.Get(path) with { As = "default", Until = n => n?["kind"]?.GetValue<string>() == listKind };

    /// <summary>The RBAC group's objects, and what a service account's token may and may not do (RBAC authorization).</summary>
    private static IEnumerable<Case> Rbac()
    {
        yield return new Case { Id = "rbac/role/create-get-list", Isolated = true, Steps = [Req.Post(R("roles"), Role("x")), Req.Get(R("roles", "x")), Req.Get(R("roles"))] };
        yield return new Case { Id = "rbac/role/get-missing", Isolated = true, Steps = [Req.Get(R("roles", "nothing"))] };
        yield return new Case { Id = "rbac/role/create-twice", Isolated = true, Setup = [Req.Post(R("roles"), Role("x"))], Steps = [Req.Post(R("roles"), Role("x"))] };
        yield return new Case { Id = "rbac/role/rule-without-verbs", Isolated = true, Steps = [Req.Post(R("roles"), Role("x", """[{"apiGroups":[""],"resources":["pods"],"verbs":[]}]"""))] };
        yield return new Case { Id = "rbac/role/non-resource-url", Isolated = true, Steps = [Req.Post(R("roles"), Role("x", """[{"nonResourceURLs":["/metrics"],"verbs":["get"]}]"""))] };
        yield return new Case { Id = "rbac/role/merge-patch-rules", Isolated = true, Setup = [Req.Post(R("roles"), Role("x"))], Steps = [Req.MergePatch(R("roles", "x"), """{"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["*"]}]}""")] };
        yield return new Case { Id = "rbac/role/delete", Isolated = true, Setup = [Req.Post(R("roles"), Role("x"))], Steps = [Req.Delete(R("roles", "x")), Req.Get(R("roles", "x"))] };
        yield return new Case { Id = "rbac/rolebinding/create", Isolated = true, Steps = [Req.Post(R("rolebindings"), Binding("b", "view"))] };
        yield return new Case { Id = "rbac/rolebinding/bad-roleref-kind", Isolated = true, Steps = [Req.Post(R("rolebindings"), Binding("b", "view", kind: "Pod"))] };
        yield return new Case { Id = "rbac/rolebinding/subject-without-name", Isolated = true, Steps = [Req.Post(R("rolebindings"), Binding("b", "view", subjects: """[{"kind":"ServiceAccount","namespace":"{ns}"}]"""))] };
        yield return new Case { Id = "rbac/rolebinding/change-roleref", Isolated = true, Setup = [Req.Post(R("rolebindings"), Binding("b", "view"))], Steps = [Req.MergePatch(R("rolebindings", "b"), """{"roleRef":{"name":"edit"}}""")] };
        yield return new Case { Id = "rbac/clusterrole/cluster-admin", Steps = [Req.Get($"/apis/{RbacGroup}/v1/clusterroles/cluster-admin")] };
        yield return new Case { Id = "rbac/clusterrolebinding/missing", Steps = [Req.Get($"/apis/{RbacGroup}/v1/clusterrolebindings/nothing")] };

        // As the namespace's default service account: denied by default, allowed once bound, never escalating.
        yield return new Case { Id = "rbac/as-account/list-pods-denied", Isolated = true, NeedsServiceAccount = true, Steps = [Req.Get(P("pods")) with { As = "default" }] };
        yield return new Case { Id = "rbac/as-account/get-secret-denied", Isolated = true, NeedsServiceAccount = true, Steps = [Req.Get(P("secrets", "s")) with { As = "default" }] };
        yield return new Case { Id = "rbac/as-account/create-configmap-denied", Isolated = true, NeedsServiceAccount = true, Steps = [Req.Post(P("configmaps"), ConfigMap("x")) with { As = "default" }] };
        yield return new Case { Id = "rbac/as-account/list-namespaces-denied", Isolated = true, NeedsServiceAccount = true, Steps = [Req.Get("/api/v1/namespaces") with { As = "default" }] };
        yield return new Case { Id = "rbac/as-account/metrics-denied", Isolated = true, NeedsServiceAccount = true, Steps = [Req.Get("/metrics") with { As = "default" }] };
        yield return new Case
        {
            Id = "rbac/as-account/allowed-once-bound",
            Isolated = true,
            NeedsServiceAccount = true,
            Setup = [Req.Post(R("rolebindings"), Binding("b", "view"))],
            Steps = [Effective(P("configmaps") + "?fieldSelector=metadata.name%3Dnone", "ConfigMapList"), Req.Get(P("secrets")) with { As = "default" }],
        };
        yield return new Case
        {
            Id = "rbac/as-account/bind-cluster-admin-denied",
            Isolated = true,
            NeedsServiceAccount = true,
            Setup = [Req.Post(R("rolebindings"), Binding("b", "admin")), Effective(R("rolebindings") + "?fieldSelector=metadata.name%3Dnone", "RoleBindingList")],
            Steps = [Req.Post(R("rolebindings"), Binding("root", "cluster-admin")) with { As = "default" }],
        };
        yield return new Case
        {
            Id = "rbac/as-account/role-beyond-own-rights-denied",
            Isolated = true,
            NeedsServiceAccount = true,
            Setup = [Req.Post(R("rolebindings"), Binding("b", "admin")), Effective(R("rolebindings") + "?fieldSelector=metadata.name%3Dnone", "RoleBindingList")],
            Steps = [Req.Post(R("roles"), Role("nodes", """[{"apiGroups":[""],"resources":["nodes"],"verbs":["delete"]}]""")) with { As = "default" }, Req.Post(R("roles"), Role("fine")) with { As = "default" }],
        };
        yield return new Case
        {
            Id = "rbac/as-account/self-subject-access-review",
            Isolated = true,
            NeedsServiceAccount = true,
            Steps =
            [
                Req.Post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"namespace":"{ns}","verb":"list","resource":"pods"}}}""") with { As = "default" },
                Req.Post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"namespace":"{ns}","verb":"create","resource":"selfsubjectaccessreviews","group":"authorization.k8s.io"}}}""") with { As = "default" },
            ],
        };
    }
}
