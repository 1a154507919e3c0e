namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    private static readonly (string Id, string Containers, string Spec)[] ProbeSpecs =
    [
        ("multi-1", """[{"name":"Bad_C","image":"","ports":[{"containerPort":0,"name":"Http--x-very-long-name"},{"containerPort":80,"hostPort":70000,"protocol":"icmp"}],"env":[{"name":""},{"name":"..a","valueFrom":{}},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['a/b/c']"}}},{"name":"C","valueFrom":{"fieldRef":{"fieldPath":"status.phase"}}},{"name":"D","valueFrom":{"resourceFieldRef":{"resource":"limits.gpu"}}},{"name":"E","valueFrom":{"configMapKeyRef":{"name":"Bad","key":"../x"},"secretKeyRef":{"name":"s","key":"k"}}}]}]""", ""),
        ("multi-2", """[{"name":"c","image":"i","envFrom":[{},{"configMapRef":{"name":""},"secretRef":{"name":"Bad_"}}],"volumeMounts":[{"name":"","mountPath":""},{"name":"v","mountPath":"/a","subPath":"/x/../y","subPathExpr":"/e"}],"resources":{"limits":{"cpu":"1","example.com/foo":"2","kubernetes.io/bar":"1","Bad Name":"1"},"requests":{"cpu":"2","example.com/foo":"1","hugepages-2Mi":"2Mi"}},"securityContext":{"runAsUser":-5,"runAsGroup":3000000000}}]""", ""","volumes":[{"name":"v","emptyDir":{}}]"""),
        ("multi-3", $"[{C}]", ""","volumes":[{"name":"a","secret":{"defaultMode":-1,"items":[{"key":"","path":""},{"key":"k","path":"..x","mode":1000}]}},{"name":"b","configMap":{"items":[{"key":"k","path":"/abs"}]}},{"name":"c","hostPath":{"path":""}},{"name":"d","persistentVolumeClaim":{}},{"name":"e","downwardAPI":{"defaultMode":9999,"items":[{"path":"x","fieldRef":{"fieldPath":"spec.nodeName"}},{"path":"y"},{"path":"z","resourceFieldRef":{"resource":"limits.cpu"}},{"path":"w","fieldRef":{"fieldPath":"metadata.annotations['Bad Key']"}}]}}]"""),
        ("multi-4", $"[{C}]", ""","restartPolicy":"Sometimes","dnsPolicy":"None","dnsConfig":{"nameservers":["1.2.3.4","bad"]},"nodeSelector":{"a/b/c":"-x","ok":"v"},"securityContext":{"fsGroup":-1,"runAsUser":-1,"supplementalGroups":[1,-2]},"hostname":"A","subdomain":"b_c","nodeName":"Bad_Node","activeDeadlineSeconds":0,"priorityClassName":"Bad_P","tolerations":[{"operator":"Equal","value":"v"},{"key":"k","operator":"Equal","value":"-bad-","effect":"Never"},{"key":"k","tolerationSeconds":5,"effect":"NoSchedule"}]"""),
        ("multi-5", $"[{C}]", ""","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"a","operator":"In"},{"key":"-b","operator":"Exists","values":["x"]},{"key":"c","operator":"Gt","values":["1","2"]}]}]},"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":0,"preference":{"matchExpressions":[{"key":"z","operator":"Nope"}]}}]}}"""),
        ("multi-6", $"[{C}]", ""","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[]}}}"""),
        ("multi-7", """[{"name":"c","image":"i","livenessProbe":{"exec":{"command":["true"]},"successThreshold":2},"terminationMessagePolicy":""}]""", ""","initContainers":[{"name":"i","image":"i","readinessProbe":{"exec":{"command":["true"]}}},{"name":"i","image":"i"}]"""),
        ("multi-8", """[{"name":"c","image":"i","ports":[{"containerPort":80,"hostPort":81}]}]""", ""","hostNetwork":true"""),
        ("multi-9", """[{"name":"c","image":"i","resources":{"requests":{"example.com/foo":"1"}}}]""", ""),
        ("multi-10", """[{"name":"c","image":"i","env":[{"name":"A","valueFrom":{"fieldRef":{"apiVersion":"v2","fieldPath":"metadata.name"}}},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName['x']"}}},{"name":"C","valueFrom":{"fieldRef":{"fieldPath":"spec.host"}}}]}]""", ""),
        ("v-probe-defaults", """[{"name":"c","image":"i","readinessProbe":{"exec":{"command":["cat","/tmp/ready"]}},"livenessProbe":{"httpGet":{"port":8080}},"startupProbe":{"tcpSocket":{"port":80},"periodSeconds":2},"lifecycle":{"postStart":{"httpGet":{"port":80,"path":"/up"}},"preStop":{"httpGet":{"port":81,"scheme":"HTTPS"}}}}]""", ""),
        ("b-probe", """[{"name":"c","image":"i","livenessProbe":{"httpGet":{"port":0,"path":"x"},"initialDelaySeconds":-1,"timeoutSeconds":0,"periodSeconds":-2,"failureThreshold":-1},"readinessProbe":{"tcpSocket":{"port":"Bad_Name"}},"startupProbe":{}}]""", ""),
        ("b-probe2", """[{"name":"c","image":"i","readinessProbe":{"exec":{"command":["a"]},"httpGet":{"port":80}},"livenessProbe":{"httpGet":{"port":70000,"scheme":"FTP"}}}]""", ""),
        ("b-lifecycle", """[{"name":"c","image":"i","lifecycle":{"postStart":{},"preStop":{"exec":{}}}}]""", ""),
        ("b-sc", """[{"name":"c","image":"i","securityContext":{"privileged":true,"allowPrivilegeEscalation":false,"capabilities":{"add":["CAP_SYS_ADMIN"]},"procMount":"Weird","seccompProfile":{"type":"Bogus"}}}]""", ""),
        ("b-podsc", $"[{C}]", ""","securityContext":{"sysctls":[{"name":"bad name","value":"1"}],"fsGroupChangePolicy":"Sometimes","seccompProfile":{"type":"Localhost"}},"hostPID":true,"shareProcessNamespace":true"""),
        ("b-hostaliases", $"[{C}]", ""","hostAliases":[{"ip":"bad","hostnames":["Bad_Host"]},{"hostnames":["a"]}]"""),
        ("b-readiness", $"[{C}]", ""","readinessGates":[{"conditionType":"bad type!"}]"""),
        ("b-topology", $"[{C}]", ""","topologySpreadConstraints":[{"maxSkew":0,"topologyKey":"","whenUnsatisfiable":"Maybe"}]"""),
        ("b-pullsecrets", $"[{C}]", ""","imagePullSecrets":[{"name":""},{}]"""),
        ("b-projected", $"[{C}]", ""","volumes":[{"name":"p","projected":{"sources":[{"serviceAccountToken":{"path":"/abs","expirationSeconds":10}},{"secret":{"items":[{"key":"k","path":"a"}]}},{"configMap":{"name":"c","items":[{"key":"k","path":"a"}]}},{}],"defaultMode":420}}]"""),
        ("b-podaffinity", $"[{C}]", ""","affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchExpressions":[{"key":"a","operator":"Bad"}]},"topologyKey":""}],"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":200,"podAffinityTerm":{"topologyKey":"k"}}]}}"""),
        ("b-devices", """[{"name":"c","image":"i","volumeDevices":[{"name":"v","devicePath":"rel"}],"volumeMounts":[{"name":"v","mountPath":"/m","mountPropagation":"Odd"}]}]""", ""","volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"c"}}]"""),
        ("b-env-dup", """[{"name":"c","image":"i","env":[{"name":"A","value":"1"},{"name":"A","value":"2"},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.annotations['ok']"}}},{"name":"C","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"-1"}}}]}]""", ""),
        ("b-emptydir", $"[{C}]", ""","volumes":[{"name":"v","emptyDir":{"sizeLimit":"-1"}}]"""),
        ("b-ports-hostnet", """[{"name":"c","image":"i","ports":[{"containerPort":80,"hostPort":80},{"containerPort":81,"hostPort":80}]}]""", ""),
        ("b-runtime", $"[{C}]", ""","runtimeClassName":"Bad_RC","preemptionPolicy":"Sometimes","enableServiceLinks":true"""),
        ("b-dnsconfig", $"[{C}]", ""","dnsConfig":{"nameservers":["1.1.1.1","2.2.2.2","3.3.3.3","4.4.4.4"],"searches":["Bad_Search"],"options":[{"value":"x"}]}"""),
        ("b-grace-dead", $"[{C}]", ""","activeDeadlineSeconds":3000000000"""),
        ("b-image-space", """[{"name":"c","image":" busybox "}]""", ""),
        ("b-no-spec-name", """[{"name":"c","image":"i","stdinOnce":true,"terminationMessagePath":"relative"}]""", ""),
    ];

    /// <summary>Many invalid fields at once (probes, security contexts, affinity, DNS, projected volumes…): the order
    /// and wording of every error.</summary>
    private static IEnumerable<Case> Probes()
    {
        foreach (var (id, containers, spec) in ProbeSpecs)
        {
            yield return new Case { Id = "probe/" + id, NeedsServiceAccount = true, Steps = [Req.Post(P("pods"), PodWith("s", containers, spec))] };
        }

        yield return new Case { Id = "probe/c-ownerrefs", Steps = [Req.Post(P("configmaps"), """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","ownerReferences":[{"apiVersion":"","kind":"","name":"","uid":""},{"apiVersion":"v1","kind":"Pod","name":"p","uid":"u1","controller":true},{"apiVersion":"v1","kind":"Pod","name":"q","uid":"u2","controller":true}]}}""")] };
        yield return new Case { Id = "probe/c-finalizers", Steps = [Req.Post(P("configmaps"), """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","finalizers":["nodomain","example.com/ok","Bad Name/x","kubernetes","foregroundDeletion","orphan"]}}""")] };
        yield return new Case { Id = "probe/c-ns-finalizers", Steps = [Req.Post("/api/v1/namespaces", """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{ns}-fin"},"spec":{"finalizers":["bad","example.com/ok"]}}""")] };
        yield return new Case { Id = "probe/c-ns-annotation", Steps = [Req.Post("/api/v1/namespaces", """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{ns}-ann","annotations":{"-bad":"v"},"labels":{"ok":"v"}}}""")] };
        yield return new Case { Id = "probe/c-sa", Steps = [Req.Post(P("serviceaccounts"), """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"Bad_SA"},"secrets":[{"name":"Bad"}],"imagePullSecrets":[{"name":""}]}""")] };
        yield return new Case { Id = "probe/c-secret-update-type", Setup = [Req.Post(P("secrets"), """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x","labels":{"a":"b"}},"data":{"k":"dg=="}}""")], Steps = [Req.MergePatch(P("secrets", "x"), """{"type":"kubernetes.io/tls","metadata":{"labels":{"a":"-"}}}""")] };
        yield return new Case { Id = "probe/c-cm-update-badkey", Setup = [Req.Post(P("configmaps"), """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"v"}}""")], Steps = [Req.MergePatch(P("configmaps", "x"), """{"data":{"bad key":"v"},"metadata":{"annotations":{"-a":"b"}}}""")] };
        yield return new Case { Id = "probe/c-event-update", Setup = [Req.Post(P("events"), Event("x"))], Steps = [Req.MergePatch(P("events", "x"), """{"involvedObject":{"namespace":"other"},"metadata":{"labels":{"-a":"b"}}}""")] };
        yield return new Case { Id = "probe/c-event-series", Steps = [Req.Post(P("events"), Event("x", ""","eventTime":"2026-01-01T00:00:00.000000Z","reportingComponent":"c","reportingInstance":"i","action":"A","series":{"count":1,"lastObservedTime":"2026-01-01T00:00:00.000000Z"},"type":"Weird" """.TrimEnd()))] };
        yield return new Case { Id = "probe/c-event-long", Steps = [Req.Post(P("events"), Event("x", ""","eventTime":"2026-01-01T00:00:00.000000Z","reportingComponent":"c","reportingInstance":"{{{new string('i', 200)}}}","action":"{{{new string('a', 200)}}}" """.TrimEnd().Replace("{{{new string('i', 200)}}}", new string('i', 200), StringComparison.Ordinal).Replace("{{{new string('a', 200)}}}", new string('a', 200), StringComparison.Ordinal)))] };
        yield return new Case { Id = "probe/c-pod-update-labels", NeedsServiceAccount = true, Setup = [Req.Post(P("pods"), PodWith("s", $"[{C}]"))], Steps = [Req.MergePatch(P("pods", "s"), """{"metadata":{"labels":{"-a":"b"}}}""")] };
        yield return new Case { Id = "probe/c-ns-update-labels", Setup = [Req.Post("/api/v1/namespaces", """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{ns}-u"}}""")], Steps = [Req.MergePatch("/api/v1/namespaces/{ns}-u", """{"metadata":{"labels":{"-a":"b"}}}""")] };
        yield return new Case { Id = "probe/c-cm-generate", Steps = [Req.Post(P("configmaps"), """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"ok-","labels":{"a":"-"}}}""") with { GeneratedPrefix = "ok-" }] };
        yield return new Case { Id = "probe/cm-keys", Steps = [Req.Post(P("configmaps"), """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","annotations":{"A/B":"v","Example.com/x":"y"}},"data":{".":"a","..x":"b","a b":"c"},"binaryData":{"..":"AA==","ok":"AA=="}}""")] };
        yield return new Case { Id = "probe/secret-keys", Steps = [Req.Post(P("secrets"), """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"type":"kubernetes.io/tls","data":{"a b":"AA==","tls.crt":"AA=="}}""")] };
        yield return new Case { Id = "probe/secret-basic-empty", Steps = [Req.Post(P("secrets"), """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"type":"kubernetes.io/basic-auth"}""")] };
        yield return new Case { Id = "probe/secret-dockercfg-missing", Steps = [Req.Post(P("secrets"), """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"type":"kubernetes.io/dockercfg"}""")] };
        yield return new Case { Id = "probe/secret-dockercfg-array", Steps = [Req.Post(P("secrets"), """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"[1]"}}""")] };
        yield return new Case { Id = "probe/secret-dockercfg-garbage", Steps = [Req.Post(P("secrets"), """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"{\"a\":"}}""")] };
        yield return new Case { Id = "probe/event-slash", Steps = [Req.Post(P("events"), Event("a%b"))] };
        yield return new Case { Id = "probe/event-dot", Steps = [Req.Post(P("events"), Event(".."))] };
        yield return new Case { Id = "probe/event-labels", Steps = [Req.Post(P("events"), Event("x").Replace("\"name\":\"x\"", "\"name\":\"x\",\"labels\":{\"-a\":\"b\"}", StringComparison.Ordinal))] };
        yield return new Case { Id = "probe/event-time-full", Steps = [Req.Post(P("events"), Event("x", ""","eventTime":"2026-01-01T00:00:00.000000Z","reportingComponent":"a/b/c","reportingInstance":"i","action":"A" """.TrimEnd()))] };
        yield return new Case { Id = "probe/event-default-ns", Steps = [Req.Post(P("events"), Event("x").Replace("\"namespace\":\"{ns}\"", "\"namespace\":\"\"", StringComparison.Ordinal))] };
        yield return new Case { Id = "probe/sa-bad-label", Steps = [Req.Post(P("serviceaccounts"), """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"x","labels":{"a":"-"},"generateName":"Q-"}}""")] };
    }
}
