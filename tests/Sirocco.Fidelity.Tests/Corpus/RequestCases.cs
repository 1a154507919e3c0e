namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    /// <summary>Malformed bodies and wrong JSON types.</summary>
    private static IEnumerable<Case> Malformed()
    {
        (string Id, string Plural, string Body)[] bodies =
        [
            ("truncated-json", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"""),
            ("not-json", "configmaps", "this is not json"),
            ("empty-object", "configmaps", "{}"),
            ("json-array", "configmaps", "[1,2]"),
            ("name-is-number", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":5}}"""),
            ("data-value-number", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":1}}"""),
            ("data-is-array", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":["a"]}"""),
            ("labels-is-string", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":"a=b"}}"""),
            ("wrong-kind", "configmaps", """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"""),
            ("wrong-api-version", "configmaps", """{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"x"}}"""),
            ("unknown-kind", "configmaps", """{"apiVersion":"v1","kind":"Gadget","metadata":{"name":"x"}}"""),
            ("no-kind", "configmaps", """{"apiVersion":"v1","metadata":{"name":"x"}}"""),
            ("unknown-field-ignored", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"b"},"colour":"blue"}"""),
            ("secret-data-not-base64", "secrets", """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"data":{"a":"not base64!"}}"""),
            ("secret-data-number", "secrets", """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"data":{"a":7}}"""),
            ("containers-is-object", "pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":{"name":"c"}}}"""),
            ("command-is-string", "pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"i:1","command":"true"}]}}"""),
            ("port-is-string", "pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"i:1","ports":[{"containerPort":"80"}]}]}}"""),
            ("deadline-is-float", "pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"activeDeadlineSeconds":1.5,"containers":[{"name":"c","image":"i:1"}]}}"""),
            ("no-spec", "pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"""),
            ("spec-null", "pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":null}"""),
            ("event-no-involved-object", "events", """{"apiVersion":"v1","kind":"Event","metadata":{"name":"x"},"reason":"R","message":"m"}"""),
            ("event-count-string", "events", """{"apiVersion":"v1","kind":"Event","metadata":{"name":"x"},"involvedObject":{"namespace":"{ns}"},"count":"3"}"""),
            ("serviceaccount-secrets-string", "serviceaccounts", """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"x"},"secrets":"s"}"""),
            ("duplicate-key", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","name":"y"}}"""),
            ("trailing-garbage", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}} trailing"""),
        ];
        foreach (var (id, plural, body) in bodies)
        {
            yield return new Case { Id = "malformed/" + id, NeedsServiceAccount = plural == "pods", Steps = [Req.Post(P(plural), body)] };
        }

        yield return new Case { Id = "malformed/empty-body", Steps = [Req.Post(P("configmaps"), "")] };
        yield return new Case { Id = "malformed/yaml-body", Steps = [new Req("POST", P("configmaps"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n", "application/yaml")] };
        yield return new Case { Id = "malformed/unsupported-media-type", Steps = [new Req("POST", P("configmaps"), ConfigMap("x"), "text/plain")] };
        yield return new Case { Id = "malformed/patch-bad-json", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.MergePatch(P("configmaps", "x"), "{not json")] };
        yield return new Case { Id = "malformed/patch-unsupported-type", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [new Req("PATCH", P("configmaps", "x"), "{}", "application/json")] };
        yield return new Case { Id = "malformed/json-patch-bad-path", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.JsonPatch(P("configmaps", "x"), """[{"op":"remove","path":"/metadata/labels/none"}]""")] };
        yield return new Case { Id = "malformed/json-patch-test-fails", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.JsonPatch(P("configmaps", "x"), """[{"op":"test","path":"/data/k","value":"other"}]""")] };
        yield return new Case { Id = "malformed/patch-changes-name", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.MergePatch(P("configmaps", "x"), """{"metadata":{"name":"y"}}""")] };
        yield return new Case { Id = "malformed/unknown-resource", Steps = [Req.Get(P("gadgets"))] };
        yield return new Case { Id = "malformed/unknown-subresource", Setup = [Req.Post(P("configmaps"), ConfigMap("x"))], Steps = [Req.Get(P("configmaps", "x") + "/status")] };
        yield return new Case { Id = "malformed/method-not-allowed", Steps = [Req.Put(P("configmaps"), ConfigMap("x"))] };
        yield return new Case { Id = "malformed/oversized-configmap", Steps = [Req.Post(P("configmaps"), ConfigMap("x", $$$"""{"big":"{{{new string('b', 1048577)}}}"}"""))] };
        yield return new Case { Id = "malformed/oversized-secret", Steps = [Req.Post(P("secrets"), Secret("x", $$$""","stringData":{"big":"{{{new string('b', 1048577)}}}"}"""))] };
        yield return new Case { Id = "malformed/oversized-request", Steps = [Req.Post(P("configmaps"), ConfigMap("x", $$$"""{"a":"{{{new string('b', 1048000)}}}","b":"{{{new string('b', 1048000)}}}","c":"{{{new string('b', 1048000)}}}","d":"{{{new string('b', 1048000)}}}"}"""))] };
        yield return new Case { Id = "malformed/bad-dry-run", Steps = [Req.Post(P("configmaps") + "?dryRun=Maybe", ConfigMap("x"))] };
        yield return new Case { Id = "malformed/dry-run-all", Steps = [Req.Post(P("configmaps") + "?dryRun=All", ConfigMap("x")), Req.Get(P("configmaps", "x"))] };
        yield return new Case
        {
            Id = "malformed/field-validation-strict",
            NewerThanV120 = ("fieldValidation came in Kubernetes 1.25; v1.20 ignores it and drops the unknown field", 400),
            Steps = [Req.Post(P("configmaps") + "?fieldValidation=Strict", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"colour":"blue"}""")],
        };
        yield return new Case
        {
            Id = "malformed/field-validation-strict-duplicate",
            NewerThanV120 = ("fieldValidation came in Kubernetes 1.25; v1.20 ignores it and keeps the last duplicate", 400),
            Steps = [Req.Post(P("configmaps") + "?fieldValidation=Strict", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"1"},"data":{"b":"2"}}""")],
        };
    }

    /// <summary>Label and field selectors on lists.</summary>
    private static IEnumerable<Case> Selectors()
    {
        List<Req> setup =
        [
            Req.Post(P("configmaps"), ConfigMap("a", meta: ""","labels":{"app":"web","tier":"front"}""")),
            Req.Post(P("configmaps"), ConfigMap("b", meta: ""","labels":{"app":"db","tier":"back"}""")),
            Req.Post(P("configmaps"), ConfigMap("c", meta: ""","labels":{"app":"web"}""")),
            Req.Post(P("configmaps"), ConfigMap("d")),
        ];
        string[] labelSelectors =
        [
            "app=web", "app==web", "app!=web", "app in (web,db)", "app notin (web)", "tier", "!tier", "app=web,tier=front", "app=web,!tier",
            "app in (web),tier notin (back)", "app=", "app in ()", "app==", "app in web", "=web", "app=w eb", "-bad=x", "app=web,", "tier!=front",
        ];
        for (var i = 0; i < labelSelectors.Length; i++)
        {
            yield return new Case { Id = $"selectors/label-{i}", Setup = setup, Steps = [Req.Get(P("configmaps") + "?labelSelector=" + Uri.EscapeDataString(labelSelectors[i]))] };
        }

        (string Plural, string Selector)[] fieldSelectors =
        [
            ("configmaps", "metadata.name=a"), ("configmaps", "metadata.name!=a"), ("configmaps", "metadata.namespace={ns}"), ("configmaps", "metadata.name=a,metadata.name=b"),
            ("configmaps", "data.k=v"), ("configmaps", "metadata.name"), ("pods", "status.phase=Pending"), ("pods", "spec.nodeName="), ("pods", "spec.restartPolicy=Always"),
            ("pods", "spec.schedulerName=default-scheduler"), ("pods", "status.podIP=1.2.3.4"), ("pods", "spec.containers=x"), ("events", "involvedObject.name=p"),
            ("events", "involvedObject.kind=Pod,reason=Testing"), ("events", "type=Warning"), ("events", "source=kubelet"), ("events", "involvedObject.uid=x"),
            ("secrets", "type=Opaque"), ("secrets", "type=kubernetes.io/tls"), ("namespaces", "status.phase=Active"), ("serviceaccounts", "metadata.name=default"),
        ];
        for (var i = 0; i < fieldSelectors.Length; i++)
        {
            var (plural, selector) = fieldSelectors[i];
            var path = plural == "namespaces" ? "/api/v1/namespaces" : P(plural);
            var objects = plural switch
            {
                "events" => new List<Req> { Req.Post(P("events"), Event("e1")), Req.Post(P("events"), Event("e2", ""","source":{"component":"kubelet"}""")) },
                "secrets" => [Req.Post(P("secrets"), Secret("s1"))],
                _ => setup,
            };
            if (plural == "namespaces")
            {
                // With a label that no namespace has: the namespaces of other cases come and go.
                yield return new Case { Id = $"selectors/field-{i}", Steps = [Req.Get(path + "?labelSelector=fid-none%3D1&fieldSelector=" + Uri.EscapeDataString(selector))] };
                continue;
            }

            yield return new Case { Id = $"selectors/field-{i}", Setup = objects, Steps = [Req.Get(path + "?fieldSelector=" + Uri.EscapeDataString(selector))] };
        }

        yield return new Case { Id = "selectors/limit-and-continue", Setup = setup, Steps = [Req.Get(P("configmaps") + "?limit=2")] };
        yield return new Case { Id = "selectors/all-namespaces-label", Setup = [Req.Post(P("configmaps"), ConfigMap("z", meta: ""","labels":{"fid-all":"{ns}"}"""))], Steps = [Req.Get("/api/v1/configmaps?labelSelector=fid-all%3D{ns}")] };
        yield return new Case { Id = "selectors/pods-by-name", NeedsServiceAccount = true, Setup = [Req.Post(P("pods"), Pod("a")), Req.Post(P("pods"), Pod("b"))], Steps = [Req.Get(P("pods") + "?fieldSelector=metadata.name%3Db")] };
    }
}
