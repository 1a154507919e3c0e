namespace Sirocco.Kubernetes.Internal;

/// <summary>The lifecycle of one try's pod.</summary>
internal static class PodRun
{
    public static Task<object?> ExecuteAsync(KubernetesPodOperator op, TaskExecutionContext context, KubernetesRuntime runtime, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the pod lifecycle is not written yet");
}

/// <summary>Clients and watches shared by every try of the process.</summary>
internal sealed class KubernetesRuntime
{
    public static KubernetesRuntime Shared { get; } = new();
}
