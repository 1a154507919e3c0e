using System.Collections.Concurrent;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// A node that reports a pod's end late (the real v1.20 API server, the simulated kubelet told to write the terminated
/// status 10 s after the container's log stream ended, stamped with the time it exited, as a kubelet does): the try waits
/// for the status instead of opening the ended stream again every 2 s, and writes every line once.
/// </summary>
[Collection("realk8s")]
public sealed class LateStatusLogTests(RealApiServerFixture fx)
{
    [Fact]
    public async Task A_log_that_ends_before_the_pod_is_seen_terminated_is_not_opened_again_while_the_status_is_late()
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

        // One followed stream: when the status came (~10 s after the stream ended) it said the container had exited
        // when the stream ended, so nothing was left to read.
        var logReads = requests.Where(r => r.Contains("/log?", StringComparison.Ordinal)).ToList();
        Assert.True(logReads.Count == 1, Explain(logReads, harness));
        Assert.Contains("follow=true", logReads[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_that_ends_while_the_container_runs_on_is_read_again_for_what_came_after()
    {
        var ns = await fx.NamespaceAsync("early-end");
        var requests = new ConcurrentQueue<string>();
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions { Handlers = () => [new CountingHandler(requests)] });

        // A line a second for four seconds; the followed stream ends after 1.5 s (two lines) as if the kubelet restarted.
        var op = fx.Pod("early-end", ns, TimeSpan.FromSeconds(4));
        op.Annotations[RealApiServerFixture.LogAnnotation] = "line one\nline two\nline three\nline four";
        op.Annotations["fake-kubelet/log-line-interval"] = "1s";
        op.Annotations["fake-kubelet/log-cut-after"] = "1500ms";
        op.GetLogs = true;
        var harness = new TryHarness();

        await harness.RunAsync(op, runtime: runtime);

        foreach (var line in new[] { "line one", "line two", "line three", "line four" })
        {
            Assert.Single(harness.Log, l => l.EndsWith(line, StringComparison.Ordinal));
        }

        // The container exited after the stream ended, so the rest was read, once, from the last line's timestamp.
        var logReads = requests.Where(r => r.Contains("/log?", StringComparison.Ordinal)).ToList();
        Assert.True(logReads.Count == 2, Explain(logReads, harness));
        Assert.Contains("follow=true", logReads[0], StringComparison.Ordinal);
        Assert.Contains("sinceSeconds=", logReads[1], StringComparison.Ordinal);
    }

    private static string Explain(List<string> logReads, TryHarness harness) =>
        $"{logReads.Count} log requests:\n{string.Join('\n', logReads)}\ntask log:\n{string.Join('\n', harness.Log)}";
}
