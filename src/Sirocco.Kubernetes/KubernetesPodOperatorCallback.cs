using k8s;
using k8s.Models;

namespace Sirocco.Kubernetes;

/// <summary>
/// Hooks into the pod lifecycle of a <see cref="KubernetesPodOperator"/> try, as the provider's
/// <c>KubernetesPodOperatorCallback</c>: override the moments you need and add an instance to
/// <see cref="KubernetesPodOperator.Callbacks"/>. Hooks run in the order the try reaches them, each awaited before
/// the try goes on; a hook that throws fails the try (the pod is cleaned up as after any failure).
/// </summary>
public abstract class KubernetesPodOperatorCallback
{
    /// <summary>Once the try has its Kubernetes client, before anything is sent (the provider's <c>on_sync_client_creation</c>).</summary>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnSyncClientCreationAsync(KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// With the pod about to be created (<c>on_pod_manifest_created</c>): changes made to <paramref name="podRequest"/>
    /// are sent. Runs before the process's <c>pod_mutation_hook</c>, which has the last word, and also when the try
    /// then finds its pod already made (after a restart), as in the provider.
    /// </summary>
    /// <param name="podRequest">The pod the operator built.</param>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnPodManifestCreatedAsync(V1Pod podRequest, KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Once the pod exists, created or reattached to (<c>on_pod_creation</c>).</summary>
    /// <param name="pod">The pod as the API server answered.</param>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnPodCreationAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Once the pod has started (<c>on_pod_starting</c>).</summary>
    /// <param name="pod">The pod as last seen.</param>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnPodStartingAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Once the base container has ended and its logs are read, whatever its exit code (<c>on_pod_completion</c>).</summary>
    /// <param name="pod">The pod as last seen.</param>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnPodCompletionAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Before the pod is deleted or kept as <c>on_finish_action</c> says (<c>on_pod_teardown</c>).</summary>
    /// <param name="pod">The pod as last seen.</param>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnPodTeardownAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After the pod was deleted or kept (<c>on_pod_cleanup</c>).</summary>
    /// <param name="pod">The pod as last seen.</param>
    /// <param name="context">The try, its operator and its client.</param>
    /// <param name="cancellationToken">Cancelled when the try is killed.</param>
    public virtual Task OnPodCleanupAsync(V1Pod pod, KubernetesPodCallbackContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// With each streamed log line (the class's <c>progress_callback</c>). If it throws, the try's log says so once and
    /// no progress hook is called again for this try.
    /// </summary>
    /// <param name="line">The line, without its container prefix.</param>
    /// <param name="containerName">The container that wrote it.</param>
    /// <param name="timestamp">When it was read.</param>
    public virtual void OnProgress(string line, string containerName, DateTimeOffset timestamp)
    {
    }
}

/// <summary>What a <see cref="KubernetesPodOperatorCallback"/> hook is given besides the pod.</summary>
public sealed class KubernetesPodCallbackContext
{
    internal KubernetesPodCallbackContext(KubernetesPodOperator op, TaskExecutionContext task, IKubernetes client)
    {
        Operator = op;
        Task = task;
        Client = client;
    }

    /// <summary>The operator of the try (rendered).</summary>
    public KubernetesPodOperator Operator { get; }

    /// <summary>The try: its task instance, run, log and connections.</summary>
    public TaskExecutionContext Task { get; }

    /// <summary>The try's client of the cluster the pod runs on.</summary>
    public IKubernetes Client { get; }
}
