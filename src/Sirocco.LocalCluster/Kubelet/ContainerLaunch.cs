using System.Diagnostics;
using System.Runtime.Versioning;
using k8s.Models;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Images;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// One run of a container made ready to start: the process to launch (bubblewrap over the image's root with a fresh
/// writable layer, or over the host), placed in the container's memory and cpu groups and below the control plane's
/// priority; its log and termination-message file. What it made (the layer, the groups) is dropped when the run ends.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class ContainerLaunch(PodRuntime runtime, string groupId, ProcessStartInfo start, ContainerLog log, string terminationLog)
{
    private const string NicePath = "/usr/bin/nice";

    private string? _layer;

    /// <summary>The process to start.</summary>
    public ProcessStartInfo Start => start;

    /// <summary>The run's log file.</summary>
    public ContainerLog Log => log;

    /// <summary>The file the container's <c>terminationMessagePath</c> is bound to.</summary>
    public string TerminationLog => terminationLog;

    /// <summary>The memory group the container runs in (its limit), or null.</summary>
    public string? MemoryGroup { get; private set; }

    /// <summary>The cpu group the container runs in (its limit and request), or null.</summary>
    public string? CpuGroup { get; private set; }

    /// <summary>Whether the container's memory group saw it killed for memory.</summary>
    public bool OomKilled => MemoryGroup is not null && runtime.Memory is { } memory && memory.OomKilled(groupId);

    /// <summary>Prepares the run's folders, files, layer and groups, and the process that runs <paramref name="argv"/>.</summary>
    /// <param name="runtime">The node's runtime (launcher, cgroups).</param>
    /// <param name="options">The cluster's options.</param>
    /// <param name="pod">The pod.</param>
    /// <param name="c">The container.</param>
    /// <param name="podDirectory">The pod's folder on the node.</param>
    /// <param name="volumes">The pod's prepared volumes by name.</param>
    /// <param name="rootFs">The image's root, or null for a host command.</param>
    /// <param name="user">The user and group the container runs as in its image.</param>
    /// <param name="workingDir">The working folder.</param>
    /// <param name="argv">The command to run.</param>
    /// <param name="env">The container's environment.</param>
    /// <param name="token">Stops the preparation.</param>
    public static async Task<ContainerLaunch> PrepareAsync(
        PodRuntime runtime,
        LocalClusterOptions options,
        V1Pod pod,
        ContainerRun c,
        string podDirectory,
        Dictionary<string, (string Source, bool ReadOnly)> volumes,
        string? rootFs,
        (long Uid, long Gid) user,
        string workingDir,
        List<string> argv,
        List<KeyValuePair<string, string>> env,
        CancellationToken token)
    {
        var runDir = Path.Combine(podDirectory, "containers", c.Name);
        Directory.CreateDirectory(rootFs is null ? Path.Combine(runDir, "tmp") : runDir);
        var terminationLog = Path.Combine(runDir, $"termination-{c.RestartCount}");
        await File.WriteAllBytesAsync(terminationLog, [], token).ConfigureAwait(true);
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var launch = new ContainerLaunch(
            runtime,
            c.ContainerId!["bwrap://".Length..][..24],
            start,
            new ContainerLog(Path.Combine(podDirectory, "logs", c.Name, $"{c.RestartCount}.log"), options.TimeProvider),
            terminationLog);
        List<string> command;
        if (rootFs is not null)
        {
            // A fresh writable layer for every run, over the image's shared read-only root.
            var layer = Path.Combine(runDir, $"layer-{c.RestartCount}");
            var upper = Path.Combine(layer, "upper");
            var work = Path.Combine(layer, "work");
            var merged = Path.Combine(layer, "merged");
            ImageStore.DeleteTree(layer);
            Directory.CreateDirectory(upper);
            Directory.CreateDirectory(work);
            Directory.CreateDirectory(merged);
            launch._layer = layer;

            // A working folder the image lacks is made in the writable layer, where the image's links lead.
            var resolved = RootPath.Resolve(rootFs, workingDir, followLast: true);
            if (!Directory.Exists(resolved))
            {
                Directory.CreateDirectory(Path.Combine(upper, Path.GetRelativePath(rootFs, resolved)));
            }

            command = ImageSandbox.Launch(
                options.BubblewrapPath,
                rootFs,
                upper,
                work,
                merged,
                [.. ImageSandbox.Arguments(pod, c.Spec, merged, volumes, terminationLog, user, workingDir), "--", .. argv]);
        }
        else
        {
            command = [options.BubblewrapPath, .. Sandbox.Arguments(pod, c.Spec, volumes, Path.Combine(runDir, "tmp"), terminationLog), "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", .. argv];
        }

        command = launch.InGroups(c.Spec, command);
        start.FileName = command[0];
        foreach (var a in command.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Clear();
        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }

        // Containers run below the control plane's priority (as a real node reserves CPU for the kubelet and the API
        // server), so 500 starting pods on two cores do not stall API requests: in the cluster's CPU group where the
        // machine has one (the launcher's threads are in it), else at nice 10 (nice execs its command: same pid).
        if (!runtime.Launcher.InCpuGroup && File.Exists(NicePath))
        {
            start.ArgumentList.Insert(0, start.FileName);
            start.ArgumentList.Insert(0, "10");
            start.ArgumentList.Insert(0, "-n");
            start.FileName = NicePath;
        }

        return launch;
    }

    /// <summary>Removes the container's memory and cpu groups (once it has exited).</summary>
    public void DropGroups()
    {
        if (MemoryGroup is not null)
        {
            runtime.Memory?.Remove(groupId);
        }

        if (CpuGroup is not null)
        {
            runtime.Cpu?.RemoveContainer(groupId);
        }
    }

    /// <summary>Removes the run's writable layer once its container has ended (a restart gets a fresh one).</summary>
    public void DropLayer()
    {
        if (_layer is null)
        {
            return;
        }

        try
        {
            ImageStore.DeleteTree(_layer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed with the pod's folder at the latest.
        }
    }

    /// <summary>The run never started: its log, layer and groups go.</summary>
    public void Abandon()
    {
        Log.Dispose();
        DropLayer();
        DropGroups();
    }

    /// <summary>The command, made to join the container's memory and cpu groups first when it has limits.</summary>
    private List<string> InGroups(V1Container spec, List<string> command)
    {
        static decimal? Amount(IDictionary<string, ResourceQuantity>? amounts, string name) =>
            amounts is not null && amounts.TryGetValue(name, out var q) ? Quantity.Parse(q.ToString()) : null;
        var memoryLimit = Amount(spec.Resources?.Limits, "memory");
        MemoryGroup = memoryLimit is { } bytes && runtime.Memory is { } cgroups ? cgroups.Create(groupId, bytes) : null;
        var cpuLimit = Amount(spec.Resources?.Limits, "cpu");
        var cpuRequest = Amount(spec.Resources?.Requests, "cpu") ?? cpuLimit;
        CpuGroup = cpuLimit is { } cores and > 0 && runtime.Cpu is { } cpu ? cpu.CreateContainer(groupId, cores, cpuRequest ?? cores) : null; // 0 is no limit
        if (MemoryGroup is null && CpuGroup is null)
        {
            return command;
        }

        // Join the container's memory and cpu cgroups, then become the sandbox (same pid).
        return ["/bin/sh", "-c", "for g in \"$0\" \"$1\"; do [ -z \"$g\" ] || echo $$ > \"$g\" || exit 126; done; shift; exec \"$@\"", MemoryGroup ?? "", CpuGroup ?? "", .. command];
    }
}
