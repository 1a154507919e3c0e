using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sirocco.LocalCluster.Images;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Runs one pod on the node: prepares its volumes, runs init containers in order and then all main
/// containers together under bubblewrap, restarts per policy, and reports status and events. One async
/// task per pod; every wait is on an event (process exit, a changed secret, a timer, deletion).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class PodWorker
{
    private readonly PodRuntime _runtime;
    private readonly ClusterContext _cluster;
    private readonly V1Pod _pod;
    private readonly JsonObject _podJson;
    private readonly List<ContainerRun> _init = [];
    private readonly List<ContainerRun> _main = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Status, string Time)> _transitions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Source, bool ReadOnly)> _volumes = new(StringComparer.Ordinal);
    private PodNetwork? _network;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _startTime;
    private bool _sandboxReady;
    private bool _deleting;
    private bool _deadlineExceeded;
    private bool _initFailed;

    public PodWorker(PodRuntime runtime, ClusterContext cluster, StoredObject stored)
    {
        _runtime = runtime;
        _cluster = cluster;
        _podJson = stored.ToJson();
        _pod = KubernetesJson.Deserialize<V1Pod>(Encoding.UTF8.GetString(stored.Json));
        Uid = _pod.Metadata.Uid;
        Namespace = _pod.Metadata.NamespaceProperty;
        Name = _pod.Metadata.Name;
        Directory = Path.Combine(cluster.StateDirectory, "pods", Uid);
        var hasInit = _pod.Spec.InitContainers is { Count: > 0 };
        foreach (var c in _pod.Spec.InitContainers ?? [])
        {
            _init.Add(new ContainerRun(c, init: true, "PodInitializing"));
        }

        foreach (var c in _pod.Spec.Containers)
        {
            _main.Add(new ContainerRun(c, init: false, hasInit ? "PodInitializing" : "ContainerCreating"));
        }

        if (hasInit)
        {
            _init[0].Reason = "ContainerCreating";
        }
    }

    public string Uid { get; }

    public string Namespace { get; }

    public string Name { get; }

    public string Directory { get; }

    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>True once every container is done and the pod's phase is final.</summary>
    public bool Finished { get; private set; }

    public IEnumerable<ContainerRun> Containers => _init.Concat(_main);

    public void Start() => Completion = _runtime.Scheduler.Run(RunAsync);

    /// <summary>Wakes a pod waiting on a missing secret or config map.</summary>
    public void Wake()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _wake;
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    /// <summary>Graceful deletion: SIGTERM, then SIGKILL after the grace period; then the object is removed.</summary>
    public async Task DeleteAsync(long graceSeconds)
    {
        lock (_gate)
        {
            if (_deleting)
            {
                return;
            }

            _deleting = true;
        }

        await KillAllAsync(TimeSpan.FromSeconds(graceSeconds), recordKilling: true).ConfigureAwait(true);
        await _stop.CancelAsync().ConfigureAwait(true);
        await Completion.ConfigureAwait(true);
        PublishStatus();
    }

    /// <summary>The object is already gone: kill everything now.</summary>
    public async Task KillAsync()
    {
        _deleting = true;
        await KillAllAsync(TimeSpan.Zero, recordKilling: false).ConfigureAwait(true);
        await _stop.CancelAsync().ConfigureAwait(true);
        await Completion.ConfigureAwait(true);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            _startTime = _cluster.Now;
            LocalClusterLog.PodStarted(_cluster.KubeletLog, Namespace, Name);
            System.IO.Directory.CreateDirectory(Directory);
            if (_pod.Spec.ActiveDeadlineSeconds is { } deadline)
            {
                _ = WatchDeadlineAsync(TimeSpan.FromSeconds(deadline), token);
            }


            // The first status says ContainerCreating; when the volumes are ready at once it also says the sandbox is.
            while (true)
            {
                var wake = WakeSignal();
                if (PrepareVolumes())
                {
                    break;
                }

                PublishStatus();
                await WaitForChangeAsync(wake, token).ConfigureAwait(true);
            }

            if (_pod.Spec.HostNetwork != true && PodNetwork.Supported(_cluster.Options))
            {
                try
                {
                    _network = await PodNetwork.CreateAsync(_cluster.Options, _cluster.Port, _runtime.Launcher, token).ConfigureAwait(true);
                }
                catch (IOException e)
                {
                    Record("Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: " + e.Message, null);
                    throw;
                }
            }

            _sandboxReady = true;
            PublishStatus();
            _ = WatchEphemeralStorageAsync(token); // once the volumes it measures are known
            foreach (var c in _init)
            {
                await RunWithRestartsAsync(c, token).ConfigureAwait(true);
                if (!c.Succeeded)
                {
                    _initFailed = true;
                    return;
                }

                PublishStatus();
            }

            await Task.WhenAll(_main.Select(c => RunWithRestartsAsync(c, token))).ConfigureAwait(true);
        }
        catch (OperationCanceledException)
        {
            // Deleted or past its deadline.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A fault of the kubelet itself: say so on the pod rather than leave it hanging.
            LocalClusterLog.PodFault(_cluster.KubeletLog, e, Namespace, Name);
            Record("Warning", "Failed", "the local cluster's kubelet failed to run this pod: " + e.Message, null);
            _initFailed = true;
            await KillAllAsync(TimeSpan.Zero, recordKilling: false).ConfigureAwait(true);
        }
        finally
        {
            Finished = true;
            PublishStatus();
            if (_cluster.KubeletLog.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            {
                LocalClusterLog.PodEnded(_cluster.KubeletLog, Namespace, Name, BuildStatus()["phase"]?.ToString() ?? "Unknown");
            }

            _runtime.Pids?.RemovePod(Uid);
            if (_network is not null)
            {
                await _network.DisposeAsync().ConfigureAwait(true);
            }

            _runtime.PodFinished(this);
        }
    }

    private async Task RunWithRestartsAsync(ContainerRun c, CancellationToken token)
    {
        var policy = _pod.Spec.RestartPolicy ?? "Always";
        while (!token.IsCancellationRequested)
        {
            var exit = await RunOnceAsync(c, token).ConfigureAwait(true);
            if (exit is null || _deleting || _deadlineExceeded || _evictedMessage is not null || token.IsCancellationRequested)
            {
                return;
            }

            var restart = c.Init ? policy != "Never" && exit != 0 : policy == "Always" || (policy == "OnFailure" && exit != 0);
            if (!restart)
            {
                return;
            }

            var backoff = TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, Math.Min(c.RestartCount, 5))));
            lock (_gate)
            {
                c.LastTerminated = c.TerminatedJson();
                c.State = "waiting";
                c.Reason = "CrashLoopBackOff";
                c.Message = $"back-off {(int)backoff.TotalSeconds}s restarting failed container={c.Name} pod={Name}_{Namespace}({Uid})";
            }

            PublishStatus();
            Record("Warning", "BackOff", $"Back-off restarting failed container {c.Name} in pod {Name}_{Namespace}({Uid})", c);
            await Task.Delay(backoff, _cluster.Options.TimeProvider, token).ConfigureAwait(true);
            c.RestartCount++;
        }
    }

    /// <summary>Runs the container once; returns its exit code, or null when it never started before the pod stopped.</summary>
    private async Task<int?> RunOnceAsync(ContainerRun c, CancellationToken token)
    {
        var image = await PullAsync(c, token).ConfigureAwait(true);
        try
        {
            return await RunPulledAsync(c, image, token).ConfigureAwait(true);
        }
        finally
        {
            image.Lease?.Dispose();
        }
    }

    /// <summary>Runs the container once in its image (or as a host command when <paramref name="image"/> says so).</summary>
    private async Task<int?> RunPulledAsync(ContainerRun c, ImageOutcome image, CancellationToken token)
    {
        var rootFs = image.RootFs;
        var config = image.Record?.Config;
        (long Uid, long Gid) user = (0, 0);
        List<KeyValuePair<string, string>> env;
        while (true)
        {
            token.ThrowIfCancellationRequested();

            // Take the wake-up before looking: a secret created after the look completes it.
            var wake = WakeSignal();
            try
            {
                string? home = null;
                if (rootFs is not null)
                {
                    (user.Uid, user.Gid, home) = ImageSandbox.User(_pod, c.Spec, config!, rootFs);
                }

                env = ContainerConfig.Environment(_cluster.Store, _pod, c.Spec, _cluster, config?.Env, rootFs is null ? null : home ?? "/", _network?.ApiHost ?? "127.0.0.1", _network?.ProxyEnvironment);
                break;
            }
            catch (ConfigMissingException e)
            {
                var first = c.Reason != "CreateContainerConfigError" || c.Message != e.Message;
                lock (_gate)
                {
                    c.State = "waiting";
                    c.Reason = "CreateContainerConfigError";
                    c.Message = e.Message;
                }

                if (first)
                {
                    PublishStatus();
                }

                Record("Warning", "Failed", "Error: " + e.Message, c);
                await WaitForChangeAsync(wake, token).ConfigureAwait(true);
            }
        }

        var values = env.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var command = config is not null ? ImageSandbox.Command(c.Spec, config)
            : c.Spec.Command is { Count: > 0 } cmd ? cmd.ToList() : Entrypoint(c.Spec.Image);
        if (command is null)
        {
            var message = config is not null
                ? $"failed to generate spec: no command specified (image \"{c.Spec.Image}\" has no Entrypoint or Cmd, and the container sets no command)"
                : $"the local cluster runs containers as local processes and cannot read the entrypoint of image \"{c.Spec.Image}\": set the container's command, or map the image under [local_cluster] image_entrypoints";
            lock (_gate)
            {
                c.State = "waiting";
                c.Reason = "CreateContainerError";
                c.Message = message;
            }

            PublishStatus();
            Record("Warning", "Failed", "Error: " + message, c);
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(true);
            return null;
        }

        // Only the container's own command and args are expanded ($(VAR)); the image's Entrypoint and Cmd run as written.
        var argv = config is not null ? command : command.Concat(c.Spec.Args ?? []).Select(a => ContainerConfig.Expand(a, values)).ToList();
        if (!image.Noted)
        {
            Record("Normal", "Pulled", $"Container image \"{c.Spec.Image}\" already present on machine (the local cluster runs host commands and never pulls images)", c);
        }

        c.Environment = env;
        c.Image = image.Record;
        c.ImageUser = rootFs is null ? null : user;
        c.RootFs = rootFs;
        c.ContainerId = "bwrap://" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var workingDir = !string.IsNullOrEmpty(c.Spec.WorkingDir) ? c.Spec.WorkingDir : config?.WorkingDir is { Length: > 0 } wd ? wd : "/";
        var path = env.LastOrDefault(e => e.Key == "PATH").Value ?? ContainerConfig.DefaultPath;
        var inVolume = argv[0].StartsWith('/') && (c.Spec.VolumeMounts ?? []).Any(m => argv[0].StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal));
        if (rootFs is not null ? !inVolume && RootPath.FindCommand(rootFs, argv[0], path, workingDir) is null : !Sandbox.Resolvable(argv[0], path, c.Spec))
        {
            return FailedToStart(c, $"failed to create containerd task: failed to create shim task: OCI runtime create failed: exec: \"{argv[0]}\": executable file not found in $PATH: unknown");
        }

        var launch = await ContainerLaunch.PrepareAsync(_runtime, _cluster.Options, _pod, c, Directory, _volumes, rootFs, user, workingDir, argv, env, token).ConfigureAwait(true);
        var log = launch.Log;
        if (_deleting || token.IsCancellationRequested)
        {
            launch.Abandon();
            return null;
        }

        Process process;
        try
        {
            process = await _runtime.Launcher.StartAsync(launch.Start, _runtime.Pids?.ForPod(Uid), _network?.Descriptor).ConfigureAwait(true);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            launch.Abandon();
            return FailedToStart(c, $"failed to start the sandbox ({launch.Start.FileName}): {e.Message}");
        }

        lock (_gate)
        {
            c.Process = process;
            c.Logs.Add(log);
            c.State = "running";
            c.Reason = null;
            c.Message = null;
            c.StartedAt = _cluster.Now;
            c.FinishedAt = null;
            if (_deleting || _deadlineExceeded || _evictedMessage is not null)
            {
                // Deleted, past its deadline or evicted while starting: the kill that ran before could not see this process.
                SandboxProcess.Signal(process, Native.SigKill, _cluster.Options.BubblewrapPath);
            }
        }

        if (c.Spec.Stdin == true)
        {
            // Kept open for `attach`; the container sees the end of its input only when the pod ends.
            c.Stdin = new ContainerStdin(process.StandardInput.BaseStream, c.Spec.StdinOnce == true);
        }
        else
        {
            process.StandardInput.Close();
        }

        var pump = log.PumpAsync(process.StandardOutput.BaseStream);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        Record("Normal", "Created", $"Created container: {c.Name}", c);
        Record("Normal", "Started", $"Started container {c.Name}", c);
        PublishStatus();

        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(true);
        await pump.ConfigureAwait(true);
        var sandboxErrors = await errors.ConfigureAwait(true);
        if (sandboxErrors.Length > 0)
        {
            log.Append(Encoding.UTF8.GetBytes(sandboxErrors.TrimEnd('\n')), partial: false);
        }

        log.End();

        // Process.Dispose leaves the redirected pipes to the finalizer: close them now.
        process.StandardOutput.Dispose();
        process.StandardError.Dispose();
        var exit = process.ExitCode;
        var oomKilled = exit != 0 && launch.OomKilled;
        launch.DropGroups();

        var terminationMessage = ReadTerminationMessage(launch.TerminationLog, c, exit, log);
        c.Stdin?.Close();
        lock (_gate)
        {
            c.Process = null;
            c.Stdin = null;
            c.State = "terminated";
            c.ExitCode = exit;
            c.Reason = exit == 0 ? "Completed" : oomKilled ? "OOMKilled" : "Error";
            c.Message = terminationMessage;
            c.FinishedAt = _cluster.Now;
        }

        process.Dispose();
        launch.DropLayer();
        PublishStatus();
        return exit;
    }

    /// <summary>The container could not start: terminated with 128 and StartError, as a runtime reports it.</summary>
    private int FailedToStart(ContainerRun c, string message)
    {
        lock (_gate)
        {
            c.State = "terminated";
            c.Reason = "StartError";
            c.Message = message;
            c.ExitCode = 128;
            c.StartedAt = DateTimeOffset.UnixEpoch;
            c.FinishedAt = _cluster.Now;
        }

        PublishStatus();
        Record("Warning", "Failed", "Error: " + message, c);
        return 128;
    }

    private List<string>? Entrypoint(string image)
    {
        // The image as written, then without its digest or tag, then without Docker Hub's implicit prefixes.
        var map = _cluster.Options.ImageEntrypoints;
        foreach (var candidate in ImageNames(image))
        {
            if (map.TryGetValue(candidate, out var e))
            {
                return [.. e];
            }
        }

        return null;
    }

    internal static IEnumerable<string> ImageNames(string image)
    {
        yield return image;
        var at = image.IndexOf('@', StringComparison.Ordinal);
        var bare = at >= 0 ? image[..at] : image;
        var colon = bare.LastIndexOf(':');
        if (colon > bare.LastIndexOf('/'))
        {
            yield return bare;
            bare = bare[..colon];
            yield return bare;
        }

        foreach (var prefix in new[] { "docker.io/library/", "docker.io/", "index.docker.io/library/" })
        {
            if (bare.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return bare[prefix.Length..];
                break;
            }
        }
    }

    private static string? ReadTerminationMessage(string path, ContainerRun c, int exit, ContainerLog log)
    {
        string text;
        try
        {
            var bytes = File.ReadAllBytes(path);
            text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 4096));
        }
        catch (IOException)
        {
            text = "";
        }

        if (text.Length == 0 && exit != 0 && c.Spec.TerminationMessagePolicy == "FallbackToLogsOnError")
        {
            long offset = 0;
            var lines = log.ReadFrom(ref offset).TakeLast(80).Select(l => Encoding.UTF8.GetString(l.Content));
            text = string.Join("\n", lines);
            if (text.Length > 2048)
            {
                text = text[^2048..];
            }
        }

        return text.Length == 0 ? null : text;
    }

    private bool PrepareVolumes()
    {
        try
        {
            foreach (var v in _pod.Spec.Volumes ?? [])
            {
                _volumes[v.Name] = Sandbox.PrepareVolume(_cluster.Store, _pod, v, Path.Combine(Directory, "volumes", v.Name), _cluster);
            }

            return true;
        }
        catch (ConfigMissingException e)
        {
            var volume = e.Data["volume"] as string ?? "";
            Record("Warning", "FailedMount", $"MountVolume.SetUp failed for volume \"{volume}\" : {e.Message}", null);
            return false;
        }
    }

    private Task WakeSignal()
    {
        lock (_gate)
        {
            return _wake.Task;
        }
    }

    private async Task WaitForChangeAsync(Task wake, CancellationToken token)
    {
        // The kubelet also retries on its own, as the real one does, in case an event was missed.
        var retry = Task.Delay(TimeSpan.FromSeconds(20), _cluster.Options.TimeProvider, token);
        await Task.WhenAny(wake, retry).ConfigureAwait(true);
        token.ThrowIfCancellationRequested();
    }

    private async Task WatchDeadlineAsync(TimeSpan deadline, CancellationToken token)
    {
        try
        {
            await Task.Delay(deadline, _cluster.Options.TimeProvider, token).ConfigureAwait(true);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (Finished)
        {
            return;
        }

        _deadlineExceeded = true;
        Record("Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline", null);
        await KillAllAsync(TimeSpan.FromSeconds(_pod.Spec.TerminationGracePeriodSeconds ?? 30), recordKilling: true).ConfigureAwait(true);
        await _stop.CancelAsync().ConfigureAwait(true);
    }

    private async Task KillAllAsync(TimeSpan grace, bool recordKilling)
    {
        var running = new List<(ContainerRun Run, Process Process)>();
        lock (_gate)
        {
            foreach (var c in Containers)
            {
                if (c.Process is { } p)
                {
                    running.Add((c, p));
                }
            }
        }

        foreach (var (c, p) in running)
        {
            if (recordKilling)
            {
                Record("Normal", "Killing", $"Stopping container {c.Name}", c);
            }

            SandboxProcess.Signal(p, grace > TimeSpan.Zero ? Native.SigTerm : Native.SigKill, _cluster.Options.BubblewrapPath);
        }

        if (running.Count == 0)
        {
            return;
        }

        var exited = Task.WhenAll(running.Select(r => SandboxProcess.WaitExitedAsync(r.Process)));
        if (grace > TimeSpan.Zero)
        {
            await Task.WhenAny(exited, Task.Delay(grace, _cluster.Options.TimeProvider)).ConfigureAwait(true);
            foreach (var (_, p) in running)
            {
                SandboxProcess.Signal(p, Native.SigKill, _cluster.Options.BubblewrapPath);
            }
        }

        await exited.ConfigureAwait(true);
    }

    /// <summary>The pid of a running container's command, for exec.</summary>
    public int? ContainerPid(string container)
    {
        lock (_gate)
        {
            // Only once the launched process has become bubblewrap: before, its child may be a step of the launch (the
            // overlay's mount program, for a container in an image), not the container.
            var c = Containers.FirstOrDefault(x => x.Name == container);
            return c?.Process is { } p && !SandboxProcess.HasExited(p) && SandboxProcess.IsBubblewrap(p.Id, _cluster.Options.BubblewrapPath) ? Native.FirstChild(p.Id) : null;
        }
    }

    private void Record(string type, string reason, string message, ContainerRun? c)
    {
        string? fieldPath = null;
        if (c is not null)
        {
            var list = c.Init ? "initContainers" : "containers";
            fieldPath = $"spec.{list}{{{c.Name}}}";
        }

        _runtime.Events.Record(_podJson, type, reason, message, fieldPath);
    }
}
