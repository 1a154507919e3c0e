using System.Globalization;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Memory limits through a cgroup per container, where the machine lets this process make them (cgroup v1's memory
/// controller, or cgroup v2 with memory delegated). The container's launcher joins its cgroup before it execs
/// bubblewrap; the kernel's OOM killer then kills the container at its limit and the kubelet reports OOMKilled.
/// </summary>
internal sealed class MemoryCgroups
{
    private readonly string _root;
    private readonly bool _v2;
    private readonly OwnedGroups _owned;

    private MemoryCgroups(string root, bool v2)
    {
        _root = root;
        _v2 = v2;
        _owned = new OwnedGroups(root);
    }

    /// <summary>The cgroup directory for this cluster's containers, or null when limits cannot be enforced here.</summary>
    public static MemoryCgroups? Detect(string clusterName)
    {
        try
        {
            var lines = File.ReadAllLines("/proc/self/cgroup");
            var v1 = lines.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("memory"));
            if (v1 is not null && Directory.Exists("/sys/fs/cgroup/memory"))
            {
                return Try(Path.Join("/sys/fs/cgroup/memory", v1[2], clusterName), v2: false);
            }

            var unified = lines.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[0] == "0" && p[1].Length == 0);
            if (unified is not null && File.Exists("/sys/fs/cgroup/cgroup.controllers"))
            {
                var parent = Path.Join("/sys/fs/cgroup", unified[2]);
                if (File.ReadAllText(Path.Join(parent, "cgroup.controllers")).Split(' ', StringSplitOptions.TrimEntries).Contains("memory"))
                {
                    return Try(Path.Join(parent, clusterName), v2: true);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No cgroups to use.
        }

        return null;
    }

    private static MemoryCgroups? Try(string root, bool v2)
    {
        try
        {
            Directory.CreateDirectory(root);
            if (v2)
            {
                File.WriteAllText(Path.Join(root, "cgroup.subtree_control"), "+memory");
            }

            return new MemoryCgroups(root, v2);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Makes the cgroup of one container run; returns the file a process writes its pid to, to join it.</summary>
    public string? Create(string id, decimal bytes)
    {
        try
        {
            var dir = _owned.Add(id);
            Directory.CreateDirectory(dir);
            var limit = ((long)Math.Ceiling(bytes)).ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(Path.Join(dir, _v2 ? "memory.max" : "memory.limit_in_bytes"), limit);
            if (!_v2)
            {
                // Without swap accounting the limit would let the container swap instead of being killed.
                var memsw = Path.Join(dir, "memory.memsw.limit_in_bytes");
                if (File.Exists(memsw))
                {
                    File.WriteAllText(memsw, limit);
                }
            }

            return Path.Join(dir, "cgroup.procs");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True when the kernel's OOM killer killed something in the container's cgroup.</summary>
    public bool OomKilled(string id)
    {
        try
        {
            var file = Path.Join(_root, id, _v2 ? "memory.events" : "memory.oom_control");
            return File.ReadLines(file).Select(l => l.Split(' ')).Any(p => p.Length == 2 && p[0] == "oom_kill" && p[1] != "0");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Removes a container's cgroup once its processes are gone (best effort).</summary>
    public void Remove(string id) => _ = _owned.Remove(id);

    /// <summary>Removes this cluster's container cgroups, and the cluster's directory when nothing else is in it.</summary>
    public void RemoveRoot() => _owned.RemoveAll();
}
