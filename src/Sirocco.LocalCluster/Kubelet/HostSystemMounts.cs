namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// The host's read-only system folders (/usr, /etc) in a sandbox. Bound whole, they cannot take a volume at a path
/// that does not exist on the host (bubblewrap cannot create <c>/etc/hx</c> in a read-only /etc), yet mounting
/// configuration under /etc is the commonest pattern in real manifests. So each folder on the way to such a mount
/// point becomes a tmpfs holding the host's entries one by one (read-only binds and symlinks), where the missing
/// folder can be made; every other folder is bound whole, as before.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class HostSystemMounts
{
    /// <summary>Arguments binding <paramref name="root"/> read-only, opened up along the way to <paramref name="mountPaths"/>.</summary>
    public static IEnumerable<string> Bind(string root, IEnumerable<string> mountPaths)
    {
        var open = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in mountPaths)
        {
            var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
            if (!target.StartsWith(root + "/", StringComparison.Ordinal) || Path.Exists(target))
            {
                continue; // outside the folder, or an existing mount point: a bind over it works
            }

            // Every existing folder from the root down to the mount point's deepest existing ancestor is opened.
            for (var dir = Path.GetDirectoryName(target); dir is not null && dir.Length >= root.Length; dir = Path.GetDirectoryName(dir))
            {
                if (Directory.Exists(dir) && !IsSymlink(dir))
                {
                    open.Add(dir);
                }
            }
        }

        return open.Contains(root) ? Opened(root, open) : ["--ro-bind", root, root];
    }

    private static IEnumerable<string> Opened(string dir, HashSet<string> open)
    {
        yield return "--tmpfs";
        yield return dir;
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            if (IsSymlink(entry) && new FileInfo(entry).LinkTarget is { } link)
            {
                yield return "--symlink";
                yield return link;
                yield return entry;
            }
            else if (open.Contains(entry))
            {
                foreach (var a in Opened(entry, open))
                {
                    yield return a;
                }
            }
            else
            {
                yield return "--ro-bind";
                yield return entry;
                yield return entry;
            }
        }
    }

    private static bool IsSymlink(string path) => File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint);
}
