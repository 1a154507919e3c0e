using System.Collections.Concurrent;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// A node that reports a pod's end late (the real v1.20 API server, the simulated kubelet told to write the terminated
/// status 10 s after the container's log stream ended): the try reads the log once more when the status comes, instead
/// of opening the ended stream again every 2 s in between, and writes every line once.
/// </summary>
[Collection("realk8s")]
public sealed class LateStatusLogTests(RealApiServerFixture fx)
{
    [Fact]
    public async Task A_log_that_ends_before_the_pod_is_seen_terminated_is_read_once_more_when_it_is()
    {
        var ns = await fx.NamespaceAsync("late-status");
        var requests = new ConcurrentQueue<string>();
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions { Handlers = () => [new CountingHandler(requests)] });
        var op = fx.Pod("late-status", ns, TimeSpan.FromSeconds(1));
        op.Annotations[RealApiServerFixture.LogAnnotation] = "first line\nsecond line\nthird line";
        op.Annotations["fake-kubelet/status-delay"] = "10s";
        op.GetLogs = true;
        var harness = new TryHarness();

        await harness.RunAsync(op, runtime: runtime);

        foreach (var line in new[] { "first line", "second line", "third line" })
        {
            Assert.Single(harness.Log, l => l.EndsWith(line, StringComparison.Ordinal));
        }

        // The followed stream, then one read without follow once the status said terminated (it came ~10 s later).
        var logReads = requests.Where(r => r.Contains("/log?", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, logReads.Count);
        Assert.Contains("follow=true", logReads[0], StringComparison.Ordinal);
        Assert.DoesNotContain("follow=true", logReads[1], StringComparison.Ordinal);
    }
}
