using System.Text;
using k8s.Models;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// The bubblewrap sandbox of a container: the host's system directories read-only, a private /tmp, its own pid, UTS
/// and IPC namespaces, a new session (no terminal injection into the cluster's terminal), and the pod's volumes at
/// their mount paths. When the cluster runs as root, a container that is not privileged also gets its own user
/// namespace with every capability dropped and no nested user namespaces, so root in a pod is not root on the host's
/// kernel objects (files keep their owners: uid 0 in the pod still owns what uid 0 owns on the host).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class Sandbox
{
    private const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public static List<string> Arguments(V1Pod pod, V1Container container, IReadOnlyDictionary<string, (string Source, bool ReadOnly)> volumes, string tmp, string terminationLog)
    {
        var mountPaths = (container.VolumeMounts ?? []).Select(m => m.MountPath).ToList();
        var args = HostSystemMounts.Bind("/usr", mountPaths).ToList();
        args.AddRange([
            "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib",
        ]);
        if (Directory.Exists("/usr/lib64"))
        {
            args.AddRange(["--symlink", "usr/lib64", "/lib64"]);
        }

        args.AddRange(HostSystemMounts.Bind("/etc", mountPaths));
        args.AddRange([
            "--proc", "/proc",
            "--dev", "/dev",
            "--bind", tmp, "/tmp",
            "--dir", "/var",
            "--dir", "/root",
        ]);
        args.AddRange(Isolation(pod));
        if (UsesUserNamespace(container))
        {
            args.AddRange(["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]);
        }

        if (Directory.Exists(ContainerConfig.CompatFolder))
        {
            args.AddRange(["--ro-bind", ContainerConfig.CompatFolder, ContainerConfig.CompatMountPath]);
        }

        args.AddRange(VolumeArguments(container, volumes));
        args.AddRange(["--bind", terminationLog, container.TerminationMessagePath ?? "/dev/termination-log"]);
        args.AddRange(["--chdir", string.IsNullOrEmpty(container.WorkingDir) ? "/" : container.WorkingDir]);
        return args;
    }

    /// <summary>
    /// Its own pid, UTS and IPC namespaces with the pod's host name, the command as pid 1, gone with the kubelet, and a
    /// new session.
    /// </summary>
    public static string[] Isolation(V1Pod pod) =>
    [
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-ipc",
        "--hostname", pod.Spec.Hostname ?? pod.Metadata.Name,
        "--as-pid-1",
        "--die-with-parent",
        "--new-session",
    ];

    /// <summary>The bind mounts of a container's volumes at their mount paths, shortest path first.</summary>
    public static List<string> VolumeArguments(V1Container container, IReadOnlyDictionary<string, (string Source, bool ReadOnly)> volumes)
    {
        var args = new List<string>();
        foreach (var m in (container.VolumeMounts ?? []).OrderBy(m => m.MountPath.Length))
        {
            if (!volumes.TryGetValue(m.Name, out var volume))
            {
                continue;
            }

            var source = volume.Source;
            if (!string.IsNullOrEmpty(m.SubPath))
            {
                source = Path.Combine(source, m.SubPath);
                if (!Path.Exists(source))
                {
                    Directory.CreateDirectory(source, DirMode);
                }
            }

            var readOnly = volume.ReadOnly || m.ReadOnlyProperty == true;
            args.AddRange([readOnly ? "--ro-bind" : "--bind", source, m.MountPath]);
        }

        return args;
    }

    /// <summary>
    /// Whether the container runs in its own user namespace without capabilities: when the cluster runs as root and the
    /// container is not privileged. (Run by another user, bubblewrap gives it no capabilities anyway.)
    /// </summary>
    public static bool UsesUserNamespace(V1Container container) =>
        Environment.IsPrivilegedProcess && container.SecurityContext?.Privileged != true;

    /// <summary>
    /// The <c>nsenter</c> arguments that run <paramref name="command"/> inside a running container's namespaces, with
    /// the same capabilities as the container (none, unless it is privileged).
    /// </summary>
    public static IEnumerable<string> EnterArguments(int pid, V1Container container, IEnumerable<string> command, (long Uid, long Gid)? imageUser = null)
    {
        var userNamespace = imageUser is null ? UsesUserNamespace(container) : container.SecurityContext?.Privileged != true;
        List<string> args = ["-t", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (userNamespace)
        {
            args.Add("-U");
        }

        if (imageUser is { } user && userNamespace)
        {
            // In the container's user namespace only its own user is mapped. The image may have no setpriv: the command
            // keeps the namespace's capabilities, which give nothing on the host.
            args.AddRange(["-S", user.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-G", user.Gid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        // -n: the pod's own network namespace (or the host's, for a pod that shares it).
        args.AddRange(["-m", "-p", "-u", "-i", "-n", "-r", "-w", "--"]);
        if (userNamespace && imageUser is null)
        {
            args.AddRange([SetprivPath, "--bounding-set", "-all", "--inh-caps", "-all", "--ambient-caps", "-all", "--"]);
        }

        args.AddRange(command);
        return args;
    }

    private const string SetprivPath = "/usr/bin/setpriv";

    /// <summary>True when the command names a file the sandbox will find (absolute, or on its PATH).</summary>
    public static bool Resolvable(string command, string path, V1Container container)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            if (!command.StartsWith('/'))
            {
                return true;
            }

            // Files inside volumes or the private /tmp are not visible from here; trust them.
            if ((container.VolumeMounts ?? []).Any(m => command.StartsWith(m.MountPath, StringComparison.Ordinal)) || command.StartsWith("/tmp/", StringComparison.Ordinal))
            {
                return true;
            }

            return File.Exists(command);
        }

        return path.Split(':').Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, command)));
    }

    /// <summary>Makes a volume's contents on the host; returns the host path and whether it mounts read-only.</summary>
    public static (string Source, bool ReadOnly) PrepareVolume(ObjectStore store, V1Pod pod, V1Volume volume, string dir, ClusterContext cluster)
    {
        try
        {
            return Prepare(store, pod, volume, dir, projection => PodToken(cluster, pod, projection));
        }
        catch (ConfigMissingException e)
        {
            e.Data["volume"] = volume.Name;
            throw;
        }
    }

    /// <summary>
    /// The token of a projected <c>serviceAccountToken</c>: the pod's service account's, bound to the pod (it stops
    /// working when the pod is gone). Valid for a year at least: this kubelet does not refresh tokens, and the real
    /// server also extends the default <c>kube-api-access</c> token to a year.
    /// </summary>
    private static string PodToken(ClusterContext cluster, V1Pod pod, V1ServiceAccountTokenProjection projection)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var account = string.IsNullOrEmpty(pod.Spec.ServiceAccountName) ? "default" : pod.Spec.ServiceAccountName;
        var stored = cluster.Store.Get("serviceaccounts", ns, account)
            ?? throw new ConfigMissingException($"serviceaccount \"{account}\" not found");
        var audiences = string.IsNullOrEmpty(projection.Audience) ? new[] { Auth.ServiceAccountTokens.Issuer } : [projection.Audience];
        var seconds = Math.Max(projection.ExpirationSeconds ?? 3600, (long)TimeSpan.FromDays(365).TotalSeconds);
        return cluster.Tokens.Issue(ns, account, Meta.Get(stored.ToJson(), "uid") ?? "", audiences, seconds, pod.Metadata.Name, pod.Metadata.Uid).Token;
    }

    private static (string Source, bool ReadOnly) Prepare(ObjectStore store, V1Pod pod, V1Volume volume, string dir, Func<V1ServiceAccountTokenProjection, string> issueToken)
    {
        var ns = pod.Metadata.NamespaceProperty;
        if (volume.EmptyDir is not null)
        {
            Directory.CreateDirectory(dir, DirMode | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite);
            return (dir, false);
        }

        if (volume.HostPath is { } host)
        {
            var type = host.Type ?? "";
            var exists = Path.Exists(host.Path);
            switch (type)
            {
                case "DirectoryOrCreate":
                    Directory.CreateDirectory(host.Path, DirMode);
                    break;
                case "FileOrCreate":
                    if (!exists)
                    {
                        Directory.CreateDirectory(Path.GetDirectoryName(host.Path)!);
                        File.WriteAllBytes(host.Path, []);
                    }

                    break;
                case "Directory" when !Directory.Exists(host.Path):
                    throw new ConfigMissingException($"hostPath type check failed: {host.Path} is not a directory");
                case "File" when !File.Exists(host.Path):
                    throw new ConfigMissingException($"hostPath type check failed: {host.Path} is not a file");
                default:
                    if (!exists)
                    {
                        throw new ConfigMissingException($"hostPath {host.Path} does not exist; the local cluster never creates host paths unless the type is DirectoryOrCreate or FileOrCreate");
                    }

                    break;
            }

            return (host.Path, false);
        }

        if (volume.Secret is { } s)
        {
            var data = ContainerConfig.SecretData(store, ns, s.SecretName, s.Optional == true) ?? [];
            WriteFiles(dir, data, s.Items, s.DefaultMode ?? 420, $"secret \"{s.SecretName}\"", s.Optional == true);
            return (dir, true);
        }

        if (volume.ConfigMap is { } cm)
        {
            var data = ContainerConfig.ConfigMapData(store, ns, cm.Name, cm.Optional == true) ?? [];
            WriteFiles(dir, data, cm.Items, cm.DefaultMode ?? 420, $"configmap \"{cm.Name}\"", cm.Optional == true);
            return (dir, true);
        }

        if (volume.DownwardAPI is { } d)
        {
            Fresh(dir);
            WriteDownward(pod, dir, d.Items, d.DefaultMode ?? 420);
            return (dir, true);
        }

        if (volume.Projected is { } p)
        {
            Fresh(dir);
            var mode = p.DefaultMode ?? 420;
            foreach (var source in p.Sources ?? [])
            {
                if (source.Secret is { } ps)
                {
                    var data = ContainerConfig.SecretData(store, ns, ps.Name, ps.Optional == true) ?? [];
                    WriteFiles(dir, data, ps.Items, mode, $"secret \"{ps.Name}\"", ps.Optional == true, clear: false);
                }

                if (source.ConfigMap is { } pc)
                {
                    var data = ContainerConfig.ConfigMapData(store, ns, pc.Name, pc.Optional == true) ?? [];
                    WriteFiles(dir, data, pc.Items, mode, $"configmap \"{pc.Name}\"", pc.Optional == true, clear: false);
                }

                if (source.DownwardAPI is { } pd)
                {
                    WriteDownward(pod, dir, pd.Items, mode);
                }

                if (source.ServiceAccountToken is { } token)
                {
                    WriteFile(dir, token.Path, Encoding.UTF8.GetBytes(issueToken(token)), mode);
                }
            }

            return (dir, true);
        }

        throw new ConfigMissingException("the local cluster supports emptyDir, hostPath, secret, configMap, downwardAPI and projected volumes only");
    }

    private static void WriteFiles(string dir, Dictionary<string, byte[]> data, IList<V1KeyToPath>? items, int defaultMode, string what, bool optional, bool clear = true)
    {
        if (clear)
        {
            Fresh(dir);
        }

        if (items is { Count: > 0 })
        {
            foreach (var item in items)
            {
                if (!data.TryGetValue(item.Key, out var bytes))
                {
                    if (optional)
                    {
                        continue;
                    }

                    throw new ConfigMissingException($"configmap references non-existent config key: {item.Key}".Replace("configmap", what.Split(' ')[0], StringComparison.Ordinal));
                }

                WriteFile(dir, item.Path, bytes, item.Mode ?? defaultMode);
            }

            return;
        }

        foreach (var (key, bytes) in data)
        {
            WriteFile(dir, key, bytes, defaultMode);
        }
    }

    private static void WriteDownward(V1Pod pod, string dir, IList<V1DownwardAPIVolumeFile>? items, int mode)
    {
        foreach (var item in items ?? [])
        {
            var value = item.FieldRef is { } f ? ContainerConfig.FieldValue(pod, f.FieldPath) : "";
            WriteFile(dir, item.Path, Encoding.UTF8.GetBytes(value), item.Mode ?? mode);
        }
    }

    private static void Fresh(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir, DirMode);
    }

    private static void WriteFile(string dir, string relative, byte[] content, int mode)
    {
        if (relative.StartsWith('/') || relative.Split('/').Contains(".."))
        {
            throw new ConfigMissingException($"invalid path \"{relative}\" in volume");
        }

        var path = Path.Combine(dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!, DirMode);
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)(mode & 0xFFF));
    }
}
