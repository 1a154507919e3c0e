using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes;

/// <summary>Registers the Kubernetes runtime (clients and watches shared by every pod try of the process).</summary>
public static class KubernetesRuntimeServices
{
    /// <summary>
    /// Adds the Kubernetes runtime, which resolves clusters with <paramref name="environment"/> (HOME, KUBECONFIG,
    /// KUBERNETES_SERVICE_HOST/PORT): the process environment as the composition root read it.
    /// </summary>
    public static RuntimeServices AddKubernetes(this RuntimeServices services, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(environment);
        return services.Add(new KubernetesRuntime(new KubernetesRuntimeOptions { Environment = environment }));
    }
}
