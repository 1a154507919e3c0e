using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// Calls a try's <see cref="KubernetesPodOperator.Callbacks"/> at each moment of its pod's life, in list order. A hook
/// that throws fails the try with an error naming the callback and the moment.
/// </summary>
internal sealed class PodHooks(KubernetesPodOperator op, TaskExecutionContext task, IKubernetes client)
{
    private readonly KubernetesPodCallbackContext _context = new(op, task, client);

    public Task ClientCreatedAsync(CancellationToken token) =>
        EachAsync("on_sync_client_creation", (c, t) => c.OnSyncClientCreationAsync(_context, t), token);

    public Task ManifestCreatedAsync(V1Pod request, CancellationToken token) =>
        EachAsync("on_pod_manifest_created", (c, t) => c.OnPodManifestCreatedAsync(request, _context, t), token);

    public Task CreatedAsync(V1Pod pod, CancellationToken token) =>
        EachAsync("on_pod_creation", (c, t) => c.OnPodCreationAsync(pod, _context, t), token);

    public Task StartingAsync(V1Pod pod, CancellationToken token) =>
        EachAsync("on_pod_starting", (c, t) => c.OnPodStartingAsync(pod, _context, t), token);

    public Task CompletionAsync(V1Pod pod, CancellationToken token) =>
        EachAsync("on_pod_completion", (c, t) => c.OnPodCompletionAsync(pod, _context, t), token);

    public Task TeardownAsync(V1Pod pod, CancellationToken token) =>
        EachAsync("on_pod_teardown", (c, t) => c.OnPodTeardownAsync(pod, _context, t), token);

    public Task CleanupAsync(V1Pod pod, CancellationToken token) =>
        EachAsync("on_pod_cleanup", (c, t) => c.OnPodCleanupAsync(pod, _context, t), token);

    /// <summary>
    /// Per line (container, line): the operator's own progress callback, then each callback's
    /// <see cref="KubernetesPodOperatorCallback.OnProgress"/>; null when there is none.
    /// </summary>
    public Action<string, string>? Progress()
    {
        var own = op.ProgressCallback;
        var callbacks = op.Callbacks.ToArray();
        if (own is null && callbacks.Length == 0)
        {
            return null;
        }

        return (container, line) =>
        {
            own?.Invoke(line);
            var now = task.Time.GetUtcNow();
            foreach (var callback in callbacks)
            {
                callback.OnProgress(line, container, now);
            }
        };
    }

    /// <summary>The name a callback goes by in the try's log: a DAG file's class name, else the .NET type's.</summary>
    internal static string NameOf(KubernetesPodOperatorCallback callback) =>
        callback is PythonPodCallback python ? python.ClassName : callback.GetType().Name;

    private async Task EachAsync(string moment, Func<KubernetesPodOperatorCallback, CancellationToken, Task> hook, CancellationToken token)
    {
        foreach (var callback in op.Callbacks)
        {
            try
            {
                await hook(callback, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                throw new SiroccoException($"callbacks: {NameOf(callback)}.{moment} failed: {e.Message}", e);
            }
        }
    }
}
