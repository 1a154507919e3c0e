using System.Globalization;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// The lifecycle of one try's pod (docs/adr/0002-pod-lifecycle.md): find or create (<see cref="PodCreation"/>), record,
/// wait for the start on the shared watch (<see cref="PodWaits"/>), stream logs (<see cref="PodLogs"/>), wait for
/// completion, read the XCom (<see cref="PodXCom"/>), decide, clean up (<see cref="PodCleanup"/>).
/// </summary>
internal sealed class PodRun
{
    private readonly PodTarget _pod;
    private readonly PodCreation _creation;
    private readonly PodEvents _events;
    private readonly PodWaits _waits;
    private PodHooks _hooks = null!;
    private PodCleanup _cleanup = null!;

    private PodRun(KubernetesPodOperator op, TaskExecutionContext ctx, KubernetesRuntime runtime)
    {
        _pod = new PodTarget(op, ctx, runtime);
        _creation = new PodCreation(_pod);
        _events = new PodEvents(_pod);
        _waits = new PodWaits(_pod, _events);
    }

    private KubernetesPodOperator Op => _pod.Op;

    private TaskExecutionContext Ctx => _pod.Context;

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
            span?.SetTag("k8s.namespace.name", run._pod.Ns);
            span?.SetTag("k8s.pod.name", run._pod.Name);
        }
    }

    private void Log(string line) => _pod.Log(line);

    private async Task<object?> RunAsync(CancellationToken kill)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(kill, Ctx.Shutdown);
        var token = linked.Token;
        var resolved = await ClientResolver.ResolveAsync(Op, Ctx.Connections, Ctx.Config, _pod.Runtime.Options.Environment, token, Ctx.Services).ConfigureAwait(false);
        _pod.Cluster = _pod.Runtime.GetCluster(resolved);
        _hooks = new PodHooks(Op, Ctx, _pod.Client);
        _cleanup = new PodCleanup(_pod, _hooks, token); // the try's own token: a kill stops a hook, never the pod's cleanup
        await _hooks.ClientCreatedAsync(token).ConfigureAwait(false);
        var request = PodBuilder.Build(Op, new PodBuildContext
        {
            DagId = Ctx.TaskInstance.DagId,
            TaskId = Ctx.TaskInstance.TaskId,
            RunId = Ctx.TaskInstance.RunId,
            TryNumber = Ctx.TaskInstance.TryNumber,
            MapIndex = Ctx.TaskInstance.MapIndex,
            DefaultNamespace = resolved.DefaultNamespace,
            XComSidecarImage = resolved.SidecarImage ?? PodBuilder.DefaultSidecarImage,
            XComSidecarResources = resolved.SidecarResources,
            XComSidecarSecurityContext = resolved.SidecarSecurityContext,
            DagFolder = Ctx.DagFolder,
            Callback = Ctx.CallbackKind,
        });
        await _hooks.ManifestCreatedAsync(request, token).ConfigureAwait(false);
        request = _creation.Mutate(request);
        _pod.Ns = request.Metadata.NamespaceProperty;
        _pod.UseInformer(_pod.Ns);
        IDisposable? events = null;
        try
        {
            var existing = Op.ReattachOnRestart ? await _creation.FindExistingAsync(request, token).ConfigureAwait(false) : null;
            if (existing is not null)
            {
                _pod.Name = existing.Metadata.Name;
                _creation.Owned = true;
                Log($"Reattaching to pod {_pod.Ns}/{_pod.Name} of this try, started before a restart");
                events = _events.Follow();
            }
            else
            {
                _pod.Name = request.Metadata.Name;
                _pod.Subscribe(_pod.Name);
                events = _events.Follow();
                await _creation.CreateAsync(request, token).ConfigureAwait(false);
            }

            await _hooks.CreatedAsync(_pod.Sub?.Latest ?? existing ?? request, token).ConfigureAwait(false);

            return await FollowAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (kill.IsCancellationRequested)
        {
            if (_pod.Name is not null)
            {
                Log($"Task killed: deleting pod {_pod.Ns}/{_pod.Name}");
                await _cleanup.DeleteAsync(CancellationToken.None).ConfigureAwait(false);
            }

            throw;
        }
        catch (OperationCanceledException) when (Ctx.Shutdown.IsCancellationRequested)
        {
            if (_pod.Name is not null)
            {
                Log($"Shutting down: pod {_pod.Ns}/{_pod.Name} keeps running and will be reattached");
            }

            throw;
        }
        catch (Exception e) when (_creation.Owned && !_cleanup.Started && e is not OperationCanceledException)
        {
            // An unexpected error on the way: the pod is not left behind unless on_finish_action keeps it.
            Log($"Error while following pod {_pod.Ns}/{_pod.Name}: {e.Message}");
            try
            {
                if (await _cleanup.RunAsync(succeeded: false, CancellationToken.None).ConfigureAwait(false) is { } hookError)
                {
                    Log(hookError.Message);
                }
            }
            catch (Exception cleanup) when (cleanup is not OperationCanceledException)
            {
                Log($"Could not clean up pod {_pod.Ns}/{_pod.Name}: {cleanup.Message}");
            }

            throw;
        }
        finally
        {
            events?.Dispose();
            _pod.Release();
        }
    }

    private async Task<object?> FollowAsync(CancellationToken token)
    {
        V1Pod started;
        try
        {
            started = await _waits.StartAsync(token).ConfigureAwait(false);
        }
        catch (PodStartException)
        {
            LogFailureDetails(_pod.Sub?.Latest);
            await _cleanup.AfterFailureAsync(token).ConfigureAwait(false);
            throw;
        }

        _events.StartSeen();
        if (_creation.Requested != 0)
        {
            KubernetesMetrics.PodStarted(_pod.Time.GetElapsedTime(_creation.Requested));
        }

        Log($"Pod {_pod.Ns}/{_pod.Name} is {started.Status?.Phase}");
        await _hooks.StartingAsync(started, token).ConfigureAwait(false);
        var logs = Op.GetLogs
            ? new PodLogs(_pod.Client, _pod.Ns, _pod.Name!, _pod.Watched, _pod.Runtime, LogContainers(started), Log, Op.ContainerNameLogPrefixEnabled) { Formatter = Op.LogFormatter, Progress = _hooks.Progress() }
            : null;
        var logTask = logs?.StreamAsync(token) ?? Task.CompletedTask;
        V1Pod final;
        try
        {
            final = await _waits.CompletionAsync(token).ConfigureAwait(false);
        }
        catch (SiroccoException)
        {
            await _cleanup.AfterFailureAsync(token).ConfigureAwait(false);
            throw;
        }

        await logTask.ConfigureAwait(false);
        await _hooks.CompletionAsync(final, token).ConfigureAwait(false);
        var baseState = PodTarget.ContainerState(final, Op.BaseContainerName)?.Terminated;
        var exitCode = baseState?.ExitCode ?? (final.Status?.Phase == "Succeeded" ? 0 : -1);
        var succeeded = exitCode == 0;

        object? xcom = null;
        Exception? xcomError = null;
        if (Op.DoXcomPush)
        {
            try
            {
                xcom = await new PodXCom(_pod).ReadAsync(token).ConfigureAwait(false);
                if (!succeeded && xcom is JsonElement value)
                {
                    await Ctx.Recorder.PushXComAsync(XComEntry.ReturnValueKey, value, token).ConfigureAwait(false);
                }
            }
            catch (SiroccoException e)
            {
                Log($"XCom not read: {e.Message}");
                xcomError = e;
            }
        }

        Exception? outcome = null;
        if (!succeeded && Op.SkipOnExitCode.Contains(exitCode))
        {
            outcome = new TaskSkippedException($"Pod {_pod.Name} returned exit code {exitCode}. Skipping.");
        }
        else if (!succeeded)
        {
            outcome = new SiroccoException(Ctx.Masker.Redact(FailureMessage(final, baseState, exitCode, logs)));
            LogFailureDetails(final);
        }
        else if (xcomError is not null)
        {
            outcome = xcomError;
        }

        var hookFailed = await _cleanup.RunAsync(succeeded || outcome is TaskSkippedException, token).ConfigureAwait(false);
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
            if (All(Op.InitContainerLogs) || Op.InitContainerLogs.Contains(c.Name))
            {
                result.Add((c.Name, true));
            }
        }

        foreach (var c in pod.Spec.Containers)
        {
            var wanted = Op.ContainerLogs.Count == 0
                ? c.Name == Op.BaseContainerName
                : (All(Op.ContainerLogs) && c.Name != PodBuilder.SidecarName) || Op.ContainerLogs.Contains(c.Name);
            if (wanted)
            {
                result.Add((c.Name, false));
            }
        }

        return result;
    }

    private string FailureMessage(V1Pod pod, V1ContainerStateTerminated? state, int exitCode, PodLogs? logs)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Pod {_pod.Name} returned a failure: container '{Op.BaseContainerName}' ");
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

        if (logs?.LastLines(Op.BaseContainerName) is { Count: > 0 } lines)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nLast {lines.Count} log lines:\n").AppendJoin('\n', lines);
        }

        return sb.ToString();
    }

    private void LogFailureDetails(V1Pod? pod)
    {
        if (Op.LogEventsOnFailure)
        {
            _events.LogAll();
        }

        if (Op.LogPodSpecOnFailure && pod is not null)
        {
            Log("Pod spec: " + KubernetesJson.Serialize(pod.Spec));
        }
    }
}
