using System.Text.Json;
using k8s;
using k8s.Models;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary><c>kubernetes cleanup-pods</c> against the local cluster: what is over goes, what runs or is not ours stays.</summary>
[Collection("cluster")]
public sealed class PodCleanupTests(ClusterFixture fx)
{
    private static V1Pod Pod(string name, string command, bool labelled = true, string? nodeSelector = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = labelled
                ? new Dictionary<string, string> { ["dag_id"] = "d", ["task_id"] = name, ["try_number"] = "1", ["kubernetes_pod_operator"] = "True" }
                : new Dictionary<string, string> { ["app"] = "someone-else" },
        },
        Spec = new V1PodSpec
        {
            RestartPolicy = "Never",
            TerminationGracePeriodSeconds = 0,
            NodeSelector = nodeSelector is null ? null : new Dictionary<string, string> { ["pool"] = nodeSelector },
            Containers = [new V1Container { Name = "base", Image = "busybox", Command = ["sh", "-c", command] }],
        },
    };

    [Fact]
    public async Task Finished_and_long_pending_operator_pods_are_deleted_and_nothing_else()
    {
        var ns = await fx.NamespaceAsync("cleanup");
        foreach (var pod in new[] { Pod("done", "exit 0"), Pod("broke", "exit 3"), Pod("busy", "sleep 600"), Pod("waiting", "true", nodeSelector: "none"), Pod("theirs", "exit 0", labelled: false) })
        {
            await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var phases = (await fx.Client.CoreV1.ListNamespacedPodAsync(ns)).Items.ToDictionary(p => p.Metadata.Name, p => p.Status?.Phase);
            if (phases is { Count: 5 } && phases["done"] == "Succeeded" && phases["broke"] == "Failed" && phases["busy"] == "Running" && phases["theirs"] == "Succeeded")
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the pods did not settle: " + JsonSerializer.Serialize(phases));
            await Task.Delay(200);
        }

        var harness = new TryHarness();
        harness.AddConnection(new Connections.Connection { ConnId = "kubernetes_default", ConnType = "kubernetes", Extra = JsonSerializer.Serialize(new { kube_config_path = fx.Kubeconfig }) });
        var lines = new List<string>();
        var deleted = await PodCleanup.RunAsync(harness.Connections, null, new Dictionary<string, string>(), ns, TimeSpan.FromMinutes(30), lines.Add, CancellationToken.None);
        Assert.Equal(2, deleted);
        Assert.Contains("Deleting pod \"done\" phase \"succeeded\" and reason \"\", restart policy \"never\"", lines);
        Assert.Contains("Deleting pod \"broke\" phase \"failed\" and reason \"\", restart policy \"never\"", lines);
        Assert.Contains("No action taken on pod busy", lines);
        Assert.Contains("No action taken on pod waiting", lines);
        Assert.DoesNotContain(lines, l => l.Contains("theirs", StringComparison.Ordinal));

        // With no pending allowance the unschedulable pod goes too.
        Assert.Equal(1, await PodCleanup.RunAsync(harness.Connections, null, new Dictionary<string, string>(), ns, TimeSpan.Zero, lines.Add, CancellationToken.None));
        var left = (await fx.Client.CoreV1.ListNamespacedPodAsync(ns)).Items.Where(p => p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal);
        Assert.Equal(["busy", "theirs"], left);
    }
}
