namespace Sirocco.Fidelity.Tests.Corpus;

public static partial class CorpusCases
{
    private const string C = """{"name":"c","image":"busybox:1.36","command":["sleep","3600"]}""";

    private static readonly (string Id, string Containers, string Spec)[] Specs =
    [
        ("no-containers", "[]", ""),
        ("container-without-name", """[{"image":"busybox:1.36"}]""", ""),
        ("container-without-image", """[{"name":"c"}]""", ""),
        ("duplicate-container-names", $"[{C},{C}]", ""),
        ("init-named-like-container", $"[{C}]", ""","initContainers":[{"name":"c","image":"busybox:1.36"}]"""),
        ("duplicate-volumes", $"[{C}]", ""","volumes":[{"name":"v","emptyDir":{}},{"name":"v","emptyDir":{}}]"""),
        ("mount-unknown-volume", """[{"name":"c","image":"busybox:1.36","volumeMounts":[{"name":"nope","mountPath":"/data"}]}]""", ""),
        ("mount-without-path", """[{"name":"c","image":"busybox:1.36","volumeMounts":[{"name":"v"}]}]""", ""","volumes":[{"name":"v","emptyDir":{}}]"""),
        ("mount-same-path-twice", """[{"name":"c","image":"busybox:1.36","volumeMounts":[{"name":"v","mountPath":"/d"},{"name":"w","mountPath":"/d"}]}]""", ""","volumes":[{"name":"v","emptyDir":{}},{"name":"w","emptyDir":{}}]"""),
        ("subpath-dotdot", """[{"name":"c","image":"busybox:1.36","volumeMounts":[{"name":"v","mountPath":"/d","subPath":"../x"}]}]""", ""","volumes":[{"name":"v","emptyDir":{}}]"""),
        ("subpath-absolute", """[{"name":"c","image":"busybox:1.36","volumeMounts":[{"name":"v","mountPath":"/d","subPath":"/x"}]}]""", ""","volumes":[{"name":"v","emptyDir":{}}]"""),
        ("volume-without-source", $"[{C}]", ""","volumes":[{"name":"v"}]"""),
        ("volume-two-sources", $"[{C}]", ""","volumes":[{"name":"v","emptyDir":{},"hostPath":{"path":"/tmp"}}]"""),
        ("volume-bad-name", $"[{C}]", ""","volumes":[{"name":"V_1","emptyDir":{}}]"""),
        ("hostpath-relative", $"[{C}]", ""","volumes":[{"name":"v","hostPath":{"path":"tmp"}}]"""),
        ("hostpath-bad-type", $"[{C}]", ""","volumes":[{"name":"v","hostPath":{"path":"/tmp","type":"Folder"}}]"""),
        ("secret-volume-no-name", $"[{C}]", ""","volumes":[{"name":"v","secret":{}}]"""),
        ("secret-volume-bad-mode", $"[{C}]", ""","volumes":[{"name":"v","secret":{"secretName":"s","defaultMode":4096}}]"""),
        ("secret-volume-item-dotdot", $"[{C}]", ""","volumes":[{"name":"v","secret":{"secretName":"s","items":[{"key":"k","path":"../k"}]}}]"""),
        ("configmap-volume-ok", $"[{C}]", ""","volumes":[{"name":"v","configMap":{"name":"cm","optional":true,"items":[{"key":"k","path":"p","mode":256}]}}]"""),
        ("emptydir-size", $"[{C}]", ""","volumes":[{"name":"v","emptyDir":{"medium":"Memory","sizeLimit":"64Mi"}}]"""),
        ("emptydir-bad-medium", $"[{C}]", ""","volumes":[{"name":"v","emptyDir":{"medium":"Disk"}}]"""),
        ("downward-volume", $"[{C}]", ""","volumes":[{"name":"v","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}}]}}]"""),
        ("projected-volume", $"[{C}]", ""","volumes":[{"name":"v","projected":{"sources":[{"secret":{"name":"s"}},{"configMap":{"name":"c"}}]}}]"""),
        ("bad-restart-policy", $"[{C}]", ""","restartPolicy":"Sometimes" """.TrimEnd()),
        ("restart-never", $"[{C}]", ""","restartPolicy":"Never" """.TrimEnd()),
        ("negative-deadline", $"[{C}]", ""","activeDeadlineSeconds":-5"""),
        ("zero-deadline", $"[{C}]", ""","activeDeadlineSeconds":0"""),
        ("negative-grace", $"[{C}]", ""","terminationGracePeriodSeconds":-1"""),
        ("bad-dns-policy", $"[{C}]", ""","dnsPolicy":"Whatever" """.TrimEnd()),
        ("dns-none-without-config", $"[{C}]", ""","dnsPolicy":"None" """.TrimEnd()),
        ("host-network-dns-default", $"[{C}]", ""","hostNetwork":true"""),
        ("bad-port", """[{"name":"c","image":"busybox:1.36","ports":[{"containerPort":70000}]}]""", ""),
        ("port-ok", """[{"name":"c","image":"busybox:1.36","ports":[{"containerPort":8080,"name":"http"}]}]""", ""),
        ("port-bad-protocol", """[{"name":"c","image":"busybox:1.36","ports":[{"containerPort":80,"protocol":"ICMP"}]}]""", ""),
        ("port-duplicate-name", """[{"name":"c","image":"busybox:1.36","ports":[{"containerPort":80,"name":"p"},{"containerPort":81,"name":"p"}]}]""", ""),
        ("env-bad-name", """[{"name":"c","image":"busybox:1.36","env":[{"name":"1=bad","value":"x"}]}]""", ""),
        ("env-value-and-from", """[{"name":"c","image":"busybox:1.36","env":[{"name":"A","value":"x","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]""", ""),
        ("env-bad-field-path", """[{"name":"c","image":"busybox:1.36","env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"spec.nope"}}}]}]""", ""),
        ("env-field-ref-ok", """[{"name":"c","image":"busybox:1.36","env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},{"name":"B","valueFrom":{"secretKeyRef":{"name":"s","key":"k","optional":true}}}]}]""", ""),
        ("env-secret-ref-no-key", """[{"name":"c","image":"busybox:1.36","env":[{"name":"A","valueFrom":{"secretKeyRef":{"name":"s"}}}]}]""", ""),
        ("env-resource-field", """[{"name":"c","image":"busybox:1.36","env":[{"name":"A","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}}]}]""", ""),
        ("envfrom-ok", """[{"name":"c","image":"busybox:1.36","envFrom":[{"prefix":"P_","secretRef":{"name":"s"}},{"configMapRef":{"name":"c","optional":true}}]}]""", ""),
        ("envfrom-bad-prefix", """[{"name":"c","image":"busybox:1.36","envFrom":[{"prefix":"1 bad","configMapRef":{"name":"c"}}]}]""", ""),
        ("image-latest", """[{"name":"c","image":"busybox:latest"}]""", ""),
        ("image-untagged", """[{"name":"c","image":"registry.example.com:5000/team/app"}]""", ""),
        ("image-digest", """[{"name":"c","image":"busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111"}]""", ""),
        ("bad-pull-policy", """[{"name":"c","image":"busybox:1.36","imagePullPolicy":"Sometimes"}]""", ""),
        ("bad-termination-policy", """[{"name":"c","image":"busybox:1.36","terminationMessagePolicy":"Whatever"}]""", ""),
        ("termination-path-custom", """[{"name":"c","image":"busybox:1.36","terminationMessagePath":"/tmp/msg","terminationMessagePolicy":"FallbackToLogsOnError"}]""", ""),
        ("node-selector", $"[{C}]", ""","nodeSelector":{"disk":"ssd"}"""),
        ("node-selector-bad-key", $"[{C}]", ""","nodeSelector":{"-disk":"ssd"}"""),
        ("tolerations", $"[{C}]", ""","tolerations":[{"key":"k","operator":"Equal","value":"v","effect":"NoSchedule"}]"""),
        ("toleration-bad-operator", $"[{C}]", ""","tolerations":[{"key":"k","operator":"Maybe"}]"""),
        ("toleration-exists-with-value", $"[{C}]", ""","tolerations":[{"key":"k","operator":"Exists","value":"v"}]"""),
        ("affinity-required", $"[{C}]", ""","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}]}}}"""),
        ("affinity-bad-operator", $"[{C}]", ""","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"Near","values":["a"]}]}]}}}"""),
        ("service-account-name", $"[{C}]", ""","serviceAccountName":"default","automountServiceAccountToken":false"""),
        ("service-account-bad-name", $"[{C}]", ""","serviceAccountName":"Bad_SA" """.TrimEnd()),
        ("service-account-missing", $"[{C}]", ""","serviceAccountName":"nobody" """.TrimEnd()),
        ("security-context", """[{"name":"c","image":"busybox:1.36","securityContext":{"runAsUser":1000,"runAsNonRoot":true,"allowPrivilegeEscalation":false}}]""", ""","securityContext":{"fsGroup":2000}"""),
        ("security-context-negative-user", """[{"name":"c","image":"busybox:1.36","securityContext":{"runAsUser":-1}}]""", ""),
        ("priority-class-missing", $"[{C}]", ""","priorityClassName":"nope" """.TrimEnd()),
        ("hostname-subdomain", $"[{C}]", ",\"hostname\":\"h\",\"subdomain\":\"s\""),
        ("hostname-bad", $"[{C}]", ""","hostname":"Bad_Host" """.TrimEnd()),
        ("image-pull-secrets", $"[{C}]", ""","imagePullSecrets":[{"name":"regcred"}]"""),
        ("command-and-args", """[{"name":"c","image":"busybox:1.36","command":["sh","-c"],"args":["echo $(A)"],"workingDir":"/tmp","stdin":true,"tty":true}]""", ""),
        ("working-dir-relative", """[{"name":"c","image":"busybox:1.36","workingDir":"tmp"}]""", ""),
        ("two-containers-and-init", """[{"name":"a","image":"busybox:1.36"},{"name":"b","image":"busybox:1.36"}]""", ""","initContainers":[{"name":"i","image":"busybox:1.36","command":["true"]}]"""),
        ("node-name-set", $"[{C}]", ""","nodeName":"some-node" """.TrimEnd()),
        ("overhead-set", $"[{C}]", ""","overhead":{"cpu":"1"}"""),
    ];

    /// <summary>Pod specs: validation errors and the defaults filled in on create.</summary>
    private static IEnumerable<Case> PodSpecs()
    {
        foreach (var (id, containers, spec) in Specs)
        {
            yield return new Case { Id = "pods/spec/" + id, NeedsServiceAccount = true, Steps = [Req.Post(P("pods"), PodWith("s", containers, spec))] };
        }

        yield return new Case
        {
            Id = "pods/unschedulable/node-selector",
            NeedsServiceAccount = true,
            Steps =
            [
                Req.Post(P("pods"), Pod("u", ""","nodeSelector":{"fidelity/none":"x"}""")),
                Req.Get(P("pods", "u")) with { WithStatus = true, Until = n => n?["status"]?["conditions"] is not null },
            ],
        };
        yield return new Case
        {
            Id = "pods/unschedulable/affinity",
            NeedsServiceAccount = true,
            Steps =
            [
                Req.Post(P("pods"), Pod("u", ""","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"fidelity/none","operator":"Exists"}]}]}}}""")),
                Req.Get(P("pods", "u")) with { WithStatus = true, Until = n => n?["status"]?["conditions"] is not null },
            ],
        };
    }
}
