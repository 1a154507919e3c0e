using k8s;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes;

/// <summary>
/// Tests a <c>kubernetes</c> connection by resolving its cluster exactly as a try does (in_cluster, kube_config_path,
/// kube_config, cluster_context, disable_verify_ssl, then the process's defaults) and asking the API server its
/// version within 10 seconds.
/// </summary>
public sealed class KubernetesConnectionTester : IConnectionTester
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly SiroccoConfig _config;
    private readonly IReadOnlyDictionary<string, string> _environment;

    /// <summary>Creates the tester with the process's configuration and environment (as tries see them).</summary>
    public KubernetesConnectionTester(SiroccoConfig config, IReadOnlyDictionary<string, string> environment)
    {
        _config = config;
        _environment = environment;
    }

    /// <inheritdoc/>
    public IReadOnlyCollection<string> ConnectionTypes { get; } = ["kubernetes"];

    /// <inheritdoc/>
    public async Task<(bool Ok, string Message)> TestAsync(Connection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        try
        {
            var resolved = await ClientResolver.ResolveAsync(new KubernetesPodOperator("connection-test"), connection, null, _config, _environment, null, cancellationToken).ConfigureAwait(false);
            using var client = new k8s.Kubernetes(resolved.Configuration);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(Timeout);
            var version = await client.Version.GetCodeAsync(cts.Token).ConfigureAwait(false);
            return (true, $"Connection successfully tested: Kubernetes {version.GitVersion} at {resolved.Configuration.Host} ({resolved.Source})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, $"The cluster did not answer within {Timeout.TotalSeconds:0} s");
        }
#pragma warning disable CA1031 // any failure to reach the cluster is the test's answer, not a server error
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (false, e.GetBaseException().Message);
        }
    }
}
