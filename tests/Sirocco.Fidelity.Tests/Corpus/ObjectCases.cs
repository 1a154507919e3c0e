namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    /// <summary>Secrets and config maps: types, keys, immutability, binary data.</summary>
    private static IEnumerable<Case> ConfigObjects()
    {
        (string Id, string Plural, string Body)[] creates =
        [
            ("secret-string-data-merged", "secrets", Secret("x", ""","data":{"a":"MQ=="},"stringData":{"a":"2","b":"3"}""")),
            ("secret-tls-missing-keys", "secrets", Secret("x", ""","type":"kubernetes.io/tls","stringData":{"tls.crt":"c"}""")),
            ("secret-tls-ok", "secrets", Secret("x", ""","type":"kubernetes.io/tls","stringData":{"tls.crt":"c","tls.key":"k"}""")),
            ("secret-dockerconfig-bad", "secrets", Secret("x", ""","type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"not json"}""")),
            ("secret-dockerconfig-ok", "secrets", Secret("x", ""","type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"{\"auths\":{}}"}""")),
            ("secret-basic-auth", "secrets", Secret("x", ""","type":"kubernetes.io/basic-auth","stringData":{"username":"u"}""")),
            ("secret-ssh-auth-missing", "secrets", Secret("x", ""","type":"kubernetes.io/ssh-auth","stringData":{"x":"y"}""")),
            ("secret-custom-type", "secrets", Secret("x", ""","type":"example.com/custom","data":{"a":"YQ=="}""")),
            ("secret-bad-key", "secrets", Secret("x", ""","stringData":{"bad key":"v"}""")),
            ("secret-key-dotdot", "secrets", Secret("x", ""","stringData":{"..":"v"}""")),
            ("secret-empty", "secrets", Secret("x", "")),
            ("secret-sa-token-no-annotation", "secrets", Secret("x", ""","type":"kubernetes.io/service-account-token" """.TrimEnd())),
            ("configmap-binary-data", "configmaps", ConfigMap("x", """{"a":"1"}""").Replace("}}", "},\"binaryData\":{\"b\":\"AAEC\"}}", StringComparison.Ordinal)),
            ("configmap-same-key-in-both", "configmaps", ConfigMap("x", """{"a":"1"}""").Replace("}}", "},\"binaryData\":{\"a\":\"AAEC\"}}", StringComparison.Ordinal)),
            ("configmap-bad-key", "configmaps", ConfigMap("x", """{"a b":"1"}""")),
            ("configmap-no-data", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"""),
            ("configmap-binary-not-base64", "configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"binaryData":{"b":"%%%"}}"""),
            ("serviceaccount-with-secrets", "serviceaccounts", """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"x"},"secrets":[{"name":"s"}],"imagePullSecrets":[{"name":"r"}],"automountServiceAccountToken":false}"""),
        ];
        foreach (var (id, plural, body) in creates)
        {
            yield return new Case { Id = "objects/" + id, Steps = [Req.Post(P(plural), body)] };
        }

        foreach (var plural in new[] { "configmaps", "secrets" })
        {
            var immutable = plural == "secrets" ? Secret("x", ""","immutable":true,"stringData":{"k":"v"}""") : ConfigMap("x").Replace("\"data\"", "\"immutable\":true,\"data\"", StringComparison.Ordinal);
            yield return new Case { Id = $"objects/{plural}-immutable-update", Setup = [Req.Post(P(plural), immutable)], Steps = [Req.MergePatch(P(plural, "x"), plural == "secrets" ? """{"stringData":{"k":"w"}}""" : """{"data":{"k":"w"}}""")] };
            yield return new Case { Id = $"objects/{plural}-immutable-unset", Setup = [Req.Post(P(plural), immutable)], Steps = [Req.MergePatch(P(plural, "x"), """{"immutable":false}""")] };
            yield return new Case { Id = $"objects/{plural}-immutable-labels-ok", Setup = [Req.Post(P(plural), immutable)], Steps = [Req.MergePatch(P(plural, "x"), """{"metadata":{"labels":{"l":"1"}}}""")] };
        }

        yield return new Case { Id = "objects/secret-type-change", Setup = [Req.Post(P("secrets"), Secret("x"))], Steps = [Req.MergePatch(P("secrets", "x"), """{"type":"example.com/other"}""")] };
        yield return new Case { Id = "objects/secret-string-data-patch", Setup = [Req.Post(P("secrets"), Secret("x"))], Steps = [Req.MergePatch(P("secrets", "x"), """{"stringData":{"n":"new"}}""")] };
        yield return new Case { Id = "objects/configmap-data-strategic", Setup = [Req.Post(P("configmaps"), ConfigMap("x", """{"a":"1","b":"2"}"""))], Steps = [Req.StrategicPatch(P("configmaps", "x"), """{"data":{"a":null,"c":"3"}}""")] };
        yield return new Case { Id = "objects/serviceaccount-patch-pull-secrets", Setup = [Req.Post(P("serviceaccounts"), ServiceAccount("x"))], Steps = [Req.StrategicPatch(P("serviceaccounts", "x"), """{"imagePullSecrets":[{"name":"r1"}]}"""), Req.StrategicPatch(P("serviceaccounts", "x"), """{"imagePullSecrets":[{"name":"r2"}]}""")] };
    }

    /// <summary>Core/v1 events as kubectl and controllers write them.</summary>
    private static IEnumerable<Case> Events()
    {
        yield return new Case { Id = "events/full", Steps = [Req.Post(P("events"), Event("x", ""","source":{"component":"fid","host":"h"},"count":3,"firstTimestamp":"2026-01-01T00:00:00Z","lastTimestamp":"2026-01-01T00:01:00Z","reportingComponent":"fid","reportingInstance":"i" """.TrimEnd()))] };
        yield return new Case { Id = "events/involved-other-namespace", Steps = [Req.Post(P("events"), Event("x").Replace("\"namespace\":\"{ns}\"", "\"namespace\":\"elsewhere\"", StringComparison.Ordinal))] };
        yield return new Case { Id = "events/no-reason", Steps = [Req.Post(P("events"), Event("x").Replace("\"reason\":\"Testing\",", "", StringComparison.Ordinal))] };
        yield return new Case { Id = "events/bad-type", Steps = [Req.Post(P("events"), Event("x").Replace("\"Normal\"", "\"Loud\"", StringComparison.Ordinal))] };
        yield return new Case { Id = "events/count-patch", Setup = [Req.Post(P("events"), Event("x", ""","count":1"""))], Steps = [Req.StrategicPatch(P("events", "x"), """{"count":2,"lastTimestamp":"2026-01-01T00:02:00Z"}""")] };
        yield return new Case { Id = "events/event-time-without-reporting", Steps = [Req.Post(P("events"), Event("x", ""","eventTime":"2026-01-01T00:00:00.000000Z" """.TrimEnd()))] };
        yield return new Case { Id = "events/long-message", Steps = [Req.Post(P("events"), Event("x").Replace("\"hello\"", "\"" + new string('m', 5000) + "\"", StringComparison.Ordinal))] };
        yield return new Case { Id = "events/list-by-reason", Setup = [Req.Post(P("events"), Event("a")), Req.Post(P("events"), Event("b").Replace("Testing", "Other", StringComparison.Ordinal))], Steps = [Req.Get(P("events") + "?fieldSelector=reason%3DOther")] };
    }

    /// <summary>What may change in a pod after create, and its status subresource.</summary>
    private static IEnumerable<Case> PodUpdates()
    {
        var setup = new List<Req> { Req.Post(P("pods"), Pod("x", meta: ""","labels":{"a":"1"}""")), Running("x") };
        (string Id, string Patch)[] patches =
        [
            ("image", """{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}"""),
            ("command", """{"spec":{"containers":[{"name":"c","command":["sleep","10"]}]}}"""),
            ("add-container", """{"spec":{"containers":[{"name":"c2","image":"busybox:1.36"}]}}"""),
            ("deadline-add", """{"spec":{"activeDeadlineSeconds":100}}"""),
            ("tolerations-add", """{"spec":{"tolerations":[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":5}]}}"""),
            ("restart-policy", """{"spec":{"restartPolicy":"Never"}}"""),
            ("node-selector", """{"spec":{"nodeSelector":{"a":"b"}}}"""),
            ("labels-and-annotations", """{"metadata":{"labels":{"a":"2"},"annotations":{"n":"x"}}}"""),
            ("status-on-main-resource", """{"status":{"phase":"Succeeded"}}"""),
        ];
        foreach (var (id, patch) in patches)
        {
            yield return new Case { Id = "pods/update/" + id, NeedsServiceAccount = true, Setup = setup, Steps = [Req.StrategicPatch(P("pods", "x"), patch)] };
        }

        yield return new Case { Id = "pods/update/merge-patch-replaces-containers", NeedsServiceAccount = true, Setup = setup, Steps = [Req.MergePatch(P("pods", "x"), """{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}""")] };
        yield return new Case { Id = "pods/update/status-bad-phase", NeedsServiceAccount = true, Setup = setup, Steps = [Req.MergePatch(P("pods", "x") + "/status", """{"status":{"phase":"Sleeping"}}""")] };
        yield return new Case { Id = "pods/update/put-changing-spec", NeedsServiceAccount = true, Setup = setup, Steps = [Req.Put(P("pods", "x"), Pod("x", ""","restartPolicy":"Never" """.TrimEnd()))] };
        yield return new Case { Id = "pods/update/get-status-subresource", NeedsServiceAccount = true, Setup = setup, Steps = [Req.Get(P("pods", "x") + "/status")] };
        yield return new Case { Id = "pods/update/log-of-missing-pod", Steps = [Req.Get(P("pods", "nothing") + "/log")] };
        yield return new Case { Id = "pods/update/log-unknown-container", NeedsServiceAccount = true, Setup = setup, Steps = [Req.Get(P("pods", "x") + "/log?container=nope")] };
        yield return new Case { Id = "pods/update/log-bad-tail", NeedsServiceAccount = true, Setup = setup, Steps = [Req.Get(P("pods", "x") + "/log?tailLines=-5")] };
    }
}
