using k8s.Models;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Local ephemeral storage, enforced as the kubelet's eviction manager does: every
/// <see cref="LocalClusterOptions.StorageCheckInterval"/> a pod with an emptyDir <c>sizeLimit</c> or a container
/// <c>ephemeral-storage</c> limit has its usage measured (emptyDir folders; each container's writable layer and
/// logs), and the first limit exceeded evicts the pod: its containers are killed at once, the pod ends Failed with
/// reason Evicted and the kubelet's message, and a Warning event says the same. A task that fills the disk of the
/// machine the local cluster runs on is stopped, not the machine.
/// </summary>
internal sealed partial class PodWorker
{
    private string? _evictedMessage;

    private async Task WatchEphemeralStorageAsync(CancellationToken token)
    {
        var limits = StorageLimits.Of(_pod);
        if (limits.IsEmpty)
        {
            return;
        }

        using var timer = new PeriodicTimer(_cluster.Options.StorageCheckInterval, _cluster.Options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(true))
            {
                if (Finished)
                {
                    return;
                }

                // Measured off the kubelet's threads: a large tree must not stall every pod.
                if (await Task.Run(() => Exceeded(limits), token).ConfigureAwait(true) is not { } message)
                {
                    continue;
                }

                lock (_gate)
                {
                    // Only an active pod is evicted: one whose containers have all ended keeps its phase.
                    if (Finished || !Containers.Any(c => c.State == "running"))
                    {
                        continue;
                    }

                    _evictedMessage = message;
                }

                Record("Warning", "Evicted", message, null);
                PublishStatus();
                await KillAllAsync(TimeSpan.Zero, recordKilling: true).ConfigureAwait(true);
                await _stop.CancelAsync().ConfigureAwait(true);
                return;
            }
        }
        catch (OperationCanceledException)
        {
            // The pod ended or was deleted.
        }
#pragma warning disable CA1031 // a fault of the measurement must be seen, and must not take the kubelet down
        catch (Exception e)
#pragma warning restore CA1031
        {
            LocalClusterLog.PodFault(_cluster.KubeletLog, e, Namespace, Name);
            Record("Warning", "EvictionCheckFailed", "the local cluster could not measure this pod's local storage: " + e.Message, null);
        }
    }

    /// <summary>The kubelet's message for the first limit exceeded, in its order (emptyDir, pod, container); null if none.</summary>
    private string? Exceeded(StorageLimits limits)
    {
        // Each folder is walked once per check, whichever limits it counts towards.
        var emptyDirs = new Dictionary<string, long>(StringComparer.Ordinal);
        long EmptyDirBytes(string volume)
        {
            if (!emptyDirs.TryGetValue(volume, out var bytes))
            {
                emptyDirs[volume] = bytes = _volumes.TryGetValue(volume, out var v) ? FolderBytes(v.Source) : 0;
            }

            return bytes;
        }

        foreach (var (volume, limit, text) in limits.EmptyDirs)
        {
            if (EmptyDirBytes(volume) > limit)
            {
                return $"Usage of EmptyDir volume \"{volume}\" exceeds the limit \"{text}\". ";
            }
        }

        var perContainer = Containers.ToDictionary(
            c => c.Name,
            c => FolderBytes(Path.Combine(Directory, "containers", c.Name)) + FolderBytes(Path.Combine(Directory, "logs", c.Name)),
            StringComparer.Ordinal);
        if (limits.Pod is { } pod && perContainer.Values.Sum() + limits.DiskEmptyDirs.Sum(EmptyDirBytes) > pod.Bytes)
        {
            return $"Pod ephemeral local storage usage exceeds the total limit of containers {pod.Text}. ";
        }

        foreach (var (container, limit, text) in limits.Containers)
        {
            if (perContainer.GetValueOrDefault(container) > limit)
            {
                return $"Container {container} exceeded its local ephemeral storage limit \"{text}\". ";
            }
        }

        return null;
    }

    /// <summary>Bytes of the regular files under <paramref name="folder"/> (links not followed); 0 when it is missing.</summary>
    internal static long FolderBytes(string folder)
    {
        if (!System.IO.Directory.Exists(folder))
        {
            return 0;
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", options))
            {
                total += file.Length;
            }
        }
        catch (IOException)
        {
            // A file removed while counted: the next check counts again.
        }

        return total;
    }
}

/// <summary>A pod's local-storage limits, read once from its spec (quantities as stored, for the messages).</summary>
internal sealed record StorageLimits(
    IReadOnlyList<(string Volume, long Bytes, string Text)> EmptyDirs,
    IReadOnlyList<string> DiskEmptyDirs,
    (long Bytes, string Text)? Pod,
    IReadOnlyList<(string Container, long Bytes, string Text)> Containers)
{
    public bool IsEmpty => EmptyDirs.Count == 0 && Pod is null && Containers.Count == 0;

    public static StorageLimits Of(V1Pod pod)
    {
        var volumes = pod.Spec.Volumes ?? [];
        var emptyDirs = volumes
            .Where(v => v.EmptyDir?.SizeLimit is not null)
            .Select(v => (v.Name, Bytes(v.EmptyDir.SizeLimit), v.EmptyDir.SizeLimit.ToString()))
            .Where(e => e.Item2 > 0)
            .ToList();
        var disk = volumes.Where(v => v.EmptyDir is { } e && e.Medium != "Memory").Select(v => v.Name).ToList();
        var limited = (pod.Spec.Containers ?? [])
            .Select(c => (c.Name, Limit: Limit(c)))
            .Where(c => c.Limit is not null)
            .ToList();
        var containers = limited.Select(c => (c.Name, Bytes(c.Limit!), c.Limit!.ToString())).ToList();

        // As the kubelet's pod limit: the sum of the app containers' limits, or the largest init container's if larger,
        // written in the first limit's format.
        (long, string)? podLimit = null;
        if (containers.Count > 0)
        {
            var sum = containers.Sum(c => c.Item2);
            var init = (pod.Spec.InitContainers ?? []).Select(c => Limit(c) is { } q ? Bytes(q) : 0).DefaultIfEmpty(0).Max();
            var bytes = Math.Max(sum, init);
            podLimit = (bytes, new ResourceQuantity(bytes, 0, limited[0].Limit!.Format).ToString());
        }

        return new StorageLimits(emptyDirs, disk, podLimit, containers);
    }

    private static ResourceQuantity? Limit(V1Container c) =>
        c.Resources?.Limits?.TryGetValue("ephemeral-storage", out var q) == true ? q : null;

    private static long Bytes(ResourceQuantity q) => (long)Math.Min(Quantity.Parse(q.ToString()), long.MaxValue);
}
