namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    /// <summary>create/get/list/update/patch/delete of each namespaced kind, and of namespaces.</summary>
    private static IEnumerable<Case> Crud()
    {
        foreach (var (plural, make, pods) in Kinds)
        {
            var body = make("x", "");
            List<Req> Made(string json) => pods ? [Req.Post(P(plural), json), Running("x")] : [Req.Post(P(plural), json)];
            var labelled = make("x", ""","labels":{"app":"a","tier":"t"}""");
            yield return new Case { Id = $"crud/{plural}/create", NeedsServiceAccount = pods, Steps = [Req.Post(P(plural), body)] };
            yield return new Case { Id = $"crud/{plural}/create-labelled-then-get", NeedsServiceAccount = pods, Setup = Made(labelled), Steps = [Req.Get(P(plural, "x"))] };
            yield return new Case { Id = $"crud/{plural}/create-twice", NeedsServiceAccount = pods, Setup = Made(body), Steps = [Req.Post(P(plural), body)] };
            yield return new Case { Id = $"crud/{plural}/get-missing", Steps = [Req.Get(P(plural, "nothing"))] };
            yield return new Case { Id = $"crud/{plural}/list-empty-or-defaults", Steps = [Req.Get(P(plural))] };
            yield return new Case { Id = $"crud/{plural}/list-two", NeedsServiceAccount = pods, Setup = [Req.Post(P(plural), make("a", "")), Req.Post(P(plural), make("b", ""))], Steps = [Req.Get(P(plural))] };
            yield return new Case { Id = $"crud/{plural}/in-missing-namespace", Steps = [Req.Post("/api/v1/namespaces/{ns}-missing/" + plural, body)] };
            yield return new Case { Id = $"crud/{plural}/generate-name", NeedsServiceAccount = pods, Steps = [Req.Post(P(plural), make("", ""","generateName":"gen-" """.TrimEnd()).Replace("\"name\":\"\",", "", StringComparison.Ordinal))] };
            yield return new Case { Id = $"crud/{plural}/no-name", Steps = [Req.Post(P(plural), make("", "").Replace("\"name\":\"\"", "\"labels\":{}", StringComparison.Ordinal))] };
            yield return new Case { Id = $"crud/{plural}/namespace-mismatch", Steps = [Req.Post(P(plural), make("x", ""","namespace":"other" """.TrimEnd()))] };
            yield return new Case
            {
                Id = $"crud/{plural}/merge-patch-labels",
                NeedsServiceAccount = pods,
                Setup = Made(labelled),
                Steps = [Req.MergePatch(P(plural, "x"), """{"metadata":{"labels":{"app":null,"new":"n"},"annotations":{"a":"1"}}}"""), Req.Get(P(plural, "x"))],
            };
            yield return new Case
            {
                Id = $"crud/{plural}/strategic-patch-labels",
                NeedsServiceAccount = pods,
                Setup = Made(labelled),
                Steps = [Req.StrategicPatch(P(plural, "x"), """{"metadata":{"labels":{"tier":null,"s":"1"}}}""")],
            };
            yield return new Case
            {
                Id = $"crud/{plural}/json-patch-label",
                NeedsServiceAccount = pods,
                Setup = Made(labelled),
                Steps = [Req.JsonPatch(P(plural, "x"), """[{"op":"add","path":"/metadata/labels/j","value":"1"},{"op":"remove","path":"/metadata/labels/app"}]""")],
            };
            yield return new Case { Id = $"crud/{plural}/patch-missing", Steps = [Req.MergePatch(P(plural, "nothing"), """{"metadata":{"labels":{"a":"b"}}}""")] };
            yield return new Case
            {
                Id = $"crud/{plural}/update-with-current-version",
                NeedsServiceAccount = pods,
                Setup = Made(body),
                Steps = [Req.Put(P(plural, "x"), make("x", ""","resourceVersion":"{rv}","labels":{"u":"1"}"""))],
            };
            yield return new Case
            {
                Id = $"crud/{plural}/update-with-stale-version",
                NeedsServiceAccount = pods,
                Setup = [.. Made(body), Req.MergePatch(P(plural, "x"), """{"metadata":{"labels":{"p":"1"}}}""")],
                Steps = [Req.Put(P(plural, "x"), make("x", ""","resourceVersion":"1","labels":{"u":"1"}"""))],
            };
            yield return new Case
            {
                Id = $"crud/{plural}/update-without-version",
                NeedsServiceAccount = pods,
                Setup = Made(body),
                Steps = [Req.Put(P(plural, "x"), make("x", ""","labels":{"u":"2"}"""))],
            };
            yield return new Case { Id = $"crud/{plural}/update-missing", Steps = [Req.Put(P(plural, "nothing"), make("nothing", ""","resourceVersion":"5" """.TrimEnd()))] };
            yield return new Case
            {
                Id = $"crud/{plural}/update-name-mismatch",
                NeedsServiceAccount = pods,
                Setup = Made(body),
                Steps = [Req.Put(P(plural, "x"), make("y", ""))],
            };
            yield return new Case
            {
                Id = $"crud/{plural}/delete-then-get",
                NeedsServiceAccount = pods,
                Setup = Made(body),
                Steps = pods ? [Req.Delete(P(plural, "x") + "?gracePeriodSeconds=0"), Req.Get(P(plural, "x")) with { Until = n => n?["kind"]?.GetValue<string>() == "Status" }] : [Req.Delete(P(plural, "x")), Req.Get(P(plural, "x"))],
            };
            yield return new Case { Id = $"crud/{plural}/delete-missing", Steps = [Req.Delete(P(plural, "nothing"))] };
        }

        yield return new Case { Id = "crud/namespaces/create", Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}-a"))] };
        yield return new Case { Id = "crud/namespaces/create-twice", Setup = [Req.Post("/api/v1/namespaces", Namespace("{ns}-a"))], Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}-a"))] };
        yield return new Case { Id = "crud/namespaces/get", Steps = [Req.Get("/api/v1/namespaces/{ns}")] };
        yield return new Case { Id = "crud/namespaces/get-missing", Steps = [Req.Get("/api/v1/namespaces/{ns}-missing")] };
        yield return new Case
        {
            Id = "crud/namespaces/labels-patch-and-select",
            Setup = [Req.Post("/api/v1/namespaces", Namespace("{ns}-a", ""","labels":{"fid":"{ns}"}"""))],
            Steps = [Req.MergePatch("/api/v1/namespaces/{ns}-a", """{"metadata":{"labels":{"x":"y"}}}"""), Req.Get("/api/v1/namespaces?labelSelector=fid%3D{ns}")],
        };
        yield return new Case { Id = "crud/namespaces/delete", Setup = [Req.Post("/api/v1/namespaces", Namespace("{ns}-a"))], Steps = [Req.Delete("/api/v1/namespaces/{ns}-a")] };
        yield return new Case { Id = "crud/namespaces/delete-missing", Steps = [Req.Delete("/api/v1/namespaces/{ns}-missing")] };
        yield return new Case
        {
            Id = "crud/namespaces/create-in-terminating",
            Setup = [Req.Post("/api/v1/namespaces", Namespace("{ns}-t")), Req.Post("/api/v1/namespaces/{ns}-t/configmaps", ConfigMap("keep", meta: ""","finalizers":["fid/hold"]""")), Req.Delete("/api/v1/namespaces/{ns}-t")],
            Steps = [Req.Post("/api/v1/namespaces/{ns}-t/configmaps", ConfigMap("late"))],
        };
        yield return new Case { Id = "crud/namespaces/default-service-account", NeedsServiceAccount = true, Steps = [Req.Get(P("serviceaccounts", "default"))] };
        yield return new Case { Id = "crud/namespaces/root-ca-configmap", NeedsServiceAccount = true, Steps = [Req.Get(P("configmaps", "kube-root-ca.crt")) with { Until = n => n?["kind"]?.GetValue<string>() == "ConfigMap" }] };
    }
}
