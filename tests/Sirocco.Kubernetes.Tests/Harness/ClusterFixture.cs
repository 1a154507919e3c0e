using System.Globalization;
using k8s;
using k8s.Models;
using Sirocco.LocalCluster;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>One real local cluster (HTTPS, token, bubblewrap kubelet) shared by the integration tests.</summary>
public sealed class ClusterFixture : IAsyncLifetime, ITestCluster
{
    public string Home { get; } = Path.Combine(Path.GetTempPath(), "sirocco-kpo-tests-" + Guid.NewGuid().ToString("n")[..8]);

    public Sirocco.LocalCluster.LocalCluster Cluster { get; private set; } = null!;

    public k8s.Kubernetes Client { get; private set; } = null!;

    public string Kubeconfig => Cluster.KubeconfigPath;

    public string Name => "local cluster";

    public int ServerPort => Cluster.ServerUrl.Port;

    public async Task InitializeAsync()
    {
        Cluster = await Sirocco.LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions
        {
            HomeDirectory = Home,
            BookmarkInterval = TimeSpan.FromSeconds(1),
            StorageCheckInterval = TimeSpan.FromMilliseconds(250),
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
    public Task WaitNoPodsAsync(string ns, TimeSpan timeout) => TestClusterExtensions.WaitNoPodsAsync(this, ns, timeout);

    /// <summary>The operator's pods in <paramref name="ns"/> (whatever their state).</summary>
    public Task<IList<V1Pod>> PodsAsync(string ns, string? labelSelector = "kubernetes_pod_operator=True") =>
        TestClusterExtensions.PodsAsync(this, ns, labelSelector);

    /// <summary>A shell command that sleeps, then exits with the code.</summary>
    public KubernetesPodOperator Pod(string taskId, string ns, TimeSpan runFor, int exitCode = 0) =>
        Pod(taskId, ns, string.Create(CultureInfo.InvariantCulture, $"sleep {runFor.TotalSeconds:0.###}; exit {exitCode}"));

    /// <summary>A busybox pod running <paramref name="script"/> with <c>sh -c</c> on this cluster.</summary>
    public KubernetesPodOperator Pod(string taskId, string ns, string script) => new(taskId)
    {
        Namespace = ns,
        Image = "busybox",
        Cmds = ["sh", "-c", script],
        ConfigFile = Kubeconfig,
    };

    /// <summary>An environment variable from a secret that does not exist: the kubelet never creates the container.</summary>
    public Task<IAsyncDisposable> NeverStartsAsync(KubernetesPodOperator op, string ns)
    {
        op.EnvVarList.Add(new V1EnvVar
        {
            Name = "NEVER_THERE",
            ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "kpo-no-such-secret", Key = "value" } },
        });
        return Task.FromResult<IAsyncDisposable>(NoCleanup.Instance);
    }
}

[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
