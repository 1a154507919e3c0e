using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// The lifecycle of one try's pod (docs/adr/0002-pod-lifecycle.md): find or create, record, wait for the start on the
/// shared watch, stream logs, wait for completion on the shared watch, read the XCom, decide, clean up.
/// </summary>
internal sealed class PodRun
{
    private readonly KubernetesPodOperator _op;
    private readonly TaskExecutionContext _ctx;
    private readonly KubernetesRuntime _runtime;
    private readonly Lock _logLock = new();
    private readonly HashSet<string> _seenEvents = new(StringComparer.Ordinal);
    private readonly List<Corev1Event> _events = [];
    private ClusterHandle _cluster = null!;
    private PodHooks _hooks = null!;
    private CancellationToken _hookToken; // the try's own: a kill stops a hook, never the pod's cleanup
    private PodInformer _informer = null!;
    private PodSubscription? _sub;
    private string _ns = "default";
    private string? _name;
    private volatile bool _liveEvents = true;
    private long _startSeenTicks;
    private long _createRequested;
    private bool _cleanedUp;
    private bool _owned;
    private DateTimeOffset? _unreachableSince;
    private bool _renamed;
    private System.Text.Json.Nodes.JsonObject? _mutatedBody;

    private PodRun(KubernetesPodOperator op, TaskExecutionContext ctx, KubernetesRuntime runtime)
    {
        _op = op;
        _ctx = ctx;
        _runtime = runtime;
    }

    private TimeProvider Time => _runtime.Time;

    /// <summary>The API server this try talks to, as its messages name it.</summary>
    private string Server => _cluster.Server;

