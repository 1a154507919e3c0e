namespace Sirocco.LocalCluster;

/// <summary>Settings for one embedded local cluster.</summary>
public sealed class LocalClusterOptions
{
    /// <summary>
    /// The home directory (usually <c>$SIROCCO_HOME</c>). The cluster keeps its state under
    /// <c>local-cluster/</c> there and writes the kubeconfig to <c>kube_config</c>.
    /// </summary>
    public required string HomeDirectory { get; init; }

    /// <summary>The TCP port on 127.0.0.1; 0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>The name of the single node; also the kubeconfig's cluster and context name suffix.</summary>
    public string NodeName { get; init; } = "sirocco-local";

    /// <summary>
    /// The path of the kubeconfig file to write; <c>null</c> means <c>kube_config</c> in
    /// <see cref="HomeDirectory"/>.
    /// </summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>
    /// Commands to use for images whose container has no <c>command</c> (the image's entrypoint, which a
    /// local process cannot read from a registry). A pod's image matches a key as written, without its digest or
    /// tag, or without Docker Hub's <c>docker.io/library/</c> prefix (so <c>busybox</c> matches
    /// <c>docker.io/library/busybox:1.36</c>).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ImageEntrypoints { get; init; } =
        new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The bubblewrap executable that sandboxes every container.</summary>
    public string BubblewrapPath { get; init; } = "/usr/bin/bwrap";

    /// <summary>
    /// How often the kubelet measures the local storage of pods that have limits on it (an emptyDir's
    /// <c>sizeLimit</c>, a container's <c>ephemeral-storage</c> limit) and evicts those over it; 10 s, as the
    /// kubelet's eviction manager.
    /// </summary>
    public TimeSpan StorageCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most processes and threads one pod may have at once, as the kubelet's <c>podPidsLimit</c> (0: no limit):
    /// a fork bomb in a pod then fails its own forks instead of filling the machine's process table. Enforced with a
    /// cgroup v1 <c>pids</c> group per pod where the machine lets the cluster make one.
    /// </summary>
    public int PodPidsLimit { get; init; } = 4096;

    /// <summary>
    /// The network of pods that do not ask for <c>hostNetwork</c>: by default (<see cref="LocalClusterPodNetwork.Isolated"/>)
    /// a network namespace per pod whose ways out are the API server at 127.0.0.1 and an HTTP(S) proxy. Needs root;
    /// without it pods share the host's network.
    /// </summary>
    public LocalClusterPodNetwork PodNetwork { get; init; } = LocalClusterPodNetwork.Isolated;

    /// <summary>How often a watch that asked for bookmarks receives one.</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock used for timestamps; the system clock by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Where the cluster's own log goes (categories <c>Sirocco.LocalCluster</c> and <c>Sirocco.LocalCluster.Kubelet</c>:
    /// API server faults, pods started and ended, kubelet failures). None when null.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The least number of thread-pool worker threads the process keeps ready while the cluster runs (0 leaves the
    /// runtime's default). A burst of pods keeps the pool busy with short kubelet work; without spare threads the
    /// runtime adds them slowly and API requests wait behind that work. The setting is process-wide and only raised.
    /// </summary>
    public int MinimumThreadPoolThreads { get; init; } = 16;

    /// <summary>
    /// Whether containers run in their images (pulled from registries or loaded with <c>sirocco cluster load-image</c>)
    /// or as host commands. <see cref="LocalClusterImageMode.Host"/> by default for an embedded cluster; Sirocco's
    /// <c>[local_cluster] image_mode</c> defaults to <see cref="LocalClusterImageMode.Auto"/>.
    /// </summary>
    public LocalClusterImageMode ImageMode { get; init; } = LocalClusterImageMode.Host;

    /// <summary>
    /// Registries (host or host:port) that may be reached over plain HTTP or with a certificate that does not verify.
    /// </summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>A PEM file of certificate authorities that registry certificates are checked against, instead of the system's.</summary>
    public string? RegistryCertificateAuthorityFile { get; init; }

    /// <summary>
    /// How long a registry may take to answer a request, and the longest pause while a layer downloads, before the pull
    /// fails.
    /// </summary>
    public TimeSpan RegistryTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>The network a pod gets on the local cluster (<c>hostNetwork</c> pods always share the host's).</summary>
public enum LocalClusterPodNetwork
{
    /// <summary>
    /// A network namespace of its own, served by the cluster's process with no process per pod: its own loopback, the
    /// API server at 127.0.0.1 on the API server's port, and an HTTP proxy for HTTP and HTTPS (and any TCP through
    /// CONNECT) that <c>HTTP_PROXY</c>, <c>HTTPS_PROXY</c> and <c>NO_PROXY</c> name.
    /// </summary>
    Isolated,

    /// <summary>
    /// A network namespace of its own with full user-mode IP networking by slirp4netns (TCP, UDP and DNS to anywhere the
    /// host reaches; the host and the API server at 10.0.2.2): a process per pod, about four times the cost of a pod's
    /// start on a small machine.
    /// </summary>
    Slirp4netns,

    /// <summary>The host's network, shared by every pod, as a plain host process has.</summary>
    Host,
}

/// <summary>How the local cluster runs a container's image.</summary>
public enum LocalClusterImageMode
{
    /// <summary>Every container runs as a host command under the sandbox; images are names only.</summary>
    Host,

    /// <summary>Every container runs in its image's root filesystem; an image that cannot be had fails the container.</summary>
    Pull,

    /// <summary>In the image when it can be had; otherwise as a host command, saying so in the pod's events.</summary>
    Auto,
}
