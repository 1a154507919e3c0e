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
    public async Task Create_whose_answer_is_lost_is_retried_into_409_and_adopts_the_pod_it_made()
    {
        var ns = await fx.NamespaceAsync("lost");
        var creates = 0;
        await using var runtime = Runtime(r => IsCreate(r) && Interlocked.Increment(ref creates) == 1
            ? new Fault(HttpStatusCode.BadGateway, AfterServer: true)
            : null);
        var harness = new TryHarness();

        await harness.RunAsync(Keep(Pod(ns)), runtime: runtime);

        Assert.Equal(2, creates);
        Assert.Contains("ok", harness.Log);
        Assert.Single(await fx.PodsAsync(ns));
    }

    [Fact]
    public async Task Non_transient_create_error_fails_at_once_with_the_servers_message()
    {
        var harness = new TryHarness();
        var op = Pod("no-such-namespace-kpo");
        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));
        Assert.StartsWith("could not create pod no-such-namespace-kpo/faults-", e.Message, StringComparison.Ordinal);
        Assert.Contains("404", e.Message, StringComparison.Ordinal);
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

    private static KubernetesPodOperator Keep(KubernetesPodOperator op)
    {
        op.OnFinishAction = OnFinishAction.KeepPod;
        return op;
    }

    private static KubernetesRuntime Runtime(Func<HttpRequestMessage, Fault?> decide) => new(new KubernetesRuntimeOptions
    {
        FirstRetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        Handlers = () => [new FaultHandler((r, _) => decide(r))],
    });
}
