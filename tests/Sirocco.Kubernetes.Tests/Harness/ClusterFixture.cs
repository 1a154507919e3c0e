using k8s;
using k8s.Models;
using Sirocco.LocalCluster;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>One real local cluster (HTTPS, token, bubblewrap kubelet) shared by the integration tests.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public string Home { get; } = Path.Combine(Path.GetTempPath(), "sirocco-kpo-tests-" + Guid.NewGuid().ToString("n")[..8]);

    public Sirocco.LocalCluster.LocalCluster Cluster { get; private set; } = null!;

    public k8s.Kubernetes Client { get; private set; } = null!;

    public string Kubeconfig => Cluster.KubeconfigPath;

    public async Task InitializeAsync()
    {
        Cluster = await Sirocco.LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions
        {
            HomeDirectory = Home,
            BookmarkInterval = TimeSpan.FromSeconds(1),
        });
        Client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(Cluster.KubeconfigPath));
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = SeedDag.Namespace } });
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    /// <summary>A new namespace for one test.</summary>
    public async Task<string> NamespaceAsync(string prefix)
    {
        var ns = await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = prefix + "-" } });
        return ns.Metadata.Name;
    }

    /// <summary>Waits on a watch until <paramref name="ns"/> has no pods left.</summary>
    public async Task WaitNoPodsAsync(string ns, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var list = await Client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: cts.Token);
        var names = list.Items.Select(p => p.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        if (names.Count == 0)
        {
            return;
        }

        await foreach (var (type, pod) in Client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
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
    public async Task<IList<V1Pod>> PodsAsync(string ns, string? labelSelector = "kubernetes_pod_operator=True") =>
        (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector)).Items;
}

[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
