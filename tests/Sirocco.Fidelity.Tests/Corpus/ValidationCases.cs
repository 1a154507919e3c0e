namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    private static readonly string[] BadNames =
    [
        "Upper", "under_score", "-lead", "trail-", "dot..dot", "sp ace", "ünï", new('a', 254), "a/b", ".dot",
    ];

    /// <summary>Names: DNS-1123 subdomains for most kinds, DNS labels for namespaces, their lengths.</summary>
    private static IEnumerable<Case> Names()
    {
        foreach (var (plural, make, pods) in Kinds)
        {
            for (var i = 0; i < BadNames.Length; i++)
            {
                var name = BadNames[i];
                if (name.Contains('/', StringComparison.Ordinal))
                {
                    continue;
                }

                yield return new Case { Id = $"names/{plural}/bad-{i}", Steps = [Req.Post(P(plural), make(name, ""))] };
            }

            yield return new Case { Id = $"names/{plural}/dotted-ok", NeedsServiceAccount = pods, Steps = [Req.Post(P(plural), make("a.b-c.d", ""))] };
            yield return new Case { Id = $"names/{plural}/253-ok", NeedsServiceAccount = pods, Steps = [Req.Post(P(plural), make(new string('n', 253), ""))] };
        }

        yield return new Case { Id = "names/namespaces/dotted", Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}.x"))] };
        yield return new Case { Id = "names/namespaces/64", Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}-" + new string('n', 55)))] };
        yield return new Case { Id = "names/namespaces/63-ok", Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}-" + new string('n', 54)))] };
        yield return new Case { Id = "names/namespaces/upper", Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}-Up"))] };
        yield return new Case { Id = "names/namespaces/generate-name", Steps = [Req.Post("/api/v1/namespaces", """{"apiVersion":"v1","kind":"Namespace","metadata":{"generateName":"{ns}-g-"}}""")] };
        yield return new Case { Id = "names/pods/64-char-container-name", Steps = [Req.Post(P("pods"), PodWith("p", $$$"""[{"name":"{{{new string('c', 64)}}}","image":"busybox:1.36","command":["true"]}]"""))] };
        yield return new Case { Id = "names/pods/upper-container-name", Steps = [Req.Post(P("pods"), PodWith("p", """[{"name":"Main","image":"busybox:1.36","command":["true"]}]"""))] };
        yield return new Case { Id = "names/pods/bad-generate-name", Steps = [Req.Post(P("pods"), """{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"Bad_"},"spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}}""") with { GeneratedPrefix = "Bad_" }] };
    }

    private static readonly (string Key, string Value)[] LabelPairs =
    [
        ("-a", "v"), ("a-", "v"), ("a/b/c", "v"), ("Ab.c/d", "v"), (new string('k', 64), "v"), ("example.com/", "v"),
        ("a", "-v"), ("a", new string('v', 64)), ("a", "sp ace"), ("a", "v/w"), ("/a", "v"), ("a b", "v"),
        ("kubernetes.io/ok", "v"), (new string('k', 63), "A.b-c_9"), ("example.com/k", ""), ("Upper.Case", "v"),
        (new string('p', 254) + "/k", "v"),
    ];

    /// <summary>Label keys and values, and annotation keys, as metadata validation checks them.</summary>
    private static IEnumerable<Case> Labels()
    {
        for (var i = 0; i < LabelPairs.Length; i++)
        {
            var (k, v) = LabelPairs[i];
            var meta = $$$""","labels":{"{{{k}}}":"{{{v}}}"}""";
            yield return new Case { Id = $"labels/configmap-{i}", Steps = [Req.Post(P("configmaps"), ConfigMap("x", meta: meta))] };
            yield return new Case { Id = $"labels/pod-{i}", NeedsServiceAccount = true, Steps = [Req.Post(P("pods"), Pod("x", meta: meta))] };
        }

        yield return new Case { Id = "labels/annotation-bad-key", Steps = [Req.Post(P("configmaps"), ConfigMap("x", meta: ""","annotations":{"-bad":"v"}"""))] };
        yield return new Case { Id = "labels/annotation-long-value-ok", Steps = [Req.Post(P("configmaps"), ConfigMap("x", meta: $$$""","annotations":{"a":"{{{new string('v', 1000)}}}"}"""))] };
        yield return new Case { Id = "labels/annotations-too-big", Steps = [Req.Post(P("configmaps"), ConfigMap("x", meta: $$$""","annotations":{"a":"{{{new string('v', 262145)}}}"}"""))] };
        yield return new Case { Id = "labels/label-patched-bad", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.MergePatch(P("configmaps", "x"), """{"metadata":{"labels":{"bad key":"v"}}}""")] };
        yield return new Case { Id = "labels/namespace-bad-label", Steps = [Req.Post("/api/v1/namespaces", Namespace("{ns}-l", ""","labels":{"a":"-v"}"""))] };
    }

    private static readonly string[] QuantityValues =
    [
        "1000m", "10G", "10Gi", "0.5", "1e3", "-1", "abc", "1.5.5", "10gi", "0x10", "1Ki", "100M", "0.1m", "1.5", "2E", "12345678901234567890", "1m", "1 Gi", "", "+1",
    ];

    /// <summary>Resource quantities in requests and limits, as the real server parses and canonicalizes them.</summary>
    private static IEnumerable<Case> Quantities()
    {
        for (var i = 0; i < QuantityValues.Length; i++)
        {
            var q = QuantityValues[i];
            yield return new Case
            {
                Id = $"quantities/cpu-request-{i}",
                NeedsServiceAccount = true,
                Steps = [Req.Post(P("pods"), PodWith("q", $$$$"""[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"requests":{"cpu":"{{{{q}}}}"}}}]"""))],
            };
            yield return new Case
            {
                Id = $"quantities/memory-limit-{i}",
                NeedsServiceAccount = true,
                Steps = [Req.Post(P("pods"), PodWith("q", $$$$"""[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"limits":{"memory":"{{{{q}}}}"}}}]"""))],
            };
        }

        yield return new Case { Id = "quantities/request-above-limit", Steps = [Req.Post(P("pods"), PodWith("q", """[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}}]"""))] };
        yield return new Case { Id = "quantities/number-not-string", NeedsServiceAccount = true, Steps = [Req.Post(P("pods"), PodWith("q", """[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"limits":{"cpu":2,"memory":1073741824}}}]"""))] };
        yield return new Case { Id = "quantities/guaranteed", NeedsServiceAccount = true, Steps = [Req.Post(P("pods"), PodWith("q", """[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"requests":{"cpu":"500m","memory":"64Mi"},"limits":{"cpu":"0.5","memory":"64Mi"}}}]"""))] };
        yield return new Case { Id = "quantities/unknown-resource", Steps = [Req.Post(P("pods"), PodWith("q", """[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"limits":{"gpu":"1"}}}]"""))] };
        yield return new Case { Id = "quantities/extended-resource", NeedsServiceAccount = true, Steps = [Req.Post(P("pods"), PodWith("q", """[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"limits":{"example.com/dongle":"2"}}}]"""))] };
        yield return new Case { Id = "quantities/extended-fractional", Steps = [Req.Post(P("pods"), PodWith("q", """[{"name":"c","image":"busybox:1.36","command":["true"],"resources":{"limits":{"example.com/dongle":"500m"}}}]"""))] };
    }
}
