using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>
/// What a lifecycle test needs from a cluster, so one test body runs on the local cluster and on the real API server:
/// namespaces, a client, and ways to make a pod run for a while and end with an exit code, or never start.
/// </summary>
public interface ITestCluster
{
    /// <summary>A short name for messages.</summary>
    string Name { get; }

    string Kubeconfig { get; }

    k8s.Kubernetes Client { get; }

    /// <summary>The loopback port the API server listens on (a <see cref="FlakyProxy"/> goes in front of it).</summary>
    int ServerPort { get; }

    /// <summary>A new namespace for one test, ready for pods.</summary>
    Task<string> NamespaceAsync(string prefix);

    /// <summary>An operator whose pod runs for about <paramref name="runFor"/>, then ends with <paramref name="exitCode"/>.</summary>
    KubernetesPodOperator Pod(string taskId, string ns, TimeSpan runFor, int exitCode = 0);

    /// <summary>
    /// Makes the pod of <paramref name="op"/> get scheduled but never start its container; dispose the result when
    /// the try is over.
    /// </summary>
    Task<IAsyncDisposable> NeverStartsAsync(KubernetesPodOperator op, string ns);
}

/// <summary>Waits and queries shared by the cluster fixtures.</summary>
public static class TestClusterExtensions
{
    /// <summary>Waits on a watch until <paramref name="ns"/> has no pods left.</summary>
    public static async Task WaitNoPodsAsync(this ITestCluster cluster, string ns, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var list = await cluster.Client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: cts.Token);
        var names = list.Items.Select(p => p.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        if (names.Count == 0)
        {
            return;
        }

        await foreach (var (type, pod) in cluster.Client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            if (type == WatchEventType.Deleted)
            {
                names.Remove(pod.Metadata.Name);
            }
            else if (type == WatchEventType.Added)
            {
                names.Add(pod.Metadata.Name);
            }

            if (names.Count == 0)
            {
                return;
            }
        }
    }

    /// <summary>The operator's pods in <paramref name="ns"/> (whatever their state).</summary>
    public static async Task<IList<V1Pod>> PodsAsync(this ITestCluster cluster, string ns, string? labelSelector = "kubernetes_pod_operator=True") =>
        (await cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector)).Items;
}

/// <summary>Nothing to undo.</summary>
internal sealed class NoCleanup : IAsyncDisposable
{
    public static NoCleanup Instance { get; } = new();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
