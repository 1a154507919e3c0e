using k8s;
using k8s.Models;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>The seed page's four tasks, run against the local cluster through the real client.</summary>
[Collection("cluster")]
public sealed class SeedTaskTests(ClusterFixture fx)
{
    [Fact]
    public async Task Pod_ex_minimum_succeeds_records_its_pod_and_deletes_it()
    {
        var harness = new TryHarness();
        var op = SeedDag.Minimum(fx.Kubeconfig);

        var result = await harness.RunAsync(op);

        Assert.Null(result);
        var podName = harness.XComs[("pod-ex-minimum", "pod_name")].GetString()!;
        Assert.Matches("^pod-ex-minimum-[a-z0-9]{8}$", podName);
        Assert.Equal(SeedDag.Namespace, harness.XComs[("pod-ex-minimum", "pod_namespace")].GetString());
        Assert.Equal($"{SeedDag.Namespace}/{podName}", harness.ExternalIds["pod-ex-minimum"]);
        Assert.Contains($"Deleting pod {SeedDag.Namespace}/{podName}", harness.Log);
        Assert.Contains($"Pod event: Normal Scheduled: Successfully assigned {SeedDag.Namespace}/{podName} to {fx.Cluster.NodeName}", harness.Log);
        Assert.DoesNotContain(await fx.PodsAsync(SeedDag.Namespace), p => p.Metadata.Name == podName && p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task Ex_kube_templates_echoes_the_rendered_date_and_sees_its_variable()
    {
        var harness = new TryHarness();
        var op = SeedDag.Templates("2024-01-01", "example_value", fx.Kubeconfig);
        op.Cmds = ["sh", "-c", "echo \"$0\"; echo \"MY_VALUE=$MY_VALUE\""];

        await harness.RunAsync(op);

        Assert.Contains("2024-01-01", harness.Log);
        Assert.Contains("MY_VALUE=example_value", harness.Log);
    }

    [Fact]
    public async Task Ex_kube_secrets_fails_to_start_until_both_secrets_exist_then_sees_them()
    {
        var harness = new TryHarness();
        var ns = await fx.NamespaceAsync("secrets");
        var op = SeedDag.Secrets(fx.Kubeconfig);
        op.Namespace = ns;
        op.StartupTimeoutSeconds = 3;
        op.Cmds = ["sh", "-c", "echo \"SQL_CONN=$SQL_CONN\"; cat \"$GOOGLE_APPLICATION_CREDENTIALS\"; echo"];

        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(op));
        Assert.StartsWith("Pod took too long to start. More than 3s. Check the pod events in kubernetes. ", e.Message, StringComparison.Ordinal);
        Assert.Matches("(CreateContainerConfigError: secret \"airflow-secrets\"|FailedMount: .*secret \"service-account\") not found", e.Message);
        Assert.DoesNotContain(await fx.PodsAsync(ns), p => p.Metadata.DeletionTimestamp is null);

        await fx.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new() { Name = "airflow-secrets" }, StringData = new Dictionary<string, string> { ["sql_alchemy_conn"] = "test_value" } }, ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new() { Name = "service-account" }, StringData = new Dictionary<string, string> { ["service-account.json"] = "{\"type\":\"service_account\"}" } }, ns);

        op.StartupTimeoutSeconds = 120; // the seed's 300 s in spirit: a loaded CI machine may take more than 3 s
        await harness.RunAsync(op, tryNumber: 2);

        Assert.Contains("SQL_CONN=test_value", harness.Log);
        Assert.Contains("{\"type\":\"service_account\"}", harness.Log);
    }

    [Fact]
    public async Task Ex_all_configs_prints_pi_and_the_pod_in_the_cluster_has_every_setting()
    {
        var harness = new TryHarness();
        var op = SeedDag.AllConfigs(fx.Kubeconfig);
        op.OnFinishAction = OnFinishAction.KeepPod;

        // The host's Debian perl 5.36 dies in Math::BigInt::Calc on bignum's bpi(2000) (the perl:5.34.0 image does
        // not); the same digits through Math::BigFloat, so the test checks the pod and not that perl bug.
        op.Arguments = ["-MMath::BigFloat", "-wle", "print Math::BigFloat->bpi(2000)"];

        await harness.RunAsync(op);

        var pi = Assert.Single(harness.Log, l => l.StartsWith("3.14159265358979323846264338327950288419716939937510", StringComparison.Ordinal));
        Assert.Equal(2001, pi.Length);
        var name = harness.XComs[("ex-all-configs", "pod_name")].GetString();
        var pod = await fx.Client.CoreV1.ReadNamespacedPodAsync(name, SeedDag.Namespace);
        Assert.Equal("label-name", pod.Metadata.Labels["pod-label"]);
        Assert.Equal("True", pod.Metadata.Labels["already_checked"]);
        Assert.Equal("ex-all-configs", pod.Metadata.Labels["task_id"]);
        Assert.Equal("value1", pod.Metadata.Annotations["key1"]);
        var container = Assert.Single(pod.Spec.Containers);
        Assert.Equal("perl:5.34.0", container.Image);
        Assert.Equal("Always", container.ImagePullPolicy);
        Assert.Equal("10G", container.Resources.Limits["memory"].ToString());
        Assert.Equal("1", container.Resources.Requests["cpu"].ToString());
        Assert.Equal("/example/value", Assert.Single(container.Env).Value);
        Assert.Equal("Never", pod.Spec.RestartPolicy);
        await fx.Client.CoreV1.DeleteNamespacedPodAsync(name, SeedDag.Namespace);
    }
}
