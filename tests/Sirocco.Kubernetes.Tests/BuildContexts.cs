using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

/// <summary>A build context with a fixed name suffix, for deterministic pods.</summary>
internal static class BuildContexts
{
    public static PodBuildContext Fixed { get; } = new()
    {
        DagId = "d",
        TaskId = "t",
        RunId = "manual__2024-01-01T00:00:00+00:00",
        TryNumber = 1,
        RandomSuffix = () => "zz99zz99",
    };
}
