namespace Sirocco.LocalCluster.Kubelet;

/// <summary>Removal of cgroup folders, which the kernel allows only once they hold no process (best effort).</summary>
internal static class CgroupFolders
{
    /// <summary>Moves the calling OS thread into the cgroup v1 group <paramref name="dir"/>; false when the kernel refused.</summary>
    public static bool JoinCurrentThread(string dir)
    {
        try
        {
            // "/proc/thread-self" links to "<pid>/task/<tid>".
            var tid = new FileInfo("/proc/thread-self").LinkTarget?.Split('/')[^1];
            if (tid is null || !int.TryParse(tid, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                return false;
            }

            File.WriteAllText(Path.Join(dir, "tasks"), tid);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Removes one group; true when it is gone, false while it still has a process (the kernel reaps it soon).</summary>
    public static bool TryRemove(string dir)
    {
        try
        {
            Directory.Delete(dir);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes the groups (and their empty children) that cluster processes now dead left under <paramref name="parent"/>:
    /// a group's name ends in its owner's pid, as <paramref name="name"/> does. <paramref name="emptyFirst"/>, when
    /// given, is called on each such group and its children before they are removed.
    /// </summary>
    public static void RemoveStale(string parent, string name, Action<string>? emptyFirst = null)
    {
        var dash = name.LastIndexOf('-');
        if (dash < 0 || !Directory.Exists(parent))
        {
            return;
        }

        var prefix = name[..(dash + 1)];
        foreach (var dir in Directory.GetDirectories(parent, prefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(dir)[prefix.Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
                && !Directory.Exists($"/proc/{pid}"))
            {
                if (emptyFirst is not null)
                {
                    try
                    {
                        foreach (var group in Directory.GetDirectories(dir).Append(dir))
                        {
                            emptyFirst(group);
                        }
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        // Gone meanwhile.
                    }
                }

                TryRemoveWithChildren(dir);
            }
        }
    }

    /// <summary>Removes a group and the empty groups under it.</summary>
    public static void TryRemoveWithChildren(string root)
    {
        try
        {
            foreach (var dir in Directory.GetDirectories(root))
            {
                Directory.Delete(dir);
            }

            Directory.Delete(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort.
        }
    }
}
