using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// Pod Security admission: baseline by default in every user namespace, relaxed or tightened by the namespace label,
/// refusals worded as the real API server words them. (The reference kube-apiserver of the fidelity corpus is v1.20,
/// older than Pod Security admission, so these answers are checked here against the documented wording.)
/// </summary>
[Collection("cluster")]
public sealed class PodSecurityTests(ClusterFixture fx)
{
    private const string Enforce = "pod-security.kubernetes.io/enforce";
    private readonly Kubernetes _client = fx.Client;

    private async Task<string> RefusedAsync(string ns, V1Pod pod)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedPodAsync(pod, ns));
        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(e.Response.Content);
        Assert.Equal("Forbidden", status.Reason);
        return status.Message;
    }

    private static V1Pod HostPod(string name)
    {
        var pod = ClusterFixture.Pod(name, "true");
        pod.Spec.HostNetwork = true;
        pod.Spec.HostPID = true;
        pod.Spec.Volumes = [new() { Name = "root", HostPath = new() { Path = "/" } }, new() { Name = "db", HostPath = new() { Path = "/var/lib" } }];
        var c = pod.Spec.Containers[0];
        c.SecurityContext = new V1SecurityContext { Privileged = true, Capabilities = new V1Capabilities { Add = ["SYS_ADMIN", "CHOWN"] } };
        c.Ports = [new V1ContainerPort { ContainerPort = 8080, HostPort = 8080 }];
        return pod;
    }

    [Fact]
    public async Task A_user_namespace_enforces_baseline_by_default_and_names_every_violation()
    {
        var ns = await fx.NamespaceAsync("psa-default");
        var message = await RefusedAsync(ns, HostPod("escape"));
        Assert.Equal(
            "pods \"escape\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true, hostPID=true), "
            + "privileged (container \"main\" must not set securityContext.privileged=true), "
            + "non-default capabilities (container \"main\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add), "
            + "hostPath volumes (volumes \"root\", \"db\"), hostPort (container \"main\" uses hostPort 8080)",
            message);
        var lone = ClusterFixture.Pod("lone", "true");
        lone.Spec.Volumes = [new() { Name = "data", HostPath = new() { Path = "/tmp", Type = "DirectoryOrCreate" } }];
        Assert.Equal("pods \"lone\" is forbidden: violates PodSecurity \"baseline:latest\": hostPath volumes (volume \"data\")", await RefusedAsync(ns, lone));

        // What baseline allows: a plain pod, and capabilities of the default set.
        var plain = ClusterFixture.Pod("plain", "true");
        plain.Spec.Containers[0].SecurityContext = new V1SecurityContext { Capabilities = new V1Capabilities { Add = ["NET_BIND_SERVICE", "CHOWN"] } };
        Assert.Equal("plain", (await _client.CoreV1.CreateNamespacedPodAsync(plain, ns)).Metadata.Name);
        await _client.CoreV1.DeleteNamespacedPodAsync("plain", ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
    }

    [Fact]
    public async Task The_namespace_label_relaxes_to_privileged_or_tightens_to_restricted()
    {
        var open = await fx.NamespaceAsync("psa-privileged", new Dictionary<string, string> { [Enforce] = "privileged" });
        var admitted = HostPod("admitted");
        admitted.Spec.Containers[0].Command = ["sleep", "30"];
        admitted.Spec.HostPID = false;
        Assert.NotNull((await _client.CoreV1.CreateNamespacedPodAsync(admitted, open)).Metadata.Uid);
        await _client.CoreV1.DeleteNamespacedPodAsync("admitted", open, new V1DeleteOptions { GracePeriodSeconds = 0 });

        var strict = await fx.NamespaceAsync("psa-restricted", new Dictionary<string, string> { [Enforce] = "restricted", ["pod-security.kubernetes.io/enforce-version"] = "v1.30" });
        var plain = ClusterFixture.Pod("plain", "true");
        plain.Spec.Volumes = [new() { Name = "scratch", EmptyDir = new() }];
        Assert.Equal(
            "pods \"plain\" is forbidden: violates PodSecurity \"restricted:v1.30\": "
            + "allowPrivilegeEscalation != false (container \"main\" must set securityContext.allowPrivilegeEscalation=false), "
            + "unrestricted capabilities (container \"main\" must set securityContext.capabilities.drop=[\"ALL\"]), "
            + "runAsNonRoot != true (pod or container \"main\" must set securityContext.runAsNonRoot=true), "
            + "seccompProfile (pod or container \"main\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            await RefusedAsync(strict, plain));

        var hardened = ClusterFixture.Pod("hardened", "true");
        hardened.Spec.SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, RunAsUser = 1000, SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } };
        hardened.Spec.Containers[0].SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = false, Capabilities = new V1Capabilities { Drop = ["ALL"], Add = ["NET_BIND_SERVICE"] } };
        Assert.NotNull((await _client.CoreV1.CreateNamespacedPodAsync(hardened, strict)).Metadata.Uid);
        await _client.CoreV1.DeleteNamespacedPodAsync("hardened", strict, new V1DeleteOptions { GracePeriodSeconds = 0 });
    }

    [Fact]
    public async Task An_unknown_level_on_a_namespace_is_refused()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { GenerateName = "psa-bad-", Labels = new Dictionary<string, string> { [Enforce] = "strict" } } }));
        Assert.Equal((HttpStatusCode)422, e.Response.StatusCode);
        Assert.Contains("Invalid value: \"strict\": must be one of privileged, baseline, restricted", KubernetesJson.Deserialize<V1Status>(e.Response.Content).Message, StringComparison.Ordinal);
    }
}
