using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>Transient API failures retried by the real client against the real cluster, and the API cost of a try.</summary>
[Collection("cluster")]
public sealed class ApiFaultTests(ClusterFixture fx)
{
    private static bool IsCreate(HttpRequestMessage r) => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/pods", StringComparison.Ordinal);

    private KubernetesPodOperator Pod(string ns) => new("faults")
    {
        Namespace = ns,
        Image = "busybox",
        Cmds = ["echo", "ok"],
        ConfigFile = fx.Kubeconfig,
    };

    [Fact]
    public async Task Create_answered_503_then_429_with_retry_after_is_retried_and_honours_retry_after()
    {
        var ns = await fx.NamespaceAsync("faults");
        var creates = 0;
        await using var runtime = Runtime(r =>
        {
            if (!IsCreate(r))
            {
                return null;
            }

            return Interlocked.Increment(ref creates) switch
            {
                1 => new Fault(HttpStatusCode.ServiceUnavailable),
                2 => new Fault(HttpStatusCode.TooManyRequests, RetryAfterSeconds: 1),
                _ => null,
            };
        });
        var harness = new TryHarness();
        var watch = Stopwatch.StartNew();

        await harness.RunAsync(Pod(ns), runtime: runtime);

        Assert.Equal(3, creates);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"Retry-After ignored: {watch.Elapsed}");
        Assert.Contains("ok", harness.Log);
    }

    [Fact]
    public async Task A_try_costs_at_most_five_api_requests_besides_the_shared_watches()
    {
        var ns = await fx.NamespaceAsync("cost");
        var requests = new ConcurrentQueue<string>();
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions { Handlers = () => [new CountingHandler(requests)] });
        var harness = new TryHarness();

        await harness.RunAsync(Pod(ns), runtime: runtime);
        var first = requests.ToList();
        requests.Clear();
        await harness.RunAsync(Pod(ns), tryNumber: 2, runtime: runtime);
        var second = requests.ToList();

        // The first try also starts the namespace's two shared watches (a list and a watch each).
        static bool Shared(string r) => r.StartsWith("GET", StringComparison.Ordinal) && (r.Contains("/pods?", StringComparison.Ordinal) || r.Contains("/events", StringComparison.Ordinal));
        Assert.InRange(first.Count(r => !Shared(r)), 1, 5);
        Assert.InRange(second.Count, 1, 5);
        Assert.StartsWith("POST ", second[0], StringComparison.Ordinal);
        Assert.StartsWith("DELETE ", second[^1], StringComparison.Ordinal);
        Assert.All(second[1..^1], r => Assert.Contains("/log?", r, StringComparison.Ordinal));
    }

    private static KubernetesRuntime Runtime(Func<HttpRequestMessage, Fault?> decide) => new(new KubernetesRuntimeOptions
    {
        FirstRetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        Handlers = () => [new FaultHandler((r, _) => decide(r))],
    });
}
