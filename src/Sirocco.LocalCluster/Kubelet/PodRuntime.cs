using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// The node side of the cluster: registers the node, schedules pending pods onto it, keeps one
/// <see cref="PodWorker"/> per pod, and serves pod logs and exec.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class PodRuntime : IAsyncDisposable
{
    private readonly ClusterContext _cluster;
    private readonly ObjectStore _store;
    private readonly Dictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (decimal Cpu, decimal Memory)> _bound = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unschedulable = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<Task> _loops = [];
    private decimal _cpu;
    private decimal _memory;

    public PodRuntime(ClusterContext cluster)
    {
        _cluster = cluster;
        _store = cluster.Store;
        Events = new EventRecorder(cluster);
    }

    public EventRecorder Events { get; }

    /// <summary>The node's images: the store, and pulls.</summary>
    public Images.ImageService Images { get; private set; } = null!;

    public ProcessLauncher Launcher { get; private set; } = null!;

    /// <summary>Where the kubelet's own work runs, off the API server's thread pool.</summary>
    public DedicatedThreads Scheduler { get; private set; } = null!;

    /// <summary>The cgroup holding the containers at a low CPU weight; null where the machine has none to give.</summary>
    public CpuGroup? Cpu { get; private set; }

    /// <summary>Where memory limits are enforced; null when this machine does not let the cluster make cgroups.</summary>
    public MemoryCgroups? Memory { get; private set; }

    /// <summary>Where each pod's pid limit is enforced; null when this machine does not let the cluster make pids cgroups.</summary>
    public PidsGroups? Pids { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var name = _cluster.Options.NodeName;
        var existing = _store.Get("nodes", "", name)?.ToJson();
        var node = NodeInfo.Build(name, _cluster.Now, Meta.Get(existing ?? [], "uid"), Meta.Get(existing ?? [], "creationTimestamp"));
        if (existing is null)
        {
            _store.Create("nodes", node);
        }
        else
        {
            _store.Update("nodes", "", name, current =>
            {
                current["status"] = node["status"]!.DeepClone();
                Meta.Child(Meta.Of(current), "labels");
                foreach (var (k, v) in (JsonObject)node["metadata"]!["labels"]!)
                {
                    ((JsonObject)current["metadata"]!["labels"]!)[k] = v!.DeepClone();
                }

                return current;
            });
        }

        RemoveOrphanPodDirectories();
        Images = new Images.ImageService(_cluster);
        Memory = MemoryCgroups.Detect($"sirocco-{name}-{Environment.ProcessId}");
        Cpu = CpuGroup.Detect($"sirocco-{name}-{Environment.ProcessId}");
        Pids = PidsGroups.Detect($"sirocco-{name}-{Environment.ProcessId}", _cluster.Options.PodPidsLimit);
        if (Pids is not null || PodNetwork.Supported(_cluster.Options))
        {
            // The runtime makes its child-process (SIGCHLD) thread at the first start: made here, it is born in the
            // cluster's group and the host's network, never in those of the pod a launcher thread happens to be in.
            using var first = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/true") { UseShellExecute = false });
            first?.WaitForExit(5000);
        }

        if (PodNetwork.Unsupported(_cluster.Options) is { } why)
        {
            LocalClusterLog.SharedNetwork(_cluster.KubeletLog, why);
        }
        else if (_cluster.Options.PodNetwork != LocalClusterPodNetwork.Host)
        {
            NetworkNamespace.OpenHost(); // from this thread, which is in the host's network
        }

        Launcher = new ProcessLauncher(Cpu, Pids);
        Scheduler = new DedicatedThreads("kubelet", 2);
        _cpu = Environment.ProcessorCount;
        _memory = NodeInfo.MemoryBytes();
        var stopping = _cluster.Stopping.Token;
        var pods = _store.Watch("pods", null);
        var secrets = _store.Watch("secrets", _store.ResourceVersion);
        var configMaps = _store.Watch("configmaps", _store.ResourceVersion);
        _loops.Add(Scheduler.Run(() => PodLoopAsync(pods, stopping)));
        _loops.Add(Scheduler.Run(() => ConfigLoopAsync(secrets, stopping)));
        _loops.Add(Scheduler.Run(() => ConfigLoopAsync(configMaps, stopping)));
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        List<PodWorker> workers;
        lock (_gate)
        {
            workers = [.. _workers.Values];
        }

        await Task.WhenAll(workers.Select(w => w.KillAsync())).ConfigureAwait(false);
        Launcher?.Dispose();
        Pids?.RemoveRoot();
        Images?.Dispose();
        Memory?.RemoveRoot();

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        Scheduler?.Dispose();
        Cpu?.Remove();
    }

    /// <summary>Removes the files of pods deleted while the cluster was not running.</summary>
    private void RemoveOrphanPodDirectories()
    {
        var root = Path.Combine(_cluster.StateDirectory, "pods");
        if (!Directory.Exists(root))
        {
            return;
        }

        var known = _store.List("pods", null).Items.Select(p => Meta.Get(p.ToJson(), "uid")).ToHashSet(StringComparer.Ordinal);
        foreach (var dir in Directory.GetDirectories(root))
        {
            if (!known.Contains(Path.GetFileName(dir)))
            {
                try
                {
                    Sirocco.LocalCluster.Images.ImageStore.DeleteTree(dir);
                }
                catch (IOException)
                {
                    // Best effort.
                }
                catch (UnauthorizedAccessException)
                {
                    // Best effort.
                }
            }
        }
    }

    private async Task PodLoopAsync(StoreWatcher watcher, CancellationToken token)
    {
        using var _ = watcher;
        try
        {
            while (await watcher.Events.WaitToReadAsync(token).ConfigureAwait(true))
            {
                while (watcher.Events.TryRead(out var e))
                {
                    try
                    {
                        Handle(e);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // One bad pod must not stop the kubelet.
                        LocalClusterLog.EventFault(_cluster.KubeletLog, ex, e.Object.Key);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The cluster stops.
        }
    }

    private async Task ConfigLoopAsync(StoreWatcher watcher, CancellationToken token)
    {
        using var _ = watcher;
        try
        {
            while (await watcher.Events.WaitToReadAsync(token).ConfigureAwait(true))
            {
                var namespaces = new HashSet<string>(StringComparer.Ordinal);
                while (watcher.Events.TryRead(out var e))
                {
                    if (e.Type != StoreEventType.Deleted)
                    {
                        namespaces.Add(e.Object.Namespace);
                    }
                }

                List<PodWorker> waiting;
                lock (_gate)
                {
                    waiting = _workers.Values.Where(w => namespaces.Contains(w.Namespace) && !w.Finished).ToList();
                }

                foreach (var w in waiting)
                {
                    w.Wake();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The cluster stops.
        }
    }

    private void Handle(StoreEvent e)
    {
        var o = e.Object;
        var pod = o.ToJson();
        var uid = Meta.Get(pod, "uid") ?? "";
        if (e.Type == StoreEventType.Deleted)
        {
            PodWorker? worker;
            lock (_gate)
            {
                _workers.Remove(uid, out worker);
                _unschedulable.Remove(o.Key);
            }

            Release(uid);
            if (worker is not null)
            {
                _ = CleanupAsync(worker);
            }

            Events.Forget(uid);
            return;
        }

        var nodeName = o.Fields.GetValueOrDefault("spec.nodeName");
        var phase = o.Fields.GetValueOrDefault("status.phase");
        var deleting = Meta.Get(pod, "deletionTimestamp") is not null;
        if (string.IsNullOrEmpty(nodeName))
        {
            if (!deleting && Meta.Str(pod["spec"]?["schedulerName"]) == "default-scheduler")
            {
                Schedule(o, pod, e.Type == StoreEventType.Added);
            }

            return;
        }

        if (nodeName != _cluster.Options.NodeName)
        {
            return;
        }

        PodWorker? existing;
        lock (_gate)
        {
            _workers.TryGetValue(uid, out existing);
        }

        if (phase is "Succeeded" or "Failed")
        {
            Release(uid);
        }

        if (existing is null)
        {
            if (deleting || phase is "Succeeded" or "Failed")
            {
                if (deleting)
                {
                    TryDelete(o.Namespace, o.Name, uid);
                }

                return;
            }

            Reserve(uid, pod);
            var worker = new PodWorker(this, _cluster, o);
            lock (_gate)
            {
                _workers[uid] = worker;
            }

            worker.Start();
            return;
        }

        if (deleting)
        {
            var grace = (long?)pod["metadata"]?["deletionGracePeriodSeconds"] ?? 30;
            _ = DeleteGracefullyAsync(existing, grace, o.Namespace, o.Name);
        }
    }

    private async Task DeleteGracefullyAsync(PodWorker worker, long grace, string ns, string name)
    {
        await worker.DeleteAsync(grace).ConfigureAwait(true);
        TryDelete(ns, name, worker.Uid);
    }

    private void TryDelete(string ns, string name, string uid)
    {
        try
        {
            _store.Delete("pods", ns, name, current =>
            {
                if (current.ToJson()["metadata"]?["uid"]?.GetValue<string>() != uid)
                {
                    throw ApiException.NotFound("pods", name);
                }
            });
        }
        catch (ApiException e) when (e.Code == 404)
        {
            // Already gone.
        }
    }

    private static async Task CleanupAsync(PodWorker worker)
    {
        await worker.KillAsync().ConfigureAwait(true);
        foreach (var c in worker.Containers)
        {
            foreach (var log in c.Logs)
            {
                log.Dispose();
            }
        }

        try
        {
            Sirocco.LocalCluster.Images.ImageStore.DeleteTree(worker.Directory);
        }
        catch (IOException)
        {
            // Best effort: a file still open.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort.
        }
    }

    /// <summary>Called by a worker when its pod reached a final state.</summary>
    internal void PodFinished(PodWorker worker)
    {
        Release(worker.Uid);
    }

    private void Reserve(string uid, JsonObject pod)
    {
        var (cpu, memory) = Requests(pod);
        lock (_gate)
        {
            _bound[uid] = (cpu, memory);
        }
    }

    private void Release(string uid)
    {
        List<string> retry;

        // Under the scheduling lock, so a pod found not to fit just now is already in the set we retry.
        lock (_scheduling)
        {
            lock (_gate)
            {
                if (!_bound.Remove(uid) || _unschedulable.Count == 0)
                {
                    return;
                }

                retry = [.. _unschedulable];
            }
        }

        foreach (var key in retry)
        {
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            var stored = _store.Get("pods", key[..slash], key[(slash + 1)..]);
            if (stored is not null)
            {
                Schedule(stored, stored.ToJson(), first: false);
            }
        }
    }
}
