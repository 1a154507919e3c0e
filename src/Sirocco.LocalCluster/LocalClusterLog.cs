using Microsoft.Extensions.Logging;

namespace Sirocco.LocalCluster;

/// <summary>What the local cluster tells whoever runs it: where it listens, its kubelet's pods, and faults.</summary>
internal static partial class LocalClusterLog
{
    /// <summary>The API server's category.</summary>
    public const string Category = "Sirocco.LocalCluster";

    /// <summary>The kubelet's category.</summary>
    public const string KubeletCategory = "Sirocco.LocalCluster.Kubelet";

    [LoggerMessage(1, LogLevel.Information, "Local cluster listening on {Url} (node {Node}, state in {State})")]
    public static partial void Listening(ILogger logger, string url, string node, string state);

    [LoggerMessage(2, LogLevel.Debug, "Pod {Namespace}/{Name} started")]
    public static partial void PodStarted(ILogger logger, string @namespace, string name);

    [LoggerMessage(3, LogLevel.Debug, "Pod {Namespace}/{Name} ended: {Phase}")]
    public static partial void PodEnded(ILogger logger, string @namespace, string name, string phase);

    [LoggerMessage(4, LogLevel.Error, "The kubelet failed to run pod {Namespace}/{Name}")]
    public static partial void PodFault(ILogger logger, Exception error, string @namespace, string name);

    [LoggerMessage(6, LogLevel.Warning, "Pods share the host's network: {Why}")]
    public static partial void SharedNetwork(ILogger logger, string why);

    [LoggerMessage(5, LogLevel.Error, "The kubelet could not handle a change of pod {Key}")]
    public static partial void EventFault(ILogger logger, Exception error, string key);
}
