using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>What one try knows of its pod, updated by the shared watch.</summary>
internal sealed class PodSubscription : IDisposable
{
    private readonly Action<PodSubscription> _dispose;
    private V1Pod? _latest;

    public PodSubscription(string name, Action<PodSubscription> dispose)
    {
        Name = name;
        _dispose = dispose;
    }

    public string Name { get; }

    public Pulse Changed { get; } = new();

    public V1Pod? Latest => Volatile.Read(ref _latest);

    /// <summary>The pod was seen and is now gone.</summary>
    public bool Deleted { get; private set; }

    public void Update(V1Pod? pod, bool deleted = false)
    {
        if (deleted)
        {
            if (_latest is null)
            {
                return;
            }

            Deleted = true;
        }
        else if (pod is not null)
        {
            var current = Latest;
            if (current is not null && IsOlder(pod, current))
            {
                return;
            }

            Volatile.Write(ref _latest, pod);
            Deleted = false;
        }

        Changed.Fire();
    }

    public void Dispose() => _dispose(this);

    private static bool IsOlder(V1Pod candidate, V1Pod current) =>
        long.TryParse(candidate.Metadata?.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var a)
        && long.TryParse(current.Metadata?.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var b)
        && a < b;
}

/// <summary>The shared watch of the operator's pods (label <c>kubernetes_pod_operator=True</c>) in one namespace.</summary>
internal sealed class PodInformer : Informer<V1Pod>
{
    private const string Selector = "kubernetes_pod_operator=True";
    private readonly ConcurrentDictionary<string, V1Pod> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PodSubscription> _subscriptions = new(StringComparer.Ordinal);

    public PodInformer(IKubernetes client, string ns, KubernetesRuntime runtime)
        : base(client, ns, runtime)
    {
    }

    public int SubscriberCount => _subscriptions.Count;

    protected override string What => $"pods in namespace {Namespace}";

    /// <summary>Follows pod <paramref name="name"/> (which need not exist yet).</summary>
    public PodSubscription Subscribe(string name)
    {
        var sub = new PodSubscription(name, s => _subscriptions.TryRemove(KeyValuePair.Create(s.Name, s)));
        _subscriptions[name] = sub;
        EnsureStarted();
        if (_cache.TryGetValue(name, out var pod))
        {
            sub.Update(pod);
        }

        return sub;
    }

    /// <summary>Pods in the cache whose labels include all of <paramref name="labels"/>.</summary>
    public IReadOnlyList<V1Pod> Find(IReadOnlyDictionary<string, string> labels) =>
        [.. _cache.Values.Where(p => labels.All(kv => p.Metadata.Labels is { } l && l.TryGetValue(kv.Key, out var v) && v == kv.Value))];

    protected override async Task<(IList<V1Pod> Items, string? ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        var list = await Client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: Selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (list.Items, list.Metadata?.ResourceVersion);
    }

    protected override IAsyncEnumerable<(WatchEventType, V1Pod)> WatchAsync(string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
        Client.CoreV1.WatchListNamespacedPodAsync(
            Namespace,
            allowWatchBookmarks: true,
            labelSelector: Selector,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            onError: onError,
            cancellationToken: cancellationToken);

    protected override void OnReplace(IList<V1Pod> items)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in items)
        {
            names.Add(pod.Metadata.Name);
            _cache[pod.Metadata.Name] = pod;
        }

        foreach (var name in _cache.Keys.Where(n => !names.Contains(n)).ToList())
        {
            _cache.TryRemove(name, out _);
        }

        foreach (var sub in _subscriptions.Values)
        {
            if (_cache.TryGetValue(sub.Name, out var pod))
            {
                sub.Update(pod);
            }
            else if (sub.Latest is not null)
            {
                // Absent from a list that may predate what the try already saw (its own create): ask the server.
                _ = VerifyAsync(sub);
            }
        }
    }

    private async Task VerifyAsync(PodSubscription sub)
    {
        try
        {
            var pod = await Client.CoreV1.ReadNamespacedPodAsync(sub.Name, Namespace).ConfigureAwait(false);
            sub.Update(pod);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            sub.Update(null, deleted: true);
        }
        catch (Exception e) when (ApiRetry.IsTransient(e) || e is k8s.Autorest.HttpOperationException)
        {
            // Unknown: the watch or the try's safety net will tell.
        }
    }

    protected override void OnChange(WatchEventType type, V1Pod item)
    {
        var name = item.Metadata.Name;
        var deleted = type == WatchEventType.Deleted;
        if (deleted)
        {
            _cache.TryRemove(name, out _);
        }
        else
        {
            _cache[name] = item;
        }

        if (_subscriptions.TryGetValue(name, out var sub))
        {
            sub.Update(item, deleted);
        }
    }
}

/// <summary>The shared watch of events in one namespace, handed to the tries whose pod they are about.</summary>
internal sealed class EventInformer : Informer<Corev1Event>
{
    private readonly ConcurrentDictionary<string, Action<Corev1Event>> _subscriptions = new(StringComparer.Ordinal);

    public EventInformer(IKubernetes client, string ns, KubernetesRuntime runtime)
        : base(client, ns, runtime)
    {
    }

    protected override string What => $"events in namespace {Namespace}";

    /// <summary>Calls <paramref name="onEvent"/> for each event about pod <paramref name="podName"/> (an event may repeat on relist).</summary>
    public IDisposable Subscribe(string podName, Action<Corev1Event> onEvent)
    {
        _subscriptions[podName] = onEvent;
        EnsureStarted();
        return new Unsubscriber(() => _subscriptions.TryRemove(KeyValuePair.Create(podName, onEvent)));
    }

    protected override async Task<(IList<Corev1Event> Items, string? ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        var list = await Client.CoreV1.ListNamespacedEventAsync(Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (list.Items, list.Metadata?.ResourceVersion);
    }

    protected override IAsyncEnumerable<(WatchEventType, Corev1Event)> WatchAsync(string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
        Client.CoreV1.WatchListNamespacedEventAsync(
            Namespace,
            allowWatchBookmarks: true,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            onError: onError,
            cancellationToken: cancellationToken);

    protected override void OnReplace(IList<Corev1Event> items)
    {
        foreach (var e in items)
        {
            Dispatch(e);
        }
    }

    protected override void OnChange(WatchEventType type, Corev1Event item)
    {
        if (type != WatchEventType.Deleted)
        {
            Dispatch(item);
        }
    }

    private void Dispatch(Corev1Event e)
    {
        if (e.InvolvedObject?.Kind == "Pod" && e.InvolvedObject.Name is { } name && _subscriptions.TryGetValue(name, out var callback))
        {
            callback(e);
        }
    }

    private sealed class Unsubscriber(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
