using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>Log streaming: every line once, also across a cut stream, and the cluster going away for 30 s.</summary>
[Collection("cluster")]
public sealed class LogStreamingTests(ClusterFixture fx)
{
    private const int Lines = 100_000;

    [Fact]
    public async Task Hundred_thousand_lines_arrive_once_each_in_order()
    {
        var ns = await fx.NamespaceAsync("lines");
        var harness = new TryHarness();
        var op = new KubernetesPodOperator("lines")
        {
            Namespace = ns,
            Image = "perl",
            Cmds = ["perl", "-e", $"$| = 1; print \"line $_\\n\" for 1..{Lines}"],
            ConfigFile = fx.Kubeconfig,
        };

        await harness.RunAsync(op);

        AssertAllLinesOnce(harness);
    }

    [Fact]
    public async Task Lines_survive_the_log_stream_and_the_watch_being_cut_twice()
    {
        var ns = await fx.NamespaceAsync("cut");
        var harness = new TryHarness();
        await using var proxy = FlakyProxy.Start(fx, harness.Home);
        var requests = new ConcurrentQueue<string>();
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromSeconds(1),
            Handlers = () => [new CountingHandler(requests)],
        });

        // About three seconds of output, so the cuts land mid-stream.
        var op = new KubernetesPodOperator("cut")
        {
            Namespace = ns,
            Image = "perl",
            Cmds = ["perl", "-e", $"$| = 1; for (1..{Lines}) {{ print \"line $_\\n\"; select(undef, undef, undef, 0.003) unless $_ % 100 }}"],
            ConfigFile = proxy.Kubeconfig,
        };

        var run = harness.RunAsync(op, runtime: runtime);
        await harness.WaitForLogAsync(l => l == "line 20000", TimeSpan.FromSeconds(60));
        proxy.CutAll();
        await harness.WaitForLogAsync(l => l == "line 60000", TimeSpan.FromSeconds(60));
        proxy.CutAll();
        await run;

        AssertAllLinesOnce(harness);
        Assert.True(requests.Count(r => r.Contains("/log?", StringComparison.Ordinal)) >= 3, string.Join('\n', requests));
    }

    [Fact]
    public async Task Cluster_unreachable_for_30_seconds_while_the_pod_runs_fails_no_task()
    {
        var ns = await fx.NamespaceAsync("outage");
        var harness = new TryHarness();
        await using var proxy = FlakyProxy.Start(fx, harness.Home);
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromSeconds(2),
        });
        var op = new KubernetesPodOperator("outage")
        {
            Namespace = ns,
            Image = "busybox",
            Cmds = ["sh", "-c", "echo before; sleep 5; echo after; exit 0"],
            ConfigFile = proxy.Kubeconfig,
        };

        var run = harness.RunAsync(op, runtime: runtime);
        await harness.WaitForLogAsync(l => l == "before", TimeSpan.FromSeconds(30));
        await proxy.OutageAsync(TimeSpan.FromSeconds(30));
        await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Contains("after", harness.Log);
        Assert.Single(harness.Log, "before");
        Assert.Contains($"Deleting pod {ns}/{harness.XComs[("outage", "pod_name")].GetString()}", harness.Log);
    }

    [Fact]
    public void Cursor_drops_exactly_the_lines_already_written_when_a_stream_is_reopened()
    {
        var written = new List<string>();
        var cursor = new LogCursor();
        string[] first = ["2024-01-01T00:00:01.000000001Z a", "2024-01-01T00:00:02.5Z b", "2024-01-01T00:00:02.5Z c"];
        string[] again = ["2024-01-01T00:00:01.000000001Z a", "2024-01-01T00:00:02.5Z b", "2024-01-01T00:00:02.5Z c", "2024-01-01T00:00:02.5Z d", "2024-01-01T00:00:03Z e"];

        foreach (var l in first)
        {
            cursor.Offer(l, written.Add);
        }

        cursor.Reopen();
        foreach (var l in again)
        {
            cursor.Offer(l, written.Add);
        }

        Assert.Equal(["a", "b", "c", "d", "e"], written);
    }

    [Fact]
    public async Task Reader_keeps_a_cut_partial_line_out_and_a_final_unterminated_line_in()
    {
        var written = new List<string>();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("2024-01-01T00:00:01Z one\r\n2024-01-01T00:00:02Z two\n2024-01-01T00:00:03Z last"));
        await PodLogs.ReadLinesAsync(stream, new LogCursor(), written.Add, default);
        Assert.Equal(["one", "two", "last"], written);
    }

    private static void AssertAllLinesOnce(TryHarness harness)
    {
        var lines = harness.Log.Where(l => l.StartsWith("line ", StringComparison.Ordinal)).ToList();
        Assert.Equal(Lines, lines.Count);
        var expected = string.Join('\n', Enumerable.Range(1, Lines).Select(i => $"line {i}"));
        Assert.Equal(
            Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(expected))),
            Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', lines)))));
    }
}
