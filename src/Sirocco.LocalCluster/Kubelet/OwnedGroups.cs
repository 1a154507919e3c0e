namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// The child groups (of pods or containers) one cluster made under its root group. Clusters in one process share the
/// root's name (it ends in the process id), so a cluster that stops removes only its own children, then the root if
/// nothing else is left in it: removing another cluster's empty group would fail that cluster's next join of it.
/// </summary>
internal sealed class OwnedGroups(string root)
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    /// <summary>Records the group <paramref name="id"/> as this cluster's; returns its folder.</summary>
    public string Add(string id)
    {
        lock (_ids)
        {
            _ids.Add(id);
        }

        return Path.Join(root, id);
    }

    /// <summary>Removes the group <paramref name="id"/>; false while processes are still in it.</summary>
    public bool Remove(string id)
    {
        if (!CgroupFolders.TryRemove(Path.Join(root, id)))
        {
            return false;
        }

        lock (_ids)
        {
            _ids.Remove(id);
        }

        return true;
    }

    /// <summary>
    /// Removes every group this cluster made (after <paramref name="emptyFirst"/> on each, when given) and then the
    /// root, if no other cluster's group or thread is in it (best effort).
    /// </summary>
    public void RemoveAll(Action<string>? emptyFirst = null)
    {
        string[] ids;
        lock (_ids)
        {
            ids = [.. _ids];
            _ids.Clear();
        }

        foreach (var id in ids)
        {
            var dir = Path.Join(root, id);
            emptyFirst?.Invoke(dir);
            CgroupFolders.TryRemove(dir);
        }

        CgroupFolders.TryRemove(root);
    }
}
