using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.Fuzz;

/// <summary>One generated request to the Kubernetes API.</summary>
/// <param name="Method">POST, PUT or PATCH.</param>
/// <param name="Path">The path and query.</param>
/// <param name="ContentType">The Content-Type header.</param>
/// <param name="Body">The body's bytes.</param>
internal sealed record KubernetesRequest(string Method, string Path, string ContentType, byte[] Body)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Method} {Path}\nContent-Type: {ContentType}\n\n" + (ContentType == ProtobufEnvelope.MediaType
        ? Convert.ToHexString(Body)
        : Encoding.UTF8.GetString(Body));
}

/// <summary>
/// Pod, ConfigMap and Secret manifests: valid ones (a minimal pod, a pod with most fields of the spec, a ConfigMap,
/// Secrets of three types) mutated by a <see cref="JsonMutator"/> that knows the manifests' field names, quantities,
/// enum values and odd names. Pods are created with <c>dryRun=All</c> (validated, admitted, never stored or run);
/// ConfigMaps and Secrets are created for real or dry, and a base ConfigMap is patched (merge, strategic merge, JSON
/// patch) and replaced. Some bodies go as YAML (with anchors and aliases) or protobuf.
/// </summary>
internal sealed class KubernetesManifestGenerator
{
    /// <summary>The namespace the requests go to (created by the target).</summary>
    public const string Namespace = "fuzz";

    /// <summary>The ConfigMap patched and replaced (created by the target).</summary>
    public const string BaseConfigMap = "fuzz-base";

