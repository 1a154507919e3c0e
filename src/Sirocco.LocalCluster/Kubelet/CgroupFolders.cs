namespace Sirocco.LocalCluster.Kubelet;

/// <summary>Removal of cgroup folders, which the kernel allows only once they hold no process (best effort).</summary>
internal static class CgroupFolders
{
    /// <summary>Removes one group; left in place while it still has a process (the kernel reaps it soon).</summary>
    public static void TryRemove(string dir)
    {
        try
        {
            Directory.Delete(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still has a process, or already gone.
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
