using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.NodeSimulator;

/// <summary>
/// One simulated node: it registers itself, renews its lease, binds pods when <see cref="SimulatorOptions.Bind"/> is on,
/// reports bound pods running, ends run-to-completion pods after their run time and finishes graceful deletions, as
/// the kubelet's status manager would. Pods are kept from one list-and-watch; each change queues the pod's key, and a
/// few workers bring the pod one step further.
/// </summary>
internal sealed class NodeSimulator(SimulatorOptions options)
{
    private const string HostIp = "10.10.0.1";

    private readonly ConcurrentDictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _podIps = new(StringComparer.Ordinal);
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    private int _ipSequence;
    private int _kubeletPort;
    private k8s.Kubernetes _client = null!;

    public async Task RunAsync(CancellationToken stop)
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig);
        using var client = new k8s.Kubernetes(config);
        _client = client;
        await using var logs = options.ServeLogs
            ? await LogServer.StartAsync(key => _pods.GetValueOrDefault(key), RunFor, stop).ConfigureAwait(false)
            : null;
        _kubeletPort = logs?.Port ?? 0;
        await RetryAsync("register the node", RegisterNodeAsync, stop).ConfigureAwait(false);
        var heartbeat = HeartbeatLoopAsync(stop);
        var workers = Enumerable.Range(0, options.Workers).Select(_ => WorkAsync(stop)).ToList();
        Log($"node {options.NodeName} registered (bind={options.Bind.ToString().ToLowerInvariant()}{(logs is null ? string.Empty : $", logs served on 127.0.0.1:{logs.Port}")})");
        try
        {
            await WatchPodsAsync(stop).ConfigureAwait(false);
        }
        finally
        {
            _queue.Writer.TryComplete();
            await Task.WhenAll(workers.Append(heartbeat)).ConfigureAwait(false);
        }
    }

    private static void Log(string message) =>
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} {message}"));

    private static async Task RetryAsync(string what, Func<CancellationToken, Task> action, CancellationToken stop)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await action(stop).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException && !stop.IsCancellationRequested)
            {
                Log($"{what} failed (attempt {attempt}, next in 1 s): {e.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            }
        }
    }

    private static bool Is(HttpOperationException e, HttpStatusCode status) => e.Response?.StatusCode == status;

    private static string Key(V1Pod pod) => pod.Metadata.NamespaceProperty + "/" + pod.Metadata.Name;

    private static V1Pod Copy(V1Pod pod) => KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));

    // ---- the node and its lease ----

    private async Task RegisterNodeAsync(CancellationToken stop)
    {
        V1Node node;
        try
        {
            node = await _client.CoreV1.ReadNodeAsync(options.NodeName, cancellationToken: stop).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (Is(e, HttpStatusCode.NotFound))
        {
            node = await _client.CoreV1.CreateNodeAsync(
                new V1Node
                {
                    Metadata = new V1ObjectMeta
                    {
                        Name = options.NodeName,
                        Labels = new Dictionary<string, string>
                        {
                            ["kubernetes.io/hostname"] = options.NodeName,
                            ["kubernetes.io/os"] = "linux",
                            ["kubernetes.io/arch"] = "amd64",
                            ["type"] = "sirocco-node-simulator",
                        },
                    },
                },
                cancellationToken: stop).ConfigureAwait(false);
        }

        node.Status = NodeStatus(DateTime.UtcNow);
        await _client.CoreV1.ReplaceNodeStatusAsync(node, options.NodeName, cancellationToken: stop).ConfigureAwait(false);
    }

    private V1NodeStatus NodeStatus(DateTime now)
    {
        var resources = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new("32"),
            ["memory"] = new("256Gi"),
            ["pods"] = new(options.PodCapacity.ToString(CultureInfo.InvariantCulture)),
            ["ephemeral-storage"] = new("100Gi"),
        };
        V1NodeCondition Condition(string type, string status, string reason, string message) =>
            new() { Type = type, Status = status, Reason = reason, Message = message, LastHeartbeatTime = now, LastTransitionTime = now };
        return new V1NodeStatus
        {
            Capacity = resources,
            Allocatable = resources,
            Phase = "Running",
            // Serving logs, the node's only address is loopback, where the API server finds the log endpoint.
            Addresses = _kubeletPort == 0
                ? [new V1NodeAddress { Address = HostIp, Type = "InternalIP" }, new V1NodeAddress { Address = options.NodeName, Type = "Hostname" }]
                : [new V1NodeAddress { Address = "127.0.0.1", Type = "InternalIP" }],
            DaemonEndpoints = _kubeletPort == 0 ? null : new V1NodeDaemonEndpoints { KubeletEndpoint = new V1DaemonEndpoint { Port = _kubeletPort } },
            NodeInfo = new V1NodeSystemInfo
            {
                Architecture = "amd64",
                OperatingSystem = "linux",
                KubeletVersion = "v1.20.2-sirocco-simulated",
                KubeProxyVersion = "v1.20.2-sirocco-simulated",
                ContainerRuntimeVersion = "simulated://1",
                BootID = string.Empty,
                KernelVersion = string.Empty,
                MachineID = string.Empty,
                OsImage = "simulated",
                SystemUUID = string.Empty,
            },
            Conditions =
            [
                Condition("Ready", "True", "KubeletReady", "the node simulator is posting ready status"),
                Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure"),
                Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
                Condition("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure"),
            ],
        };
    }

    private async Task HeartbeatLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            do
            {
                try
                {
                    await RenewLeaseAsync(stop).ConfigureAwait(false);
                    var node = await _client.CoreV1.ReadNodeAsync(options.NodeName, cancellationToken: stop).ConfigureAwait(false);
                    foreach (var condition in node.Status?.Conditions ?? [])
                    {
                        condition.LastHeartbeatTime = DateTime.UtcNow;
                    }

                    await _client.CoreV1.ReplaceNodeStatusAsync(node, options.NodeName, cancellationToken: stop).ConfigureAwait(false);
                }
                catch (HttpOperationException e) when (Is(e, HttpStatusCode.NotFound))
                {
                    Log("the node was deleted: registering it again");
                    await RetryAsync("register the node", RegisterNodeAsync, stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException && !stop.IsCancellationRequested)
                {
                    Log($"heartbeat failed (next in 10 s): {e.Message}");
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task RenewLeaseAsync(CancellationToken stop)
    {
        const string ns = "kube-node-lease";
        try
        {
            var lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(options.NodeName, ns, cancellationToken: stop).ConfigureAwait(false);
            lease.Spec.RenewTime = DateTime.UtcNow;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, options.NodeName, ns, cancellationToken: stop).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (Is(e, HttpStatusCode.NotFound))
        {
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(
                new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = options.NodeName },
                    Spec = new V1LeaseSpec { HolderIdentity = options.NodeName, LeaseDurationSeconds = 40, RenewTime = DateTime.UtcNow },
                },
                ns,
                cancellationToken: stop).ConfigureAwait(false);
        }
    }

    // ---- pods: one list-and-watch feeding a keyed queue ----

    private async Task WatchPodsAsync(CancellationToken stop)
    {
        string? version = null;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    var list = await _client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: stop).ConfigureAwait(false);
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var pod in list.Items)
                    {
                        seen.Add(Key(pod));
                        Observe(pod);
                    }

                    foreach (var gone in _pods.Keys.Where(k => !seen.Contains(k)).ToList())
                    {
                        _pods.TryRemove(gone, out _);
                    }

                    version = list.Metadata.ResourceVersion;
                }

                Exception? streamError = null;
                await foreach (var (type, pod) in _client.CoreV1.WatchListPodForAllNamespacesAsync(
                    allowWatchBookmarks: true,
                    resourceVersion: version,
                    timeoutSeconds: 300,
                    onError: e => streamError ??= e,
                    cancellationToken: stop).ConfigureAwait(false))
                {
                    version = pod.Metadata?.ResourceVersion ?? version;
                    switch (type)
                    {
                        case WatchEventType.Added or WatchEventType.Modified:
                            Observe(pod);
                            break;
                        case WatchEventType.Deleted:
                            _pods.TryRemove(Key(pod), out _);
                            _podIps.TryRemove(pod.Metadata?.Uid ?? string.Empty, out _);
                            break;
                        case WatchEventType.Error:
                            // An expired resource version (410 Gone) arrives as an error event: list again.
                            Log("the pod watch reported an error: listing again");
                            version = null;
                            break;
                    }

                    if (version is null)
                    {
                        break;
                    }
                }

                if (streamError is not null)
                {
                    throw streamError;
                }
            }
            catch (HttpOperationException e) when (Is(e, HttpStatusCode.Gone))
            {
                version = null;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException && !stop.IsCancellationRequested)
            {
                Log($"the pod watch failed (listing again in 1 s): {e.Message}");
                version = null;
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            }
        }
    }

    private void Observe(V1Pod pod)
    {
        var key = Key(pod);
        _pods[key] = pod;
        Enqueue(key);
    }

    /// <summary>
    /// Keeps the status this node just wrote. A kubelet serves a container's log from the moment it runs it, but this
    /// node's own copy of the pod comes from its watch, which can lag the watch of a client that saw the same write: a
    /// log asked for in that gap was refused as "waiting to start". A pod the watch already removed, or already shows
    /// newer, is left as it is.
    /// </summary>
    private void Remember(V1Pod written)
    {
        var key = Key(written);
        while (_pods.TryGetValue(key, out var cached)
            && long.TryParse(written.Metadata?.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var next)
            && (!long.TryParse(cached.Metadata?.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var held) || held < next))
        {
            if (_pods.TryUpdate(key, written, cached))
            {
                return;
            }
        }
    }

    private void Enqueue(string key)
    {
        if (_queued.TryAdd(key, 0))
        {
            _queue.Writer.TryWrite(key);
        }
    }

    private async Task EnqueueAfterAsync(string key, TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop).ConfigureAwait(false);
            Enqueue(key);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task WorkAsync(CancellationToken stop)
    {
        var failures = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var key in _queue.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            _queued.TryRemove(key, out _);
            if (stop.IsCancellationRequested || !_pods.TryGetValue(key, out var pod))
            {
                continue;
            }

            try
            {
                await StepAsync(key, pod, stop).ConfigureAwait(false);
                failures.Remove(key);
            }
            catch (HttpOperationException e) when (Is(e, HttpStatusCode.NotFound) || Is(e, HttpStatusCode.Conflict))
            {
                // Gone, or changed since this copy: the watch brings the newer one, which queues the pod again.
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException && !stop.IsCancellationRequested)
            {
                var attempt = failures[key] = failures.GetValueOrDefault(key) + 1;
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * (1 << Math.Min(attempt, 6))));
                Log($"{key}: {e.Message} (attempt {attempt}, again in {delay.TotalMilliseconds:0} ms)");
                _ = EnqueueAfterAsync(key, delay, stop);
            }
        }
    }

    /// <summary>Brings one pod one step further: bind, finish a deletion, start, or end it.</summary>
    private async Task StepAsync(string key, V1Pod pod, CancellationToken stop)
    {
        var name = pod.Metadata.Name;
        var ns = pod.Metadata.NamespaceProperty;
        if (string.IsNullOrEmpty(pod.Spec.NodeName))
        {
            if (options.Bind && pod.Metadata.DeletionTimestamp is null
                && (options.SchedulerName is null || pod.Spec.SchedulerName == options.SchedulerName))
            {
                var binding = new V1Binding
                {
                    Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = pod.Metadata.Uid },
                    Target = new V1ObjectReference { Kind = "Node", Name = options.NodeName },
                };
                await _client.CoreV1.CreateNamespacedPodBindingAsync(binding, name, ns, cancellationToken: stop).ConfigureAwait(false);
            }

            return;
        }

        if (pod.Spec.NodeName != options.NodeName)
        {
            return;
        }

        if (pod.Metadata.DeletionTimestamp is not null)
        {
            // The kubelet's half of a graceful deletion: the containers are gone, so the object goes at once.
            var body = new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } };
            await _client.CoreV1.DeleteNamespacedPodAsync(name, ns, body, cancellationToken: stop).ConfigureAwait(false);
            return;
        }

        switch (pod.Status?.Phase)
        {
            case "Succeeded" or "Failed":
                return;
            case "Running":
                if (pod.Spec.RestartPolicy is "Always" or null)
                {
                    return;
                }

                var runFor = RunFor(pod);
                var started = pod.Status.StartTime ?? DateTime.UtcNow;
                var statusDelay = pod.Metadata.Annotations?.TryGetValue(SimulatorOptions.StatusDelayAnnotation, out var delayText) == true
                    ? SimulatorOptions.ParseDuration(delayText) ?? TimeSpan.Zero
                    : TimeSpan.Zero;
                var left = started.ToUniversalTime() + runFor + statusDelay - DateTime.UtcNow;
                if (left > TimeSpan.Zero)
                {
                    _ = EnqueueAfterAsync(key, left, stop);
                    return;
                }

                var code = pod.Metadata.Annotations?.TryGetValue(SimulatorOptions.ExitCodeAnnotation, out var exit) == true
                    && int.TryParse(exit, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
                var ended = Copy(pod);
                PodStatuses.Terminate(ended, code, DateTime.UtcNow, finishedAt: started.ToUniversalTime() + runFor);
                Remember(await _client.CoreV1.ReplaceNamespacedPodStatusAsync(ended, name, ns, cancellationToken: stop).ConfigureAwait(false));
                return;
            default:
                var running = Copy(pod);
                var podIp = pod.Spec.HostNetwork == true ? HostIp : _podIps.GetOrAdd(pod.Metadata.Uid ?? key, _ => NextPodIp());
                PodStatuses.Start(running, HostIp, podIp, DateTime.UtcNow);
                Remember(await _client.CoreV1.ReplaceNamespacedPodStatusAsync(running, name, ns, cancellationToken: stop).ConfigureAwait(false));
                return;
        }
    }

    private TimeSpan RunFor(V1Pod pod) =>
        pod.Metadata.Annotations?.TryGetValue(SimulatorOptions.RunForAnnotation, out var text) == true
            ? SimulatorOptions.ParseDuration(text) ?? options.DefaultRunFor
            : options.DefaultRunFor;

    private string NextPodIp()
    {
        var n = Interlocked.Increment(ref _ipSequence);
        return string.Create(CultureInfo.InvariantCulture, $"10.244.{n / 250 % 250}.{(n % 250) + 2}");
    }
}