    /// <summary>Valid manifests by kind.</summary>
    public static readonly IReadOnlyList<(string Resource, JsonNode Manifest)> Seeds =
    [
        ("pods", Parse("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fuzz-pod","labels":{"app":"fuzz"}},"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox:1.36","command":["sh","-c","echo hi"]}]}}""")),
        ("pods", Parse("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"fuzz-rich","namespace":"fuzz","labels":{"app.kubernetes.io/name":"fuzz","tier":"a"},"annotations":{"note":"x"}},
             "spec":{"restartPolicy":"OnFailure","activeDeadlineSeconds":600,"terminationGracePeriodSeconds":5,"dnsPolicy":"ClusterFirst","hostname":"h","subdomain":"s",
              "nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Equal","value":"v","effect":"NoSchedule","tolerationSeconds":30}],
              "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}]}}},
              "securityContext":{"runAsUser":1000,"runAsGroup":1000,"fsGroup":2000,"runAsNonRoot":true},"hostAliases":[{"ip":"10.0.0.1","hostnames":["db.local"]}],
              "imagePullSecrets":[{"name":"regcred"}],"dnsConfig":{"nameservers":["1.1.1.1"],"options":[{"name":"ndots","value":"2"}]},
              "volumes":[{"name":"scratch","emptyDir":{"medium":"Memory","sizeLimit":"64Mi"}},{"name":"cfg","configMap":{"name":"cm","optional":true,"items":[{"key":"k","path":"p","mode":256}]}},
               {"name":"sec","secret":{"secretName":"s","defaultMode":420}},{"name":"down","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}}]}},
               {"name":"proj","projected":{"sources":[{"secret":{"name":"s"}},{"configMap":{"name":"c"}}]}}],
              "initContainers":[{"name":"init","image":"busybox:1.36","command":["true"]}],
              "containers":[{"name":"main","image":"registry.example.com:5000/team/app@sha256:1111111111111111111111111111111111111111111111111111111111111111","imagePullPolicy":"IfNotPresent",
               "command":["sh","-c"],"args":["echo $(A)"],"workingDir":"/tmp","ports":[{"containerPort":8080,"name":"http","protocol":"TCP"}],
               "env":[{"name":"A","value":"x"},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},{"name":"C","valueFrom":{"secretKeyRef":{"name":"s","key":"k","optional":true}}},
                {"name":"D","valueFrom":{"resourceFieldRef":{"containerName":"main","resource":"limits.cpu","divisor":"1m"}}}],
               "envFrom":[{"prefix":"P_","configMapRef":{"name":"c","optional":true}}],
               "resources":{"requests":{"cpu":"250m","memory":"64Mi","ephemeral-storage":"1Gi"},"limits":{"cpu":"1","memory":"128Mi"}},
               "volumeMounts":[{"name":"scratch","mountPath":"/scratch"},{"name":"cfg","mountPath":"/etc/cfg","readOnly":true,"subPath":"p"}],
               "livenessProbe":{"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"initialDelaySeconds":3,"periodSeconds":10,"failureThreshold":3},
               "readinessProbe":{"exec":{"command":["cat","/tmp/ready"]}},"startupProbe":{"tcpSocket":{"port":"http"}},
               "lifecycle":{"preStop":{"exec":{"command":["sleep","1"]}}},"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}},
               "terminationMessagePolicy":"FallbackToLogsOnError","stdin":false,"tty":false}]}}
            """)),
        ("configmaps", Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz-cm","labels":{"a":"b"}},"data":{"key":"value","file.txt":"line1\nline2"},"binaryData":{"bin":"AAEC"}}""")),
        ("secrets", Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"fuzz-secret"},"type":"Opaque","data":{"password":"cGFzc3dvcmQ="},"stringData":{"user":"someone"}}""")),
        ("secrets", Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"fuzz-tls"},"type":"kubernetes.io/tls","data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"}}""")),
        ("secrets", Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"fuzz-docker"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"eyJhdXRocyI6e319"}}""")),
    ];

    /// <summary>JSON patches of the base ConfigMap.</summary>
    private static readonly JsonNode JsonPatch = Parse("""
        [{"op":"add","path":"/data/added","value":"v"},{"op":"replace","path":"/metadata/labels/a","value":"c"},{"op":"test","path":"/data/key","value":"value"},
         {"op":"copy","from":"/data/key","path":"/data/copied"},{"op":"move","from":"/data/copied","path":"/data/moved"},{"op":"remove","path":"/data/moved"}]
        """);

    /// <summary>Values worth putting in a manifest: quantities, enum members, label keys, names, base64.</summary>
    private static readonly string[] Values =
    [
        "500m", "1Gi", "0", "-1", "1e3", "1.5", "100Ki", "1E", "9223372036854775807", "0.0001m", "1ki", "1e-9", "+1", ".5", "1..0",
        "Always", "Never", "OnFailure", "IfNotPresent", "ClusterFirst", "None", "Default", "Exists", "Equal", "NoSchedule", "NoExecute",
        "TCP", "UDP", "SCTP", "HTTP", "HTTPS", "Memory", "Opaque", "In", "NotIn", "Gt", "DoesNotExist", "app.kubernetes.io/name",
        "a/b/c", "-bad", new string('x', 64), new string('a', 254), "UPPER", "a..b", "a-", "kubernetes.io/tls", "c2VjcmV0", "!!!",
        "metadata.name", "spec.nodeName", "status.podIP", "limits.memory", "requests.cpu", "/abs/path", "rel/path", "../up",
        "1e99999", "1e2000000000", "1e-2000000000", "0.1e99999", "999999999999999999999Ei", "0.000000000000000000001", "1.7976931348623157e308",
    ];

    private readonly JsonMutator _mutator;

    /// <summary>Creates the generator.</summary>
    public KubernetesManifestGenerator()
    {
        var (names, values) = JsonMutator.Vocabulary(Seeds.Select(s => s.Manifest).Append(JsonPatch));
        _mutator = new JsonMutator(names, [.. values.Concat(Values.Select(v => (JsonNode?)JsonValue.Create(v)))]);
    }

    /// <summary>One request.</summary>
    /// <param name="random">The case's random source.</param>
    /// <returns>The request.</returns>
    public KubernetesRequest Generate(Random random)
    {
        var collection = $"/api/v1/namespaces/{Namespace}";
        var roll = random.Next(100);
        if (roll < 8)
        {
            var secret = random.Next(2) == 0;
            var bytes = ProtobufEnvelope.Object(secret ? "fuzz-proto-secret" : "fuzz-proto-cm", secret, new Dictionary<string, string> { ["k"] = "v" });
            return new($"POST", $"{collection}/{(secret ? "secrets" : "configmaps")}?dryRun=All", ProtobufEnvelope.MediaType, random.Next(5) == 0 ? bytes : ProtobufEnvelope.Mutate(random, bytes));
        }

        if (roll < 22)
        {
            return Patch(random, collection);
        }

        var (resource, manifest) = TextMutator.Pick(random, Seeds);
        var body = random.Next(8) == 0 ? manifest.ToJsonString() : _mutator.Mutate(random, manifest);
        var dryRun = resource == "pods" || random.Next(2) == 0;
        var contentType = "application/json";
        if (random.Next(10) == 0)
        {
            (contentType, body) = ("application/yaml", Yaml(random, body));
        }

        return new("POST", $"{collection}/{resource}" + (dryRun ? "?dryRun=All" : string.Empty), contentType, Encoding.UTF8.GetBytes(body));
    }

    private KubernetesRequest Patch(Random random, string collection)
    {
        var path = $"{collection}/configmaps/{BaseConfigMap}" + (random.Next(4) == 0 ? string.Empty : "?dryRun=All");
        var configMap = Seeds.First(s => s.Resource == "configmaps").Manifest.DeepClone();
        configMap["metadata"]!["name"] = BaseConfigMap;
        return random.Next(4) switch
        {
            0 => new("PATCH", path, "application/json-patch+json", Encoding.UTF8.GetBytes(_mutator.Mutate(random, JsonPatch))),
            1 => new("PATCH", path, "application/merge-patch+json", Encoding.UTF8.GetBytes(_mutator.Mutate(random, configMap))),
            2 => new("PATCH", path, "application/strategic-merge-patch+json", Encoding.UTF8.GetBytes(_mutator.Mutate(random, configMap))),
            _ => new("PUT", path, "application/json", Encoding.UTF8.GetBytes(_mutator.Mutate(random, configMap))),
        };
    }

    /// <summary>The JSON text as YAML (JSON is YAML), sometimes with anchors and aliases, up to an exponential blow-up.</summary>
    private static string Yaml(Random random, string json) => random.Next(7) switch
    {
        0 => "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
            + "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            + "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nmetadata: {name: laughs, labels: {x: *g}}\n",
        1 => "metadata: &m {name: fuzz-yaml}\nkind: ConfigMap\napiVersion: v1\ndata: {<<: *m, k: !!binary AAEC, t: 2024-01-01, n: .nan, o: 0o17}\n---\nsecond: doc\n",
        2 => "metadata:\n  name: *undefined\n",
        3 => "metadata: {name: deep}\ndata: " + TextMutator.Nest("[", "x", "]", TextMutator.DeepDepth(random), balanced: true) + "\n",
        4 => "metadata: {name: keys, labels: {a: '1', 'a': '2'}}\ndata:\n  ? [a, b]\n  : c\n  {x: y}: z\n",
        _ => json,
    };

    private static JsonNode Parse(string json) => JsonNode.Parse(json)!;
}
