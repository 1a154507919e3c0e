using System.Collections.Concurrent;
using k8s;

namespace Sirocco.Kubernetes.Internal;

/// <summary>Settings of the shared runtime; tests and the benchmark shorten them.</summary>
internal sealed record KubernetesRuntimeOptions
{
    /// <summary>
    /// How long an API call (create, get, delete, exec) keeps retrying transient failures, and how long a try waits for
    /// an unreachable API server before it fails (<c>[kubernetes] api_retry_budget_seconds</c>).
    /// </summary>
    public TimeSpan RetryBudget { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>First delay between retries; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between retries.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the log stream of a terminated container may take to end before it is cut and read once more.</summary>
    public TimeSpan LogDrainTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a log stream that ended while its container is not yet seen terminated waits for the pod's status
    /// before it is opened again (from the last timestamp); a status seen meanwhile ends it with one read without follow.
    /// </summary>
    public TimeSpan LogEndedEarlyWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Server-side timeout of one watch request (the watch then resumes from its resourceVersion).</summary>
    public int WatchTimeoutSeconds { get; init; } = 290;

    /// <summary>The process environment (HOME, KUBECONFIG, KUBERNETES_SERVICE_HOST), as the composition root read it.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The process's own log (category <c>Sirocco.Kubernetes</c>): API retries and failures, besides the try's log.</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>
    /// How many pod creations one API server is sent at once by this process (<c>[kubernetes]
    /// max_pod_creations_in_flight</c>; 0: no limit). Thousands of creates sent together are all answered late (an
    /// API server and etcd create a few hundred pods a second); queued here they are answered at once, in order, so
    /// pods start steadily from the first second, as client-go's rate limits do for controllers.
    /// </summary>
    public int CreationsInFlight { get; init; } = 32;

    /// <summary>Extra HTTP handlers put in front of every client (request counting in tests and the benchmark).</summary>
    public Func<DelegatingHandler[]> Handlers { get; init; } = () => [];

}

/// <summary>
/// Clients and watches shared by every try of the process: one client per effective configuration, and per client and
/// namespace one pod watch and one event watch that serve every running try.
/// </summary>
internal sealed class KubernetesRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ClusterHandle>> _clusters = new(StringComparer.Ordinal);

    public KubernetesRuntime(KubernetesRuntimeOptions? options = null, TimeProvider? time = null)
    {
        Options = options ?? new KubernetesRuntimeOptions();
        Time = time ?? TimeProvider.System;
        Retry = new ApiRetry(Options, Time);
    }

    public KubernetesRuntimeOptions Options { get; }

    public TimeProvider Time { get; }

    public ApiRetry Retry { get; }

    /// <summary>How many clients exist (one per effective configuration).</summary>
    public int ClientCount => _clusters.Count;

    public ClusterHandle GetCluster(ResolvedConfig config)
    {
        var lazy = _clusters.GetOrAdd(
            config.CacheKey,
            _ => new Lazy<ClusterHandle>(() => new ClusterHandle(new k8s.Kubernetes(config.Configuration, [new ApiRequestCounter(), new RawPodFieldsHandler(), new ResponseBuffering(), .. Options.Handlers()]), this)));
        return lazy.Value;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clusters.Values.Where(l => l.IsValueCreated))
        {
            await c.Value.DisposeAsync().ConfigureAwait(false);
        }

        _clusters.Clear();
    }
}

/// <summary>One cluster's client and its shared watches.</summary>
internal sealed class ClusterHandle : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PodInformer>> _pods = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<EventInformer>> _events = new(StringComparer.Ordinal);
    private readonly KubernetesRuntime _runtime;

    public ClusterHandle(IKubernetes client, KubernetesRuntime runtime)
    {
        Client = client;
        _runtime = runtime;
        CreationSlots = runtime.Options.CreationsInFlight > 0 ? new SemaphoreSlim(runtime.Options.CreationsInFlight) : null;
    }

    /// <summary>Pod creations this process may have in flight to this API server; null: unlimited.</summary>
    public SemaphoreSlim? CreationSlots { get; }

    public IKubernetes Client { get; }

    /// <summary>The API server's address, as messages name it.</summary>
    public string Server => Client.BaseUri?.ToString().TrimEnd('/') ?? "(unknown server)";

    public PodInformer Pods(string ns) =>
        _pods.GetOrAdd(ns, n => new Lazy<PodInformer>(() => new PodInformer(Client, n, _runtime))).Value;

    public EventInformer Events(string ns) =>
        _events.GetOrAdd(ns, n => new Lazy<EventInformer>(() => new EventInformer(Client, n, _runtime))).Value;

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _pods.Values.Where(l => l.IsValueCreated))
        {
            await p.Value.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var e in _events.Values.Where(l => l.IsValueCreated))
        {
            await e.Value.DisposeAsync().ConfigureAwait(false);
        }

        Client.Dispose();
    }
}
