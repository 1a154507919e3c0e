using System.Globalization;
using k8s.Models;
using Sirocco.LocalCluster.Images;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Runs a container in its image: the image's unpacked root folder as the lower layer of an overlay with a writable
/// layer of the container's own, mounted in a private mount namespace (gone with the container), and bubblewrap
/// rooted there. The image's Entrypoint, Cmd, Env, WorkingDir and User combine with the container's command, args, env,
/// workingDir and securityContext by Kubernetes' rules.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ImageSandbox
{
    private const string UnsharePath = "/usr/bin/unshare";

    // The overlay is mounted by a host shell in the new mount namespace, which then becomes bubblewrap; bubblewrap's
    // and the container's stderr join stdout there (the image may have no shell to do it inside).
    private const string MountScript =
        "mount -t overlay overlay -o \"lowerdir=$1,upperdir=$2,workdir=$3\" \"$4\" || { echo \"the local cluster could not mount the container's root filesystem (overlayfs over $1)\" >&2; exit 125; }; shift 4; exec \"$@\" 2>&1";

    /// <summary>
    /// The command line: <c>command</c> replaces the image's Entrypoint and drops its Cmd; <c>args</c> alone replace the
    /// Cmd. Null when neither the container nor the image names anything to run.
    /// </summary>
    public static List<string>? Command(V1Container container, ImageConfig config)
    {
        List<string> argv = container.Command is { Count: > 0 } command
            ? [.. command, .. container.Args ?? []]
            : [.. config.Entrypoint, .. container.Args is { Count: > 0 } args ? [.. args] : config.Cmd];
        return argv.Count == 0 ? null : argv;
    }

    /// <summary>
    /// The user and group the container runs as: <c>runAsUser</c>/<c>runAsGroup</c> of the container or the pod, else the
    /// image's User (a number, or a name looked up in the image's /etc/passwd and /etc/group). Throws
    /// <see cref="ConfigMissingException"/> for a name the image does not know, or a root user with <c>runAsNonRoot</c>.
    /// </summary>
    public static (long Uid, long Gid, string? Home) User(V1Pod pod, V1Container container, ImageConfig config, string rootFs)
    {
        var sc = container.SecurityContext;
        var psc = pod.Spec.SecurityContext;
        var userPart = config.User;
        string? groupPart = null;
        var colon = userPart.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            groupPart = userPart[(colon + 1)..];
            userPart = userPart[..colon];
        }

        var passwd = ReadTable(rootFs, "/etc/passwd");
        var runAsNonRoot = (sc?.RunAsNonRoot ?? psc?.RunAsNonRoot) == true;
        long uid = 0;
        long? gid = null;
        string? home = null;
        var forcedUser = sc?.RunAsUser ?? psc?.RunAsUser;
        if (forcedUser is { } forced)
        {
            // runAsUser replaces the image's whole User, its group included.
            uid = forced;
            groupPart = null;
            var entry = passwd.FirstOrDefault(p => p.Length > 5 && p[2] == uid.ToString(CultureInfo.InvariantCulture));
            home = entry?[5];
            gid = entry is not null && long.TryParse(entry[3], CultureInfo.InvariantCulture, out var g) ? g : null;
        }
        else if (userPart.Length > 0)
        {
            var numeric = long.TryParse(userPart, CultureInfo.InvariantCulture, out var number);
            if (!numeric && runAsNonRoot)
            {
                throw new ConfigMissingException($"container has runAsNonRoot and image has non-numeric user ({userPart}), cannot verify user is non-root");
            }

            var entry = numeric
                ? passwd.FirstOrDefault(p => p.Length > 5 && p[2] == userPart)
                : passwd.FirstOrDefault(p => p.Length > 5 && p[0] == userPart)
                    ?? throw new ConfigMissingException($"unable to find user {userPart}: no matching entries in passwd file");
            uid = entry is null ? number
                : long.TryParse(entry[2], CultureInfo.InvariantCulture, out var parsed) ? parsed
                : throw new ConfigMissingException($"the image's /etc/passwd gives user {userPart} the id \"{entry[2]}\", which is not a number");
            gid = entry is not null && long.TryParse(entry[3], CultureInfo.InvariantCulture, out var g) ? g : null;
            home = entry?[5];
        }
        else
        {
            home = passwd.FirstOrDefault(p => p.Length > 5 && p[2] == "0")?[5];
        }

        if ((sc?.RunAsGroup ?? psc?.RunAsGroup) is { } forcedGroup)
        {
            gid = forcedGroup;
        }
        else if (groupPart is { Length: > 0 })
        {
            gid = long.TryParse(groupPart, CultureInfo.InvariantCulture, out var g) ? g
                : ReadTable(rootFs, "/etc/group").FirstOrDefault(e => e.Length > 2 && e[0] == groupPart) is { } entry && long.TryParse(entry[2], CultureInfo.InvariantCulture, out var named) ? named
                : throw new ConfigMissingException($"unable to find group {groupPart}: no matching entries in group file");
        }

        if (uid == 0 && runAsNonRoot)
        {
            throw new ConfigMissingException("container has runAsNonRoot and image will run as root");
        }

        return (uid, gid ?? 0, home);
    }

    /// <summary>The program and arguments that mount the overlay and start bubblewrap with <paramref name="sandbox"/>.</summary>
    public static List<string> Launch(string bubblewrap, string lower, string upper, string work, string merged, IEnumerable<string> sandbox)
    {
        foreach (var path in new[] { lower, upper, work })
        {
            if (path.Contains(',', StringComparison.Ordinal) || path.Contains(':', StringComparison.Ordinal))
            {
                throw new ConfigMissingException($"the local cluster's state folder {path} holds ',' or ':', which overlayfs cannot take in a layer path");
            }
        }

        List<string> args = [UnsharePath, "--mount", "--propagation", "private"];
        if (!Environment.IsPrivilegedProcess)
        {
            // Run by another user: the overlay is mounted in a user namespace of its own (Linux 5.11 and later).
            args.AddRange(["--user", "--map-root-user"]);
        }

        args.AddRange(["/bin/sh", "-c", MountScript, "sh", lower, upper, work, merged, bubblewrap]);
        args.AddRange(sandbox);
        return args;
    }

    /// <summary>Bubblewrap's arguments for a container rooted at the mounted overlay <paramref name="merged"/>.</summary>
    public static List<string> Arguments(V1Pod pod, V1Container container, string merged, IReadOnlyDictionary<string, (string Source, bool ReadOnly)> volumes, string terminationLog, (long Uid, long Gid) user, string workingDir)
    {
        List<string> args =
        [
            "--bind", merged, "/",
            "--proc", "/proc",
            "--dev", "/dev",
            "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf",
            "--ro-bind-try", "/etc/hosts", "/etc/hosts",
            .. Sandbox.Isolation(pod),
        ];
        if (container.SecurityContext?.Privileged != true)
        {
            args.AddRange([
                "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
                "--uid", user.Uid.ToString(CultureInfo.InvariantCulture),
                "--gid", user.Gid.ToString(CultureInfo.InvariantCulture),
            ]);
        }

        args.AddRange(Sandbox.VolumeArguments(container, volumes));
        args.AddRange(["--bind", terminationLog, container.TerminationMessagePath ?? "/dev/termination-log"]);
        if (container.SecurityContext?.ReadOnlyRootFilesystem == true)
        {
            args.AddRange(["--remount-ro", "/"]);
        }

        args.AddRange(["--chdir", workingDir]);
        return args;
    }

    private static List<string[]> ReadTable(string rootFs, string path)
    {
        try
        {
            var file = RootPath.Resolve(rootFs, path, followLast: true);
            return File.Exists(file) ? [.. File.ReadLines(file).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':'))] : [];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