    /// <summary>An API call retried within the budget, each retry written to the try's log.</summary>
    private Task<T> CallAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken token) =>
        _runtime.Retry.ExecuteAsync(what, call, token, Log, Server);

    /// <summary>An API call without result, retried within the budget, each retry written to the try's log.</summary>
    private Task CallAsync(string what, Func<CancellationToken, Task> call, CancellationToken token) =>
        _runtime.Retry.ExecuteAsync(what, call, token, Log, Server);

    public static async Task<object?> ExecuteAsync(KubernetesPodOperator op, TaskExecutionContext context, KubernetesRuntime runtime, CancellationToken cancellationToken)
    {
        // A span per pod (child of the try's span when traces are on): namespace, name and outcome.
        using var span = KubernetesMetrics.Activities.StartActivity("pod", System.Diagnostics.ActivityKind.Client);
        var run = new PodRun(op, context, runtime);
        try
        {
            return await run.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (span is not null)
        {
            span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, context.Masker.Redact(e.Message));
            throw;
        }
        finally
        {
            span?.SetTag("k8s.namespace.name", run._ns);
            span?.SetTag("k8s.pod.name", run._name);
        }
    }

    private void Log(string line)
    {
        var masked = _ctx.Masker.Redact(line);
        lock (_logLock)
        {
            _ctx.Log(masked);
        }
    }

    /// <summary>
    /// The pod after the process's pod_mutation_hook, if it has one: the hook sees the pod as it would be sent (raw
    /// fields included), and what it returns is sent as it is.
    /// </summary>
    private V1Pod Mutate(V1Pod request)
    {
        if (_ctx.Services?.GetService(typeof(IPodMutationHook)) is not IPodMutationHook hook)
        {
            return request;
        }

        var pod = System.Text.Json.Nodes.JsonNode.Parse(KubernetesJson.Serialize(request))!.AsObject();
        RawPodFields.Apply(pod, new Dictionary<string, System.Text.Json.Nodes.JsonNode?>(_op.RawPodFields, StringComparer.Ordinal));
        System.Text.Json.Nodes.JsonObject mutated;
        try
        {
            mutated = hook.Mutate(pod);
        }
        catch (SiroccoException e)
        {
            throw new SiroccoException($"pod_mutation_hook of {hook.Source} failed on pod {request.Metadata.NamespaceProperty}/{request.Metadata.Name}: {e.Message}", e);
        }

        _mutatedBody = mutated;
        Log($"Applied pod_mutation_hook of {hook.Source}");
        try
        {
            return KubernetesJson.Deserialize<V1Pod>(mutated.ToJsonString());
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new SiroccoException($"pod_mutation_hook of {hook.Source} returned a pod that is not a V1Pod: {e.Message}", e);
        }
    }

    private async Task<object?> RunAsync(CancellationToken kill)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(kill, _ctx.Shutdown);
        var token = linked.Token;
        _hookToken = token;
        var resolved = await ClientResolver.ResolveAsync(_op, _ctx.Connections, _ctx.Config, _runtime.Options.Environment, token, _ctx.Services).ConfigureAwait(false);
        _cluster = _runtime.GetCluster(resolved);
        _hooks = new PodHooks(_op, _ctx, _cluster.Client);
        await _hooks.ClientCreatedAsync(token).ConfigureAwait(false);
        var request = PodBuilder.Build(_op, new PodBuildContext
        {
            DagId = _ctx.TaskInstance.DagId,
            TaskId = _ctx.TaskInstance.TaskId,
            RunId = _ctx.TaskInstance.RunId,
            TryNumber = _ctx.TaskInstance.TryNumber,
            MapIndex = _ctx.TaskInstance.MapIndex,
            DefaultNamespace = resolved.DefaultNamespace,
            XComSidecarImage = resolved.SidecarImage ?? PodBuilder.DefaultSidecarImage,
            XComSidecarResources = resolved.SidecarResources,
            XComSidecarSecurityContext = resolved.SidecarSecurityContext,
            DagFolder = _ctx.DagFolder,
            Callback = _ctx.CallbackKind,
        });
        await _hooks.ManifestCreatedAsync(request, token).ConfigureAwait(false);
        request = Mutate(request);
        _ns = request.Metadata.NamespaceProperty;
        UseInformer(_ns);
        IDisposable? events = null;
        try
        {
            var existing = _op.ReattachOnRestart ? await FindExistingAsync(request, token).ConfigureAwait(false) : null;
            if (existing is not null)
            {
                _name = existing.Metadata.Name;
                _owned = true;
                Log($"Reattaching to pod {_ns}/{_name} of this try, started before a restart");
                events = _cluster.Events(_ns).Subscribe(_name, OnEvent);
            }
            else
            {
                _name = request.Metadata.Name;
                Subscribe(_name);
                events = _cluster.Events(_ns).Subscribe(_name, OnEvent);
                await CreateAsync(request, token).ConfigureAwait(false);
            }

            await _hooks.CreatedAsync(_sub?.Latest ?? existing ?? request, token).ConfigureAwait(false);

            return await FollowAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (kill.IsCancellationRequested)
        {
            if (_name is not null)
            {
                Log($"Task killed: deleting pod {_ns}/{_name}");
                await DeleteAsync(CancellationToken.None).ConfigureAwait(false);
            }

            throw;
        }
        catch (OperationCanceledException) when (_ctx.Shutdown.IsCancellationRequested)
        {
            if (_name is not null)
            {
                Log($"Shutting down: pod {_ns}/{_name} keeps running and will be reattached");
            }

            throw;
        }
        catch (Exception e) when (_owned && !_cleanedUp && e is not OperationCanceledException)
        {
            // An unexpected error on the way: the pod is not left behind unless on_finish_action keeps it.
            Log($"Error while following pod {_ns}/{_name}: {e.Message}");
            try
            {
                if (await CleanupAsync(succeeded: false, CancellationToken.None).ConfigureAwait(false) is { } hookError)
                {
                    Log(hookError.Message);
                }
            }
            catch (Exception cleanup) when (cleanup is not OperationCanceledException)
            {
                Log($"Could not clean up pod {_ns}/{_name}: {cleanup.Message}");
            }

            throw;
        }
        finally
        {
            events?.Dispose();
            _sub?.Dispose();
            _informer.Failed -= OnWatchFailed;
        }
    }

    /// <summary>Follows the shared pod watch of <paramref name="ns"/>; its failures go into this try's log.</summary>
    private void UseInformer(string ns)
    {
        if (_informer is not null)
        {
            _informer.Failed -= OnWatchFailed;
        }

        _informer = _cluster.Pods(ns);
        _informer.Failed += OnWatchFailed;
    }

    private void OnWatchFailed(string line, Exception error) => Log(line);

    private void Subscribe(string name)
    {
        _sub?.Dispose();
        _sub = _informer.Subscribe(name);
    }

    private async Task<V1Pod?> FindExistingAsync(V1Pod request, CancellationToken token)
    {
        if (_ctx.ResumedExternalId is { } external && external.Split('/', 2) is [var ns, var name])
        {
            if (ns != _ns)
            {
                _ns = ns;
                UseInformer(ns);
            }

            Subscribe(name);
            var pod = await ReadPodAsync(name, token).ConfigureAwait(false);
            if (pod is not null && (!IsAlreadyChecked(pod) || FinishedBeforeRecording(pod)))
            {
                if (IsAlreadyChecked(pod))
                {
                    Log($"Pod {external} of this try finished and was checked before the restart, but its result was not recorded: taking its result");
                }

                _sub!.Update(pod);
                return pod;
            }

            Log($"Pod {external} of the earlier attempt is gone or finished; starting a new pod");
            _ns = request.Metadata.NamespaceProperty;
            UseInformer(_ns);
            return null;
        }

        // Fallback for a crash between the create and its recording: the shared watch's cache, searched by the try's labels.
        await _informer.WaitSyncedAsync(token).ConfigureAwait(false);
        var labels = new Dictionary<string, string>(request.Metadata.Labels.Where(kv => IsIdentityLabel(kv.Key)), StringComparer.Ordinal);
        var found = _informer.Find(labels).Where(p => SameTry(p.Metadata.Labels, labels) && !IsAlreadyChecked(p) && p.Metadata.DeletionTimestamp is null).ToList();
        if (found.Count > 1)
        {
            throw new SiroccoException(
                $"More than one pod running with labels {string.Join(",", labels.Select(kv => kv.Key + "=" + kv.Value))}: {string.Join(", ", found.Select(p => p.Metadata.Name))}");
        }

        if (found.Count == 1)
        {
            Subscribe(found[0].Metadata.Name);
            await RecordAsync(found[0].Metadata.Name, token).ConfigureAwait(false);
            return found[0];
        }

        return null;
    }

    /// <summary>
    /// A pod of this very try (the recorded one) that ran to its end and was checked by a process that died before
    /// recording the try's result. Its result is this try's: running the work again would run it twice. With
    /// do_xcom_push the result file went with the sidecar, so such a pod cannot give the whole result.
    /// </summary>
    private bool FinishedBeforeRecording(V1Pod pod) =>
        !_op.DoXcomPush && pod.Metadata.DeletionTimestamp is null && IsDone(pod, _op.BaseContainerName);

    private static bool IsIdentityLabel(string key) =>
        key is "dag_id" or "task_id" or "run_id" or "try_number" or "map_index" or "kubernetes_pod_operator" or PodBuilder.CallbackLabel;

    private static bool IsAlreadyChecked(V1Pod pod) =>
        pod.Metadata.Labels is { } l && l.TryGetValue(PodBuilder.AlreadyCheckedLabel, out var v) && v == "True";

    private async Task CreateAsync(V1Pod request, CancellationToken token)
    {
        var slots = _cluster.CreationSlots;
        if (slots is not null && !slots.Wait(0, CancellationToken.None))
        {
            // Waits without a thread; the try's kill and shutdown end the wait. Said when it was long.
            var queued = Time.GetTimestamp();
            await slots.WaitAsync(token).ConfigureAwait(false);
            var waited = Time.GetElapsedTime(queued);
            if (waited >= TimeSpan.FromSeconds(1))
            {
                Log($"Waited {waited.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s for a turn to create the pod: "
                    + $"{_runtime.Options.CreationsInFlight} pod creations were in flight to {_cluster.Server} ([kubernetes] max_pod_creations_in_flight)");
            }
        }

        V1Pod created;
        try
        {
            created = await CreateOnceAllowedAsync(request, token).ConfigureAwait(false);
        }
        finally
        {
            slots?.Release(); // before the try's own bookkeeping: a slow metadata database must not hold creations back
        }

        _owned = true;
        _sub!.Update(created);
        await RecordAsync(_name!, token).ConfigureAwait(false);
    }

    private async Task<V1Pod> CreateOnceAllowedAsync(V1Pod request, CancellationToken token)
    {
        Log($"Creating pod {_ns}/{_name}");
        _createRequested = Time.GetTimestamp();
        V1Pod created;
        try
        {
            while (true)
            {
                var adopted = false;
                var made = await CallAsync(
                    $"create pod {_ns}/{_name}",
                    async t =>
                    {
                        try
                        {
                            using var raw = _mutatedBody is { } body ? RawPodFields.UseBody(body) : RawPodFields.Use(_op.RawPodFields);
                            return await _cluster.Client.CoreV1.CreateNamespacedPodAsync(request, _ns, cancellationToken: t).ConfigureAwait(false);
                        }
                        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
                        {
                            // The name comes from the try's identity: the pod is this try's when an earlier attempt of
                            // this request, or a process that died before recording it, made it.
                            var existing = await _cluster.Client.CoreV1.ReadNamespacedPodAsync(_name, _ns, cancellationToken: t).ConfigureAwait(false);
                            adopted = SameTry(existing.Metadata.Labels, request.Metadata.Labels) && !IsAlreadyChecked(existing) && existing.Metadata.DeletionTimestamp is null;
                            return adopted ? existing : null;
                        }
                    },
                    token).ConfigureAwait(false);
                if (made is not null)
                {
                    if (adopted)
                    {
                        Log($"Pod {_ns}/{_name} of this try already exists (made by an earlier attempt of this request, or before a restart): following it");
                    }

                    created = made;
                    break;
                }

                if (!_op.RandomNameSuffix || _renamed)
                {
                    throw new SiroccoException($"pod {_ns}/{_name} already exists and belongs to another try (or was already checked)");
                }

                // Taken by a finished or another installation's pod: this try takes a random name instead.
                _renamed = true;
                var taken = _name!;
                _name = request.Metadata.Name = LabelSanitizer.PodName(taken[..taken.LastIndexOf('-')], LabelSanitizer.RandomSuffix());
                Subscribe(_name);
                Log($"Pod name {taken} is taken by a pod that is not this try's running one; creating pod {_ns}/{_name}");
            }
        }
        catch (HttpOperationException e)
        {
            throw new SiroccoException($"could not create pod {_ns}/{_name}: {ApiMessage(e)}", e);
        }

        return created;
    }

    /// <summary>Whether a pod's identity labels are exactly those of the request (a callback's pod is not its task's).</summary>
    private static bool SameTry(IDictionary<string, string>? a, IDictionary<string, string> b) =>
        a is not null
        && b.Where(kv => IsIdentityLabel(kv.Key)).All(kv => a.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && a.Keys.Where(IsIdentityLabel).All(b.ContainsKey);

    private async Task RecordAsync(string name, CancellationToken token)
    {
        await _ctx.Recorder.RecordExternalIdAsync($"{_ns}/{name}", token).ConfigureAwait(false);
        await _ctx.Recorder.PushXComAsync("pod_name", JsonSerializer.SerializeToElement(name), token).ConfigureAwait(false);
        await _ctx.Recorder.PushXComAsync("pod_namespace", JsonSerializer.SerializeToElement(_ns), token).ConfigureAwait(false);
    }

    private async Task<object?> FollowAsync(CancellationToken token)
    {
        V1Pod started;
        try
        {
            started = await WaitStartAsync(token).ConfigureAwait(false);
        }
        catch (PodStartException)
        {
            LogFailureDetails(_sub!.Latest);
            await CleanupAfterFailureAsync(token).ConfigureAwait(false);
            throw;
        }

        Interlocked.Exchange(ref _startSeenTicks, Time.GetUtcNow().UtcTicks);
        if (_createRequested != 0)
        {
            KubernetesMetrics.PodStarted(Time.GetElapsedTime(_createRequested));
        }

        _liveEvents = false;
        Log($"Pod {_ns}/{_name} is {started.Status?.Phase}");
        await _hooks.StartingAsync(started, token).ConfigureAwait(false);
        var logs = _op.GetLogs
            ? new PodLogs(_cluster.Client, _ns, _name!, _sub!, _runtime, LogContainers(started), Log, _op.ContainerNameLogPrefixEnabled) { Formatter = _op.LogFormatter, Progress = _hooks.Progress() }
            : null;
        var logTask = logs?.StreamAsync(token) ?? Task.CompletedTask;
        V1Pod final;
        try
        {
            final = await WaitCompletionAsync(token).ConfigureAwait(false);
        }
        catch (SiroccoException)
        {
            await CleanupAfterFailureAsync(token).ConfigureAwait(false);
            throw;
        }

        await logTask.ConfigureAwait(false);
        await _hooks.CompletionAsync(final, token).ConfigureAwait(false);
        var baseState = ContainerState(final, _op.BaseContainerName)?.Terminated;
        var exitCode = baseState?.ExitCode ?? (final.Status?.Phase == "Succeeded" ? 0 : -1);
        var succeeded = exitCode == 0;

        object? xcom = null;
        Exception? xcomError = null;
        if (_op.DoXcomPush)
        {
            try
            {
                xcom = await ReadXComAsync(token).ConfigureAwait(false);
                if (!succeeded && xcom is JsonElement value)
                {
                    await _ctx.Recorder.PushXComAsync(XComEntry.ReturnValueKey, value, token).ConfigureAwait(false);
                }
            }
            catch (SiroccoException e)
            {
                Log($"XCom not read: {e.Message}");
                xcomError = e;
            }
        }

        Exception? outcome = null;
        if (!succeeded && _op.SkipOnExitCode.Contains(exitCode))
        {
            outcome = new TaskSkippedException($"Pod {_name} returned exit code {exitCode}. Skipping.");
        }
        else if (!succeeded)
        {
            outcome = new SiroccoException(_ctx.Masker.Redact(FailureMessage(final, baseState, exitCode, logs)));
            LogFailureDetails(final);
        }
        else if (xcomError is not null)
        {
            outcome = xcomError;
        }

        var hookFailed = await CleanupAsync(succeeded || outcome is TaskSkippedException, token).ConfigureAwait(false);
        if (outcome is not null && hookFailed is not null)
        {
            Log(hookFailed.Message); // the pod's own failure stays the try's
        }

        if ((outcome ?? hookFailed) is { } failure)
        {
            throw failure;
        }

        return xcom;
    }

    private List<(string Name, bool Init)> LogContainers(V1Pod pod)
    {
        static bool All(IList<string> names) => names.Contains("*");
        var result = new List<(string, bool)>();
        foreach (var c in pod.Spec.InitContainers ?? [])
        {
            if (All(_op.InitContainerLogs) || _op.InitContainerLogs.Contains(c.Name))
            {
                result.Add((c.Name, true));
            }
        }

        foreach (var c in pod.Spec.Containers)
        {
            var wanted = _op.ContainerLogs.Count == 0
                ? c.Name == _op.BaseContainerName
                : (All(_op.ContainerLogs) && c.Name != PodBuilder.SidecarName) || _op.ContainerLogs.Contains(c.Name);
            if (wanted)
            {
                result.Add((c.Name, false));
            }
        }

        return result;
    }

    private async Task<V1Pod> WaitStartAsync(CancellationToken token)
    {
        var sub = _sub!;
        var start = Time.GetUtcNow();
        var startup = TimeSpan.FromSeconds(_op.StartupTimeoutSeconds);
        var schedule = TimeSpan.FromSeconds(_op.ScheduleTimeoutSeconds ?? _op.StartupTimeoutSeconds);
        var check = TimeSpan.FromSeconds(Math.Max(1, _op.StartupCheckIntervalSeconds));
        while (true)
        {
            token.ThrowIfCancellationRequested();
            var next = sub.Changed.Next;
            var pod = sub.Latest;
            if (sub.Deleted)
            {
                throw new PodStartException($"Pod {_ns}/{_name} was deleted before it started");
            }

            var elapsed = Time.GetUtcNow() - start;
            string? warning;
            lock (_events)
            {
                warning = _events.LastOrDefault(e => e.Type == "Warning") is { } w ? $"{w.Reason}: {w.Message}" : null;
            }

            var decision = PodStart.Evaluate(pod, _op.BaseContainerName, elapsed, _op.StartupTimeoutSeconds, _op.ScheduleTimeoutSeconds, warning);
            if (decision.Started)
            {
                return pod!;
            }

            if (decision.Failure is { } failure)
            {
                throw new PodStartException(pod is null ? $"{failure} Pod {_ns}/{_name} was never seen." : failure);
            }

            var deadline = (pod is not null && PodStart.IsScheduled(pod) ? startup : TimeSpan.FromTicks(Math.Min(startup.Ticks, schedule.Ticks))) - elapsed;
            var wait = deadline < check ? deadline + TimeSpan.FromMilliseconds(10) : check;
            if (!await WaitAsync(next, wait, token).ConfigureAwait(false))
            {
                await SafetyNetAsync(check, token).ConfigureAwait(false);
            }
        }
    }

    private async Task<V1Pod> WaitCompletionAsync(CancellationToken token)
    {
        var sub = _sub!;
        var check = TimeSpan.FromSeconds(Math.Max(1, _op.StartupCheckIntervalSeconds));
        while (true)
        {
            token.ThrowIfCancellationRequested();
            var next = sub.Changed.Next;
            var pod = sub.Latest;
            if (sub.Deleted)
            {
                throw new SiroccoException($"Pod {_ns}/{_name} was deleted while it ran");
            }

            if (pod is not null && IsDone(pod, _op.BaseContainerName))
            {
                return pod;
            }

            if (!await WaitAsync(next, check, token).ConfigureAwait(false))
            {
                await SafetyNetAsync(check, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for a change or the timeout; false on timeout.</summary>
    private async Task<bool> WaitAsync(Task next, TimeSpan timeout, CancellationToken token)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return next.IsCompleted;
        }

        try
        {
            await next.WaitAsync(timeout, Time, token).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Reads the pod directly only when the shared watch cannot be trusted (it failed, or is silent and overdue).</summary>
    private async Task SafetyNetAsync(TimeSpan interval, CancellationToken token)
    {
        if (_informer.IsHealthy(interval * 2))
        {
            _unreachableSince = null;
            return;
        }

        try
        {
            // Bounded: a server that accepts and never answers must not hold the try past its budget.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
            bounded.CancelAfter(TimeSpan.FromTicks(Math.Min(_runtime.Options.RetryBudget.Ticks, TimeSpan.FromSeconds(30).Ticks)));
            var pod = await ReadPodAsync(_name!, bounded.Token, retry: false).ConfigureAwait(false);
            if (pod is null)
            {
                _sub!.Update(null, deleted: true);
            }
            else
            {
                _sub!.Update(pod);
            }
        }
        catch (Exception e) when (ApiRetry.IsTransient(e) && !token.IsCancellationRequested)
        {
            // The cluster is unreachable: keep waiting (the watch resumes when it is back), within the budget.
            var now = Time.GetUtcNow();
            _unreachableSince ??= now;
            var budget = _runtime.Options.RetryBudget;
            if (now - _unreachableSince.Value >= budget)
            {
                throw new SiroccoException(
                    $"Kubernetes API {Server} unreachable: pod {_ns}/{_name} could not be watched or read for {budget.TotalSeconds:0} s "
                    + $"([kubernetes] api_retry_budget_seconds); last error: {ApiRetry.Describe(e)}",
                    e);
            }

            Log($"Kubernetes API {Server}: read pod {_ns}/{_name} failed while its watch is down: {ApiRetry.Describe(e)}; "
                + $"waiting ({(now - _unreachableSince.Value).TotalSeconds:0} s of {budget.TotalSeconds:0} s)");
            return;
        }
        catch (Exception e) when (ApiRetry.IsPermanentAccessFailure(e) && !token.IsCancellationRequested)
        {
            throw new SiroccoException($"Kubernetes API {Server}: read pod {_ns}/{_name} failed: {ApiRetry.Describe(e)}", e);
        }

        _unreachableSince = null;
    }

    private async Task<V1Pod?> ReadPodAsync(string name, CancellationToken token, bool retry = true)
    {
        async Task<V1Pod?> ReadAsync(CancellationToken t)
        {
            try
            {
                return await _cluster.Client.CoreV1.ReadNamespacedPodAsync(name, _ns, cancellationToken: t).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }

        return retry
            ? await CallAsync($"read pod {_ns}/{name}", ReadAsync, token).ConfigureAwait(false)
            : await ReadAsync(token).ConfigureAwait(false);
    }

    internal static bool IsDone(V1Pod pod, string baseContainer) =>
        pod.Status?.Phase is "Succeeded" or "Failed" || ContainerState(pod, baseContainer)?.Terminated is not null;

    internal static V1ContainerState? ContainerState(V1Pod pod, string container) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == container)?.State;

    private void OnEvent(Corev1Event e)
    {
        var key = $"{e.Metadata?.Uid}/{e.Count}";
        lock (_events)
        {
            if (!_seenEvents.Add(key))
            {
                return;
            }

            _events.Add(e);
        }

        if (_liveEvents || HappenedBeforeStart(e))
        {
            Log($"Pod event: {e.Type} {e.Reason}: {e.Message}");
        }
    }

    /// <summary>
    /// An event of the pending phase that arrived after the start was seen: its watch is separate from the pod's, and a
    /// real scheduler records its event after the binding, so for a quick pod it often comes in late.
    /// </summary>
    private bool HappenedBeforeStart(Corev1Event e)
    {
        var seen = Interlocked.Read(ref _startSeenTicks);
        var when = e.EventTime ?? e.LastTimestamp ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp;
        return seen != 0 && when is { } w && (w.Kind == DateTimeKind.Local ? w.ToUniversalTime() : w).Ticks <= seen;
    }

    private string FailureMessage(V1Pod pod, V1ContainerStateTerminated? state, int exitCode, PodLogs? logs)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Pod {_name} returned a failure: container '{_op.BaseContainerName}' ");
        sb.Append(state is null
            ? $"did not finish (pod phase {pod.Status?.Phase}: {pod.Status?.Reason} {pod.Status?.Message})".TrimEnd()
            : $"exited with code {exitCode}{(state.Reason is { } r ? " (" + r + ")" : string.Empty)}");
        if (state?.Message is { Length: > 0 } message)
        {
            sb.Append(CultureInfo.InvariantCulture, $". Termination message: {message.Trim()}");
        }

        if (state is not null && pod.Status?.Reason is { Length: > 0 } podReason)
        {
            // The node ended the pod (Evicted for its storage, DeadlineExceeded): why matters more than the exit code.
            sb.Append(". The pod was ended by its node: ").Append(podReason);
            if (pod.Status.Message?.Trim() is { Length: > 0 } why)
            {
                sb.Append(": ").Append(why);
            }
        }

        if (logs?.LastLines(_op.BaseContainerName) is { Count: > 0 } lines)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nLast {lines.Count} log lines:\n").AppendJoin('\n', lines);
        }

        return sb.ToString();
    }

    private void LogFailureDetails(V1Pod? pod)
    {
        if (_op.LogEventsOnFailure)
        {
            lock (_events)
            {
                foreach (var e in _events)
                {
                    Log($"Pod event: {e.Type} {e.Reason}: {e.Message}");
                }
            }
        }

        if (_op.LogPodSpecOnFailure && pod is not null)
        {
            Log("Pod spec: " + KubernetesJson.Serialize(pod.Spec));
        }
    }

    private async Task<object?> ReadXComAsync(CancellationToken token)
    {
        const string Empty = "__airflow_xcom_result_empty__";
        // The directory is mounted in the sidecar; its absence means the exec landed before the sidecar was set up.
        var script = $"[ -d {PodBuilder.XComPath} ] || {{ echo '{PodBuilder.XComPath} is not mounted yet' >&2; exit 3; }}; "
            + $"if [ -s {PodBuilder.XComPath}/return.json ]; then cat {PodBuilder.XComPath}/return.json; else echo {Empty}; fi";
        await WaitSidecarRunningAsync(token).ConfigureAwait(false);

        // A sidecar reported running may not accept exec for a moment yet (seen on the local cluster): a few quick
        // attempts before the error stands; the read itself has no side effect.
        string output;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                output = await ExecAsync(["sh", "-c", script], token).ConfigureAwait(false);
                break;
            }
            catch (SiroccoException e) when (attempt < 5)
            {
                Log($"Reading the XCom failed (attempt {attempt}): {e.Message}");
                await Task.Delay(TimeSpan.FromMilliseconds(200 << attempt), Time, token).ConfigureAwait(false);
            }
        }

        try
        {
            await ExecAsync(["sh", "-c", "kill -s INT 1"], token).ConfigureAwait(false);
        }
        catch (SiroccoException e)
        {
            Log($"Could not stop the XCom sidecar: {e.Message}");
        }

        if (output.Trim() == Empty)
        {
            Log($"{PodBuilder.XComPath}/return.json is empty or missing: the XCom is null");
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(output);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            var head = output.Length > 100 ? output[..100] + "…" : output;
            throw new SiroccoException($"Pod {_name}: {PodBuilder.XComPath}/return.json is not valid JSON ({e.Message}); it begins with: {head}", e);
        }
    }

    /// <summary>As the provider does: the sidecar may start after a quick base container has already ended.</summary>
    private async Task WaitSidecarRunningAsync(CancellationToken token)
    {
        var deadline = Time.GetUtcNow() + TimeSpan.FromSeconds(_op.StartupTimeoutSeconds);
        while (true)
        {
            var next = _sub!.Changed.Next;
            var state = _sub.Latest is { } pod ? ContainerState(pod, PodBuilder.SidecarName) : null;
            if (state?.Running is not null)
            {
                return;
            }

            if (state?.Terminated is not null || _sub.Deleted)
            {
                throw new SiroccoException($"the XCom sidecar of pod {_ns}/{_name} is not running, so its XCom cannot be read");
            }

            var left = deadline - Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw new SiroccoException($"the XCom sidecar of pod {_ns}/{_name} did not start within {_op.StartupTimeoutSeconds}s");
            }

            await WaitAsync(next, left, token).ConfigureAwait(false);
        }
    }

    private async Task<string> ExecAsync(string[] command, CancellationToken token)
    {
        try
        {
            return await CallAsync(
                $"exec in pod {_ns}/{_name}",
                async t =>
                {
                    string stdout = string.Empty, stderr = string.Empty;
                    var code = await _cluster.Client.NamespacedPodExecAsync(
                        _name,
                        _ns,
                        PodBuilder.SidecarName,
                        command,
                        false,
                        async (_, output, error) =>
                        {
                            using var outReader = new StreamReader(output);
                            using var errReader = new StreamReader(error);
                            var o = outReader.ReadToEndAsync(t);
                            var e = errReader.ReadToEndAsync(t);
                            stdout = await o.ConfigureAwait(false);
                            stderr = await e.ConfigureAwait(false);
                        },
                        t).ConfigureAwait(false);
                    return code == 0
                        ? stdout
                        : throw new SiroccoException($"command in the XCom sidecar of pod {_name} exited with {code}: {stderr.Trim()}");
                },
                token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or KubernetesException)
        {
            throw new SiroccoException($"could not read the XCom of pod {_ns}/{_name}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Deletes or keeps the pod as <c>on_finish_action</c> says, with the teardown hooks before and the cleanup hooks
    /// after. A failing hook neither stops the cleanup nor throws: its error is returned (the first one).
    /// </summary>
    private async Task<Exception?> CleanupAsync(bool succeeded, CancellationToken token)
    {
        _cleanedUp = true;
        var pod = _sub?.Latest ?? new V1Pod { Metadata = new V1ObjectMeta { Name = _name, NamespaceProperty = _ns } };
        var hookError = await HookAsync(() => _hooks.TeardownAsync(pod, _hookToken)).ConfigureAwait(false);
        await DeleteOrKeepAsync(succeeded, token).ConfigureAwait(false);
        var cleanupError = await HookAsync(() => _hooks.CleanupAsync(_sub?.Latest ?? pod, _hookToken)).ConfigureAwait(false);
        return hookError ?? cleanupError;
    }

    /// <summary>A hook's error, or null; a hook stopped by the try's kill is no error of its own.</summary>
    private static async Task<Exception?> HookAsync(Func<Task> hook)
    {
        try
        {
            await hook().ConfigureAwait(false);
            return null;
        }
        catch (SiroccoException e)
        {
            return e;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task DeleteOrKeepAsync(bool succeeded, CancellationToken token)
    {
        var active = _sub?.Latest is { } pod && !IsDone(pod, _op.BaseContainerName);
        var delete = _op.OnFinishAction switch
        {
            OnFinishAction.KeepPod => false,
            OnFinishAction.DeleteSucceededPod => succeeded,
            OnFinishAction.DeleteActivePod => active,
            _ => true,
        };
        if (delete)
        {
            Log($"Deleting pod {_ns}/{_name}");
            await DeleteAsync(token).ConfigureAwait(false);
            return;
        }

        Log($"Keeping pod {_ns}/{_name} (on_finish_action {_op.OnFinishAction.ToName()}); marked {PodBuilder.AlreadyCheckedLabel}");
        var patch = new V1Patch(
            "{\"metadata\":{\"labels\":{\"" + PodBuilder.AlreadyCheckedLabel + "\":\"True\"}}}",
            V1Patch.PatchType.MergePatch);
        try
        {
            await CallAsync(
                $"label pod {_ns}/{_name}",
                t => _cluster.Client.CoreV1.PatchNamespacedPodAsync(patch, _name, _ns, cancellationToken: t),
                token).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }

    /// <summary>Cleans up after the try failed; a cleanup that fails too is logged, and the first failure stays the try's.</summary>
    private async Task CleanupAfterFailureAsync(CancellationToken token)
    {
        try
        {
            if (await CleanupAsync(succeeded: false, token).ConfigureAwait(false) is { } hookError)
            {
                Log(hookError.Message);
            }
        }
        catch (Exception e) when (e is SiroccoException or HttpOperationException && !token.IsCancellationRequested)
        {
            Log($"Could not clean up pod {_ns}/{_name}: {e.Message}");
        }
    }

    private async Task DeleteAsync(CancellationToken token)
    {
        // Bounded by the retry budget (the call's own timeout), also when the caller's token never fires.
        try
        {
            await CallAsync(
                $"delete pod {_ns}/{_name}",
                t => _cluster.Client.CoreV1.DeleteNamespacedPodAsync(_name, _ns, gracePeriodSeconds: _op.TerminationGracePeriod, cancellationToken: t),
                token).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }

    private static string ApiMessage(HttpOperationException e)
    {
        try
        {
            if (e.Response?.Content is { Length: > 0 } content && KubernetesJson.Deserialize<V1Status>(content) is { Message: { } m })
            {
                return $"{(int)e.Response.StatusCode} {m}";
            }
        }
        catch (JsonException)
        {
            // Not a Status body.
        }

        return e.Message;
    }

    private sealed class PodStartException(string message) : SiroccoException(message);
}
