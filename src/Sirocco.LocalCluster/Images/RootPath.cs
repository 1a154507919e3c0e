namespace Sirocco.LocalCluster.Images;

/// <summary>
/// Resolves a path inside an image's root folder the way the kernel would inside the container: symbolic links are
/// followed relative to that root (an absolute link target starts at the root, <c>..</c> stops at it), so nothing
/// written or looked up through a link can leave the root folder.
/// </summary>
internal static class RootPath
{
    private const int MaxLinks = 255;

    /// <summary>
    /// The host path of <paramref name="path"/> inside <paramref name="root"/>. Every parent component is resolved;
    /// the last one too when <paramref name="followLast"/> is true.
    /// </summary>
    public static string Resolve(string root, string path, bool followLast)
    {
        var pending = new Stack<string>(Split(path).Reverse());
        var done = new List<string>();
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == "..")
            {
                if (done.Count > 0)
                {
                    done.RemoveAt(done.Count - 1);
                }

                continue;
            }

            var host = Path.Combine(root, Path.Combine([.. done, part]));
            var last = pending.Count == 0;
            FileSystemInfo info = new FileInfo(host);
            if ((!last || followLast) && info.LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new IOException($"too many levels of symbolic links resolving {path} in the image");
                }

                if (target.StartsWith('/'))
                {
                    done.Clear();
                }

                foreach (var t in Split(target).Reverse())
                {
                    pending.Push(t);
                }

                continue;
            }

            done.Add(part);
        }

        return done.Count == 0 ? root : Path.Combine(root, Path.Combine([.. done]));
    }

    /// <summary>The path's components without empty ones and <c>.</c>.</summary>
    public static IEnumerable<string> Split(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");

    /// <summary>True when <paramref name="path"/> names a regular file inside the root (links followed inside it).</summary>
    public static bool IsFile(string root, string path)
    {
        try
        {
            // File.Exists is false for a folder.
            return File.Exists(Resolve(root, path, followLast: true));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Finds a command as a shell would: a path with a slash as given, else the first match on PATH.</summary>
    public static string? FindCommand(string root, string command, string searchPath, string workingDir)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            var full = command.StartsWith('/') ? command : workingDir.TrimEnd('/') + "/" + command;
            return IsFile(root, full) ? command : null;
        }

        foreach (var dir in searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (IsFile(root, dir + "/" + command))
            {
                return dir.TrimEnd('/') + "/" + command;
            }
        }

        return null;
    }
}
