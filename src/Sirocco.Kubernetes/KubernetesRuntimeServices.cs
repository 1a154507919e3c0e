using Sirocco.Configuration;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes;

/// <summary>Registers the Kubernetes runtime (clients and watches shared by every pod try of the process).</summary>
public static class KubernetesRuntimeServices
{
    /// <summary>
    /// Adds the Kubernetes runtime, which resolves clusters with <paramref name="environment"/> (HOME, KUBECONFIG,
    /// KUBERNETES_SERVICE_HOST/PORT): the process environment as the composition root read it. With
    /// <paramref name="config"/>, <c>[kubernetes] api_retry_budget_seconds</c> (default 120) bounds how long a try
    /// retries an unreachable or failing API server before it fails, and <c>[kubernetes] max_pod_creations_in_flight</c>
    /// (default 32) how many pod creations go to one API server at once. With <paramref name="loggerFactory"/>, API retries
    /// and failures are also written to the process's log (category <c>Sirocco.Kubernetes</c>).
    /// </summary>
    public static RuntimeServices AddKubernetes(
        this RuntimeServices services,
        IReadOnlyDictionary<string, string> environment,
        SiroccoConfig? config = null,
        Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(environment);
        var options = new KubernetesRuntimeOptions { Environment = environment };
        if (loggerFactory is not null)
        {
            options = options with { Logger = loggerFactory.CreateLogger(KubernetesLog.Category) };
        }

        if (config is not null)
        {
            var seconds = config.GetInt("kubernetes", "api_retry_budget_seconds");
            if (seconds <= 0)
            {
                throw new SiroccoException($"[kubernetes/api_retry_budget_seconds] must be a positive number of seconds, got {seconds}");
            }

            var creations = config.GetInt("kubernetes", "max_pod_creations_in_flight");
            if (creations < 0)
            {
                throw new SiroccoException($"[kubernetes/max_pod_creations_in_flight] must be 0 (no limit) or a positive number, got {creations}");
            }

            options = options with { RetryBudget = TimeSpan.FromSeconds(seconds), CreationsInFlight = creations };
        }

        return services.Add(new KubernetesRuntime(options));
    }
}
