namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    /// <summary>
    /// Query parameters as the real server decodes them into options: a boolean is false only for 0 and false (any
    /// case), an integer must be what Go's ParseInt takes, the first of repeated values counts, unknown ones are ignored.
    /// </summary>
    private static IEnumerable<Case> QueryParameters()
    {
        List<Req> configMaps = [Req.Post(P("configmaps"), ConfigMap("a", meta: ""","labels":{"q":"1"}""")), Req.Post(P("configmaps"), ConfigMap("b", meta: ""","labels":{"q":"1"}"""))];
        foreach (var (id, value) in new[] { ("True", "True"), ("TRUE", "TRUE"), ("t", "t"), ("yes", "yes"), ("empty", "") })
        {
            yield return new Case { Id = "query/watch-" + id, Setup = configMaps, Steps = [Req.Watch(P("configmaps") + "?labelSelector=q&watch=" + value, 2) with { Unordered = true }] };
        }

        foreach (var (id, value) in new[] { ("False", "False"), ("FALSE", "FALSE"), ("0", "0") })
        {
            yield return new Case { Id = "query/list-watch-" + id, Setup = configMaps, Steps = [Req.Get(P("configmaps") + "?watch=" + value)] };
        }

        (string Id, string Query)[] lists =
        [
            ("limit-not-a-number", "limit=abc"),
            ("limit-empty", "limit="),
            ("limit-plus-sign", "limit=%2B1"),
            ("limit-space", "limit=%201"),
            ("limit-hex", "limit=0x10"),
            ("limit-out-of-range", "limit=99999999999999999999"),
            ("limit-negative", "limit=-1"),
            ("limit-first-of-repeated", "limit=1&limit=abc"),
            ("limit-first-of-repeated-bad", "limit=abc&limit=1"),
            ("timeout-float", "timeoutSeconds=1.5"),
            ("unknown-parameter", "colour=blue&pretty=maybe"),
            ("label-selector-first-of-repeated", "labelSelector=q%3D1&labelSelector=q%3D2"),
            ("label-selector-first-of-repeated-none", "labelSelector=q%3D2&labelSelector=q%3D1"),
            ("field-selector-first-of-repeated", "fieldSelector=metadata.name%3Da&fieldSelector=metadata.name%3Db"),
        ];
        foreach (var (id, query) in lists)
        {
            yield return new Case { Id = "query/" + id, Setup = configMaps, Steps = [Req.Get(P("configmaps") + "?" + query)] };
        }

        yield return new Case { Id = "query/watch-bad-timeout", Setup = configMaps, Steps = [Req.Watch(P("configmaps") + "?watch=1&timeoutSeconds=soon", 1)] };
        yield return new Case { Id = "query/delete-grace-not-a-number", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Delete(P("configmaps", "x") + "?gracePeriodSeconds=abc"), Req.Get(P("configmaps", "x"))] };

        List<Req> pod = [Req.Post(P("pods"), Pod("x"))];
        (string Id, string Query)[] logs =
        [
            ("tail-not-a-number", "tailLines=abc"),
            ("tail-empty", "tailLines="),
            ("since-seconds-float", "sinceSeconds=1.5"),
            ("limit-bytes-hex", "limitBytes=0x10"),
            ("since-both", "sinceSeconds=5&sinceTime=2020-01-01T00:00:00Z"),
            ("since-time-word", "sinceTime=yesterday"),
            ("since-time-date-only", "sinceTime=2020-01-01"),
            ("since-time-no-zone", "sinceTime=2020-01-01T00:00:00"),
            ("since-time-month-13", "sinceTime=2020-13-01T00:00:00Z"),
            ("since-time-hour-25", "sinceTime=2020-01-01T25:00:00Z"),
        ];
        foreach (var (id, query) in logs)
        {
            yield return new Case { Id = "query/log-" + id, NeedsServiceAccount = true, Setup = pod, Steps = [Req.Get(P("pods", "x") + "/log?" + query)] };
        }

        List<Req> running = [.. pod, Running("x")];
        yield return new Case { Id = "query/exec-without-upgrade", NeedsServiceAccount = true, Setup = running, Steps = [Req.Get(P("pods", "x") + "/exec?command=ls&stdout=True")] };
        yield return new Case { Id = "query/attach-without-upgrade", NeedsServiceAccount = true, Setup = running, Steps = [Req.Get(P("pods", "x") + "/attach?stdout=1")] };
    }
}
