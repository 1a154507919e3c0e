namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    /// <summary>Watches: resumed from a version (the events since, none missed), from a too-old version, filtered.</summary>
    private static IEnumerable<Case> Watches()
    {
        yield return new Case
        {
            Id = "watch/resume-configmaps",
            Setup = [Req.Get(P("configmaps")), Req.Post(P("configmaps"), ConfigMap("a")), Req.Post(P("configmaps"), ConfigMap("b"))],
            Steps = [Req.Watch(P("configmaps") + "?watch=1&resourceVersion={rv}", 1)],
        };
        yield return new Case
        {
            Id = "watch/resume-sees-add-modify-delete",
            Setup = [Req.Post(P("configmaps"), ConfigMap("pin")), Req.Post(P("configmaps"), ConfigMap("a")), Req.MergePatch(P("configmaps", "a"), """{"data":{"k":"w"}}"""), Req.Delete(P("configmaps", "a"))],
            Steps = [Req.Get(P("configmaps", "pin")), Req.Watch(P("configmaps") + "?watch=1&resourceVersion={rv}", 3)],
        };
        yield return new Case
        {
            Id = "watch/secrets-label-filtered",
            Setup = [Req.Post(P("secrets"), Secret("pin")), Req.Post(P("secrets"), Secret("a", meta: ""","labels":{"w":"1"}""")), Req.Post(P("secrets"), Secret("b"))],
            Steps = [Req.Get(P("secrets", "pin")), Req.Watch(P("secrets") + "?watch=1&labelSelector=w%3D1&resourceVersion={rv}", 2)],
        };
        yield return new Case
        {
            Id = "watch/field-selector-name",
            Setup = [Req.Post(P("configmaps"), ConfigMap("pin")), Req.Post(P("configmaps"), ConfigMap("a")), Req.Post(P("configmaps"), ConfigMap("b")), Req.MergePatch(P("configmaps", "b"), """{"data":{"x":"y"}}""")],
            Steps = [Req.Get(P("configmaps", "pin")), Req.Watch(P("configmaps") + "?watch=1&fieldSelector=metadata.name%3Db&resourceVersion={rv}", 3)],
        };
        yield return new Case
        {
            Id = "watch/label-change-leaves-selection",
            Setup = [Req.Post(P("configmaps"), ConfigMap("pin")), Req.Post(P("configmaps"), ConfigMap("a", meta: ""","labels":{"w":"1"}""")), Req.MergePatch(P("configmaps", "a"), """{"metadata":{"labels":{"w":"2"}}}""")],
            Steps = [Req.Get(P("configmaps", "pin")), Req.Watch(P("configmaps") + "?watch=1&labelSelector=w%3D1&resourceVersion={rv}", 3)],
        };
        yield return new Case
        {
            Id = "watch/without-version-lists-existing",
            Isolated = true,
            Setup = [Req.Post(P("configmaps"), ConfigMap("a")), Req.Post(P("configmaps"), ConfigMap("b"))],
            Steps = [Req.Watch(P("configmaps") + "?watch=1", 3) with { Unordered = true }],
        };
        yield return new Case
        {
            Id = "watch/version-zero-lists-existing",
            Setup = [Req.Post(P("serviceaccounts"), ServiceAccount("a"))],
            Steps = [Req.Watch(P("serviceaccounts") + "?watch=1&resourceVersion=0&fieldSelector=metadata.name%3Da", 1)],
        };
        yield return new Case
        {
            Id = "watch/too-old-version-then-relist",
            Setup = [Req.Post(P("configmaps"), ConfigMap("a"))],
            Steps =
            [
                Req.Watch(P("configmaps") + "?watch=1&resourceVersion=2", 1) with { RetentionDependent = true },
                Req.Get(P("configmaps")),
                Req.MergePatch(P("configmaps", "a"), """{"data":{"k":"2"}}""") with { KeepsVersion = true },
                Req.Watch(P("configmaps") + "?watch=1&resourceVersion={rv}", 1),
            ],
        };
        yield return new Case { Id = "watch/not-a-number", Steps = [Req.Watch(P("configmaps") + "?watch=1&resourceVersion=abc", 1)] };
        yield return new Case { Id = "watch/bad-label-selector", Steps = [Req.Watch(P("configmaps") + "?watch=1&labelSelector=a%3D%3D", 1)] };
        yield return new Case { Id = "watch/bad-field-selector", Steps = [Req.Watch(P("pods") + "?watch=1&fieldSelector=spec.bogus%3D1", 1)] };
        yield return new Case
        {
            Id = "watch/events-involved-object",
            Setup = [Req.Post(P("events"), Event("pin")), Req.Post(P("events"), Event("e1")), Req.Post(P("events"), Event("e2", meta: "").Replace("\"name\":\"p\"", "\"name\":\"q\"", StringComparison.Ordinal))],
            Steps = [Req.Get(P("events", "pin")), Req.Watch(P("events") + "?watch=1&fieldSelector=involvedObject.name%3Dq&resourceVersion={rv}", 1)],
        };
        yield return new Case { Id = "watch/list-too-old-version-exact", LocalLimitation = ("the local cluster keeps no history, so it lists only the current version exactly (410 Expired otherwise, which clients answer with a fresh list)", 410), Steps = [Req.Get(P("configmaps") + "?resourceVersion=2&resourceVersionMatch=Exact")] };
        yield return new Case { Id = "watch/list-bad-version-match", Steps = [Req.Get(P("configmaps") + "?resourceVersionMatch=Exact")] };
    }

    /// <summary>Deletes: grace periods, propagation policies, preconditions, collections.</summary>
    private static IEnumerable<Case> Deletes()
    {
        yield return new Case { Id = "delete/pod-grace-30", NeedsServiceAccount = true, Setup = [Req.Post(P("pods"), Pod("x")), Running("x")], Steps = [Req.Delete(P("pods", "x") + "?gracePeriodSeconds=30")] };
        yield return new Case { Id = "delete/pod-grace-body", NeedsServiceAccount = true, Setup = [Req.Post(P("pods"), Pod("x")), Running("x")], Steps = [Req.Delete(P("pods", "x"), """{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":7}""")] };
        yield return new Case { Id = "delete/pod-default-grace", NeedsServiceAccount = true, Setup = [Req.Post(P("pods"), Pod("x", ""","terminationGracePeriodSeconds":12""")), Running("x")], Steps = [Req.Delete(P("pods", "x"))] };
        yield return new Case
        {
            Id = "delete/unscheduled-pod-goes-at-once",
            NeedsServiceAccount = true,
            Setup = [Req.Post(P("pods"), Pod("x", ""","nodeSelector":{"fidelity/none":"x"}""")), Req.Get(P("pods", "x")) with { Until = n => n?["status"]?["conditions"] is not null }],
            Steps = [Req.Delete(P("pods", "x") + "?gracePeriodSeconds=60"), Req.Get(P("pods", "x")), Req.Delete(P("pods", "x"))],
        };
        yield return new Case { Id = "delete/pod-negative-grace", NeedsServiceAccount = true, Setup = [Req.Post(P("pods"), Pod("x")), Running("x")], Steps = [Req.Delete(P("pods", "x") + "?gracePeriodSeconds=-1"), Req.Get(P("pods", "x")) with { Until = n => n?["kind"]?.GetValue<string>() == "Status" }] };
        yield return new Case { Id = "delete/configmap-background", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x") + "?propagationPolicy=Background")] };
        yield return new Case { Id = "delete/configmap-foreground", Isolated = true, Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x") + "?propagationPolicy=Foreground")] };
        yield return new Case { Id = "delete/configmap-orphan", Isolated = true, Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x") + "?propagationPolicy=Orphan")] };
        yield return new Case { Id = "delete/bad-propagation", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x") + "?propagationPolicy=Sideways")] };
        yield return new Case { Id = "delete/precondition-uid", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x"), """{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"00000000-0000-0000-0000-000000000000"}}""")] };
        yield return new Case { Id = "delete/precondition-version", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x"), """{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"1"}}""")] };
        yield return new Case { Id = "delete/finalizer-holds", Isolated = true, Setup = [Req.Post(P("configmaps"), ConfigMap("x", meta: ""","finalizers":["fid/hold"]"""))], Steps = [Req.Delete(P("configmaps", "x")), Req.Get(P("configmaps", "x")), Req.MergePatch(P("configmaps", "x"), """{"metadata":{"finalizers":null}}"""), Req.Get(P("configmaps", "x"))] };
        yield return new Case
        {
            Id = "delete/collection-pods-by-label",
            NeedsServiceAccount = true,
            Setup = [Req.Post(P("pods"), Pod("a", meta: ""","labels":{"g":"1"}""")), Req.Post(P("pods"), Pod("b", meta: ""","labels":{"g":"1"}""")), Req.Post(P("pods"), Pod("c"))],
            Steps = [Req.Delete(P("pods") + "?labelSelector=g%3D1&gracePeriodSeconds=0"), Req.Get(P("pods")) with { Until = n => n?["items"]?.AsArray().Count == 1 }],
        };
        yield return new Case
        {
            Id = "delete/collection-configmaps",
            Setup = [Req.Post(P("configmaps"), ConfigMap("a")), Req.Post(P("configmaps"), ConfigMap("b"))],
            Steps = [Req.Delete(P("configmaps") + "?fieldSelector=metadata.name%3Da"), Req.Get(P("configmaps"))],
        };
    }
}
