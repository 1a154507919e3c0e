using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// The end of a try's pod: deleted or kept as <c>on_finish_action</c> says (a kept pod is labelled already checked),
/// with the teardown hooks before and the cleanup hooks after.
/// </summary>
/// <param name="pod">The try's pod.</param>
/// <param name="hooks">The operator's callbacks.</param>
/// <param name="hookToken">The try's own token: a kill stops a hook, never the pod's delete.</param>
internal sealed class PodCleanup(PodTarget pod, PodHooks hooks, CancellationToken hookToken)
{
    /// <summary>Whether the cleanup has begun (it is not begun twice after an error).</summary>
    public bool Started { get; private set; }

    /// <summary>
    /// Deletes or keeps the pod, the hooks around it. A failing hook neither stops the cleanup nor throws: its error
    /// is returned (the first one).
    /// </summary>
    public async Task<Exception?> RunAsync(bool succeeded, CancellationToken token)
    {
        Started = true;
        var latest = pod.Sub?.Latest ?? new V1Pod { Metadata = new V1ObjectMeta { Name = pod.Name, NamespaceProperty = pod.Ns } };
        var hookError = await HookAsync(() => hooks.TeardownAsync(latest, hookToken)).ConfigureAwait(false);
        await DeleteOrKeepAsync(succeeded, token).ConfigureAwait(false);
        var cleanupError = await HookAsync(() => hooks.CleanupAsync(pod.Sub?.Latest ?? latest, hookToken)).ConfigureAwait(false);
        return hookError ?? cleanupError;
    }

    /// <summary>Cleans up after the try failed; a cleanup that fails too is logged, and the first failure stays the try's.</summary>
    public async Task AfterFailureAsync(CancellationToken token)
    {
        try
        {
            if (await RunAsync(succeeded: false, token).ConfigureAwait(false) is { } hookError)
            {
                pod.Log(hookError.Message);
            }
        }
        catch (Exception e) when (e is SiroccoException or HttpOperationException && !token.IsCancellationRequested)
        {
            pod.Log($"Could not clean up pod {pod.Ns}/{pod.Name}: {e.Message}");
        }
    }

    /// <summary>Deletes the pod; one already gone is no error.</summary>
    public async Task DeleteAsync(CancellationToken token)
    {
        // Bounded by the retry budget (the call's own timeout), also when the caller's token never fires.
        try
        {
            await pod.CallAsync(
                $"delete pod {pod.Ns}/{pod.Name}",
                t => pod.Client.CoreV1.DeleteNamespacedPodAsync(pod.Name, pod.Ns, gracePeriodSeconds: pod.Op.TerminationGracePeriod, cancellationToken: t),
                token).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
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
        var op = pod.Op;
        var active = pod.Sub?.Latest is { } latest && !PodTarget.IsDone(latest, op.BaseContainerName);
        var delete = op.OnFinishAction switch
        {
            OnFinishAction.KeepPod => false,
            OnFinishAction.DeleteSucceededPod => succeeded,
            OnFinishAction.DeleteActivePod => active,
            _ => true,
        };
        if (delete)
        {
            pod.Log($"Deleting pod {pod.Ns}/{pod.Name}");
            await DeleteAsync(token).ConfigureAwait(false);
            return;
        }

        pod.Log($"Keeping pod {pod.Ns}/{pod.Name} (on_finish_action {op.OnFinishAction.ToName()}); marked {PodBuilder.AlreadyCheckedLabel}");
        var patch = new V1Patch(
            "{\"metadata\":{\"labels\":{\"" + PodBuilder.AlreadyCheckedLabel + "\":\"True\"}}}",
            V1Patch.PatchType.MergePatch);
        try
        {
            await pod.CallAsync(
                $"label pod {pod.Ns}/{pod.Name}",
                t => pod.Client.CoreV1.PatchNamespacedPodAsync(patch, pod.Name, pod.Ns, cancellationToken: t),
                token).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }
}
