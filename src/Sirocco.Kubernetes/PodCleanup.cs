using k8s;
using k8s.Models;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes;

/// <summary>
/// <c>sirocco kubernetes cleanup-pods</c>, as Airflow's <c>airflow kubernetes cleanup-pods</c>: deletes the pods of
/// tries that are over (succeeded; failed with restart policy Never; evicted) and those pending longer than a limit,
/// among the pods the operator labels (<c>dag_id</c>, <c>task_id</c>, <c>try_number</c>); other pods are never touched.
/// The cluster is found as for a task (the <c>kubernetes_default</c> connection, then the configuration).
/// </summary>
public static class PodCleanup
{
    /// <summary>The labels every operator pod carries; pods without them are not Sirocco's.</summary>
    public const string LabelSelector = "dag_id,task_id,try_number,kubernetes_pod_operator";

    /// <summary>Goes through the namespace's operator pods; returns how many were deleted. Each decision is logged.</summary>
    /// <param name="connections">Connections, for <c>kubernetes_default</c>.</param>
    /// <param name="config">The configuration (<c>[kubernetes]</c>).</param>
    /// <param name="environment">Environment variables (KUBECONFIG, connection overrides).</param>
    /// <param name="ns">The namespace; the connection's or configuration's when null.</param>
    /// <param name="minPending">How long a pod may stay Pending before it is deleted.</param>
    /// <param name="log">Where each line goes.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    public static async Task<int> RunAsync(
        ConnectionAccessor? connections,
        SiroccoConfig? config,
        IReadOnlyDictionary<string, string> environment,
        string? ns,
        TimeSpan minPending,
        Action<string> log,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        var resolved = await ClientResolver.ResolveAsync(new KubernetesPodOperator("cleanup-pods"), connections, config, environment, cancellationToken).ConfigureAwait(false);
        resolved.Configuration.HttpClientTimeout = TimeSpan.FromSeconds(30);
        using var client = new k8s.Kubernetes(resolved.Configuration);
        var target = ns ?? resolved.DefaultNamespace;
        var now = DateTimeOffset.UtcNow;
        var deleted = 0;
        string? next = null;
        log($"Loading pods in namespace {target} with labels {LabelSelector}");
        do
        {
            var page = await client.CoreV1.ListNamespacedPodAsync(target, labelSelector: LabelSelector, limit: 500, continueParameter: next, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var pod in page.Items)
            {
                var name = pod.Metadata.Name;
                var phase = pod.Status?.Phase?.ToLowerInvariant() ?? string.Empty;
                var reason = pod.Status?.Reason?.ToLowerInvariant() ?? string.Empty;
                var restart = pod.Spec?.RestartPolicy?.ToLowerInvariant() ?? string.Empty;
                var created = pod.Metadata.CreationTimestamp is { } c ? new DateTimeOffset(DateTime.SpecifyKind(c, DateTimeKind.Utc)) : now;
                var over = phase == "succeeded"
                    || (phase == "failed" && restart == "never")
                    || reason == "evicted"
                    || (phase == "pending" && now - created > minPending);
                if (!over)
                {
                    log($"No action taken on pod {name}");
                    continue;
                }

                log($"Deleting pod \"{name}\" phase \"{phase}\" and reason \"{reason}\", restart policy \"{restart}\"");
                try
                {
                    await client.CoreV1.DeleteNamespacedPodAsync(name, target, new V1DeleteOptions(), cancellationToken: cancellationToken).ConfigureAwait(false);
                    deleted++;
                }
                catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    log($"Pod {name} was already gone");
                }
            }

            next = page.Metadata.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));

        return deleted;
    }
}
