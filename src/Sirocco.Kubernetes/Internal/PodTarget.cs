using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// The pod one try works on, shared by the parts of its lifecycle: the cluster, the namespace and name (a reattach or
/// a taken name can change them), the subscription on the shared pod watch, the try's log and its retried API calls.
/// </summary>
internal sealed class PodTarget(KubernetesPodOperator op, TaskExecutionContext ctx, KubernetesRuntime runtime)
{
    private readonly Lock _logLock = new();
    private PodInformer? _informer;

    public KubernetesPodOperator Op => op;

    public TaskExecutionContext Context => ctx;

    public KubernetesRuntime Runtime => runtime;

    public TimeProvider Time => runtime.Time;

    public ClusterHandle Cluster { get; set; } = null!;

    public IKubernetes Client => Cluster.Client;

    /// <summary>The API server this try talks to, as its messages name it.</summary>
    public string Server => Cluster.Server;

    public string Ns { get; set; } = "default";

    public string? Name { get; set; }

    /// <summary>The shared watch of <see cref="Ns"/>'s pods.</summary>
    public PodInformer Informer => _informer ?? throw new InvalidOperationException("no pod watch chosen yet");

    /// <summary>This pod on the shared watch (null until a name is chosen).</summary>
    public PodSubscription? Sub { get; private set; }

    /// <summary>The subscription, once a name is chosen.</summary>
    public PodSubscription Watched => Sub ?? throw new InvalidOperationException("no pod subscribed yet");

    /// <summary>Writes a line to the try's log, its secrets masked.</summary>
    public void Log(string line)
    {
        var masked = ctx.Masker.Redact(line);
        lock (_logLock)
        {
            ctx.Log(masked);
        }
    }

    /// <summary>An API call retried within the budget, each retry written to the try's log.</summary>
    public Task<T> CallAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken token) =>
        runtime.Retry.ExecuteAsync(what, call, token, Log, Server);

    /// <summary>An API call without result, retried within the budget, each retry written to the try's log.</summary>
    public Task CallAsync(string what, Func<CancellationToken, Task> call, CancellationToken token) =>
        runtime.Retry.ExecuteAsync(what, call, token, Log, Server);

    /// <summary>Follows the shared pod watch of <paramref name="ns"/>; its failures go into this try's log.</summary>
    public void UseInformer(string ns)
    {
        if (_informer is not null)
        {
            _informer.Failed -= OnWatchFailed;
        }

        _informer = Cluster.Pods(ns);
        _informer.Failed += OnWatchFailed;
    }

    /// <summary>Follows the pod <paramref name="name"/> on the shared watch, instead of the one followed before.</summary>
    public void Subscribe(string name)
    {
        Sub?.Dispose();
        Sub = Informer.Subscribe(name);
    }

    /// <summary>Leaves the shared watch.</summary>
    public void Release()
    {
        Sub?.Dispose();
        if (_informer is not null)
        {
            _informer.Failed -= OnWatchFailed;
        }
    }

    /// <summary>The pod <paramref name="name"/> of <see cref="Ns"/> read from the API server; null when it does not exist.</summary>
    public async Task<V1Pod?> ReadPodAsync(string name, CancellationToken token, bool retry = true)
    {
        async Task<V1Pod?> ReadAsync(CancellationToken t)
        {
            try
            {
                return await Client.CoreV1.ReadNamespacedPodAsync(name, Ns, cancellationToken: t).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }

        return retry
            ? await CallAsync($"read pod {Ns}/{name}", ReadAsync, token).ConfigureAwait(false)
            : await ReadAsync(token).ConfigureAwait(false);
    }

    /// <summary>Waits for a change or the timeout; false on timeout.</summary>
    public async Task<bool> WaitAsync(Task next, TimeSpan timeout, CancellationToken token)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return next.IsCompleted;
        }

        try
        {
            await next.WaitAsync(timeout, Time, token).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public static bool IsDone(V1Pod pod, string baseContainer) =>
        pod.Status?.Phase is "Succeeded" or "Failed" || ContainerState(pod, baseContainer)?.Terminated is not null;

    public static V1ContainerState? ContainerState(V1Pod pod, string container) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == container)?.State;

    private void OnWatchFailed(string line, Exception error) => Log(line);
}
