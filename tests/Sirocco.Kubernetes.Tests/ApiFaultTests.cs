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

    [Fact]
    public async Task Pod_creations_in_flight_to_one_api_server_are_limited_and_a_long_wait_is_said_in_the_try_log()
    {
        var ns = await fx.NamespaceAsync("inflight");
        var slow = new SlowCreates(TimeSpan.FromMilliseconds(700));
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions { CreationsInFlight = 2, Handlers = () => [slow] });
        var harness = new TryHarness();

        // Five tries at once: creates go two at a time, so the last one waits for two rounds (1.4 s).
        await Task.WhenAll(Enumerable.Range(1, 5).Select(i => harness.RunAsync(Pod(ns), tryNumber: i, runtime: runtime)));

        Assert.Equal(5, slow.Creates);
        Assert.Equal(2, slow.MostAtOnce);
        Assert.Contains(harness.Log, l => l.StartsWith("Waited ", StringComparison.Ordinal) && l.Contains("for a turn to create the pod: 2 pod creations were in flight", StringComparison.Ordinal)
            && l.Contains("[kubernetes] max_pod_creations_in_flight", StringComparison.Ordinal));
        Assert.Equal(5, harness.Log.Count(l => l == "ok"));
    }

    /// <summary>Delays every pod create and records how many were in flight at once.</summary>
    private sealed class SlowCreates(TimeSpan delay) : DelegatingHandler
    {
        private int _now;
        private int _most;
        private int _creates;

        public int MostAtOnce => Volatile.Read(ref _most);

        public int Creates => Volatile.Read(ref _creates);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!IsCreate(request))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            Interlocked.Increment(ref _creates);
            var now = Interlocked.Increment(ref _now);
            int most;
            while ((most = Volatile.Read(ref _most)) < now && Interlocked.CompareExchange(ref _most, now, most) != most)
            {
            }

            try
            {
                await Task.Delay(delay, cancellationToken);
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _now);
            }
        }
    }

    private static KubernetesRuntime Runtime(Func<HttpRequestMessage, Fault?> decide) => new(new KubernetesRuntimeOptions
    {
        FirstRetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        Handlers = () => [new FaultHandler((r, _) => decide(r))],
    });
}
