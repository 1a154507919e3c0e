using System.Globalization;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// A cgroup (v1 cpu controller) that holds every container of the cluster with a small CPU weight, as a real node
/// puts pods under <c>kubepods</c> and reserves CPU for the kubelet and the API server. The weight belongs to the group
/// as a whole: 500 starting containers together get about as much CPU as one thread of the API server when both want
/// it, instead of 500 times as much. The launcher threads join the group (cgroup v1 moves single threads), so the
/// processes they fork are in it from their first instruction, and the fork itself is charged to it.
/// </summary>
internal sealed class CpuGroup
{
    /// <summary>The group's weight; a thread of the cluster process has 1024.</summary>
    public const int Shares = 128;

    private readonly string _dir;
    private readonly OwnedGroups _owned;

    private CpuGroup(string dir)
    {
        _dir = dir;
        _owned = new OwnedGroups(dir);
    }

    /// <summary>The group for this cluster's containers, or null where threads cannot be moved into a cpu cgroup.</summary>
    public static CpuGroup? Detect(string name)
    {
        try
        {
            var line = File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3))
                .FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("cpu"));
            if (line is null)
            {
                return null;
            }

            var mount = new[] { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct" }.FirstOrDefault(d => File.Exists(Path.Join(d, "cpu.shares")));
            if (mount is null)
            {
                return null;
            }

            var parent = Path.Join(mount, line[2]);
            CgroupFolders.RemoveStale(parent, name);
            var dir = Path.Join(parent, name);
            System.IO.Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Join(dir, "cpu.shares"), Shares.ToString(CultureInfo.InvariantCulture));
            return new CpuGroup(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The group's directory under the cgroup file system.</summary>
    public string Directory => _dir;

    /// <summary>Moves the calling OS thread into the group; false when the kernel refused.</summary>
    public bool JoinCurrentThread() => CgroupFolders.JoinCurrentThread(_dir);

    /// <summary>Removes this cluster's container groups and then the group, once their processes are gone (best effort).</summary>
    public void Remove() => _owned.RemoveAll();

    /// <summary>The CFS period, as the kubelet sets it: 100 ms.</summary>
    private const long PeriodMicroseconds = 100_000;

    /// <summary>
    /// Makes a container's group inside the cluster's, holding it to <paramref name="limitCores"/> CPUs by the CFS quota
    /// (<c>cpu.cfs_quota_us</c> = limit × 100 ms, at least 1 ms, as the kubelet computes it) with the weight of
    /// <paramref name="requestCores"/> (<c>cpu.shares</c> = request × 1024, at least 2). Returns the file a process
    /// writes its pid to, to join it, or null when the kernel refused.
    /// </summary>
    public string? CreateContainer(string id, decimal limitCores, decimal requestCores)
    {
        try
        {
            var dir = _owned.Add(id);
            System.IO.Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Join(dir, "cpu.cfs_period_us"), PeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
            var quota = Math.Max(1000, (long)Math.Ceiling(limitCores * PeriodMicroseconds));
            File.WriteAllText(Path.Join(dir, "cpu.cfs_quota_us"), quota.ToString(CultureInfo.InvariantCulture));
            var shares = Math.Max(2, (long)Math.Floor(requestCores * 1024));
            File.WriteAllText(Path.Join(dir, "cpu.shares"), shares.ToString(CultureInfo.InvariantCulture));
            return Path.Join(dir, "cgroup.procs");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes a container's group once its processes are gone (best effort).</summary>
    public void RemoveContainer(string id) => _ = _owned.Remove(id);
}
