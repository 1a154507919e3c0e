using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sirocco.LocalCluster.Auth;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster;

/// <summary>What the parts of one running cluster share.</summary>
internal sealed class ClusterContext
{
    public ClusterContext(LocalClusterOptions options, ObjectStore store, string token, string caPem, string stateDirectory)
    {
        Options = options;
        Store = store;
        Token = token;
        CaPem = caPem;
        StateDirectory = stateDirectory;
        Namespaces = new NamespaceController(this);
        Tokens = new ServiceAccountTokens(this);
        Rbac = new RbacAuthorizer(store);
        KubeletLog = options.LoggerFactory?.CreateLogger(LocalClusterLog.KubeletCategory) ?? NullLogger.Instance;
    }

    /// <summary>The kubelet's log: pods started and ended, and its own faults.</summary>
    public ILogger KubeletLog { get; }

    public LocalClusterOptions Options { get; }

    public ObjectStore Store { get; }

    public string Token { get; }

    public string CaPem { get; }

    public string StateDirectory { get; }

    public NamespaceController Namespaces { get; }

    /// <summary>Issues and checks service-account tokens.</summary>
    public ServiceAccountTokens Tokens { get; }

    /// <summary>Decides what each user may do.</summary>
    public RbacAuthorizer Rbac { get; }

    /// <summary>host:port of the API server, known once Kestrel listens.</summary>
    public string ServerAddress { get; set; } = "127.0.0.1:0";

    public int Port { get; set; }

    public DateTimeOffset Now => Options.TimeProvider.GetUtcNow();

    /// <summary>Cancelled when the cluster stops.</summary>
    public CancellationTokenSource Stopping { get; } = new();
}
