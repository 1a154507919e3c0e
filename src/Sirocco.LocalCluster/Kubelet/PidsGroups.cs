using System.Globalization;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// The kubelet's <c>podPidsLimit</c>: one cgroup v1 <c>pids</c> group per pod, capped at
/// <see cref="LocalClusterOptions.PodPidsLimit"/>, so a fork bomb in a pod fails its own forks ("Resource temporarily
/// unavailable") instead of exhausting the machine's process table. The launcher thread joins the pod's group just
/// before it forks a container or an exec session (cgroup v1 moves single threads), so the child starts inside it,
/// and goes back to the cluster's group right after. Null where there is no v1 pids hierarchy this process may write.
/// </summary>
internal sealed class PidsGroups
{
    private readonly string _root;
    private readonly int _limit;
    private readonly OwnedGroups _owned;
    private readonly HashSet<string> _leftToRemove = new(StringComparer.Ordinal);

    private PidsGroups(string root, int limit)
    {
        _root = root;
        _limit = limit;
        _owned = new OwnedGroups(root);
    }

    /// <summary>The cluster's pids group, or null when pid limits cannot be enforced here (or the limit is off).</summary>
    public static PidsGroups? Detect(string clusterName, int limit)
    {
        if (limit <= 0)
        {
            return null;
        }

        try
        {
            var line = File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3))
                .FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("pids"));
            if (line is null || !File.Exists("/sys/fs/cgroup/pids/tasks"))
            {
                return null;
            }

            var parent = Path.Join("/sys/fs/cgroup/pids", line[2]);
            CgroupFolders.RemoveStale(parent, clusterName, KillLeftovers); // a dead cluster's sandboxes are orphans
            var root = Path.Join(parent, clusterName);
            Directory.CreateDirectory(root);
            return new PidsGroups(root, limit);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The pod's group with its limit set (written on every call: a group is never joined without its limit); null when
    /// the kernel refused.
    /// </summary>
    public string? ForPod(string podUid)
    {
        var dir = _owned.Add(podUid);
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Join(dir, "pids.max"), _limit.ToString(CultureInfo.InvariantCulture));
            return dir;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Moves the calling OS thread into <paramref name="group"/> (a pod's, or the cluster's when null).</summary>
    public bool JoinCurrentThread(string? group) => CgroupFolders.JoinCurrentThread(group ?? _root);

    /// <summary>
    /// Removes an ended pod's group, first killing any process still in it: a container's sandbox whose parent was
    /// killed while it started (a pod deleted as it starts) misses its parent-death signal and would wait forever.
    /// Processes killed a moment ago may still be exiting: such a group is tried again each time another pod ends.
    /// </summary>
    public void RemovePod(string podUid)
    {
        lock (_leftToRemove)
        {
            _leftToRemove.Add(podUid);
            _leftToRemove.RemoveWhere(uid =>
            {
                KillLeftovers(Path.Join(_root, uid));
                return _owned.Remove(uid);
            });
        }
    }

    private static void KillLeftovers(string dir)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            foreach (var line in File.ReadLines(Path.Join(dir, "cgroup.procs")))
            {
                // The cluster's own launcher thread joins a pod's group for a moment to fork: never signal this process.
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId)
                {
                    Native.Signal(pid, Native.SigKill);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone already, or not ours to read.
        }
    }

    /// <summary>
    /// Removes this cluster's pod groups and then its root group (best effort), first killing whatever is still in
    /// them: a sandbox that joined its pod's group after the pod's own sweep (the pod ended while its container was
    /// being launched) is not left waiting forever when no other pod ends after it (one outlived a test run so).
    /// </summary>
    public void RemoveRoot()
    {
        lock (_leftToRemove)
        {
            _leftToRemove.Clear();
            _owned.RemoveAll(KillLeftovers);
        }
    }
}
