using System.Collections.Concurrent;
using System.Net;
using k8s;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// The operator's lifecycle without container output (exit codes, timeouts, kill and shutdown, reattach, watch and API
/// failures), one body run against the local cluster and against a real v1.20 API server with a simulated node (tests/Sirocco.NodeSimulator).
/// </summary>
public abstract class PodLifecycleContract(ITestCluster cluster)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);

    protected ITestCluster Cluster { get; } = cluster;

    [Fact]
    public async Task Pod_that_exits_zero_succeeds_records_its_pod_and_is_deleted()
    {
        var ns = await Cluster.NamespaceAsync("ok");
        var harness = new TryHarness();

        var result = await harness.RunAsync(Cluster.Pod("ok", ns, Short));

        Assert.Null(result);
        var name = harness.XComs[("ok", "pod_name")].GetString();
        Assert.Equal(ns, harness.XComs[("ok", "pod_namespace")].GetString());
        Assert.Equal($"{ns}/{name}", harness.ExternalIds["ok"]);
        Assert.Contains($"Creating pod {ns}/{name}", harness.Log);
        Assert.Contains(harness.Log, l => l == $"Pod {ns}/{name} is Running" || l == $"Pod {ns}/{name} is Succeeded");
        Assert.Contains($"Deleting pod {ns}/{name}", harness.Log);
        Assert.DoesNotContain(await Cluster.PodsAsync(ns), p => p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task Non_zero_exit_fails_naming_the_pod_and_the_exit_code()
    {
        var ns = await Cluster.NamespaceAsync("exit");
        var harness = new TryHarness();

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(Cluster.Pod("fails", ns, Short, exitCode: 3)));

        var name = harness.XComs[("fails", "pod_name")].GetString();
        Assert.StartsWith($"Pod {name} returned a failure: container 'base' exited with code 3 (Error)", e.Message, StringComparison.Ordinal);
        Assert.Contains(harness.Log, l => l.StartsWith("Pod spec: ", StringComparison.Ordinal));
        Assert.DoesNotContain(await Cluster.PodsAsync(ns), p => p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task Concurrent_tries_in_one_namespace_each_get_their_own_outcome_from_the_shared_watch()
    {
        var ns = await Cluster.NamespaceAsync("many");
        var harness = new TryHarness();
        int[] codes = [0, 1, 2, 0, 5];
        var tries = codes.Select((code, i) => harness.RunAsync(Cluster.Pod($"t{i}", ns, Short, code))).ToList();

        for (var i = 0; i < codes.Length; i++)
        {
            if (codes[i] == 0)
            {
                Assert.Null(await tries[i]);
                continue;
            }

            var e = await Assert.ThrowsAsync<SiroccoException>(() => tries[i]);
            Assert.StartsWith($"Pod {harness.XComs[($"t{i}", "pod_name")].GetString()} returned a failure: container 'base' exited with code {codes[i]} (Error)", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(codes.Length, harness.ExternalIds.Values.Distinct().Count());
    }

    [Fact]
    public async Task The_schedulers_event_is_in_the_task_log_even_when_it_arrives_after_the_pod_started()
    {
        var ns = await Cluster.NamespaceAsync("scheduled");
        var harness = new TryHarness();

        await harness.RunAsync(Cluster.Pod("scheduled", ns, Short));

        var name = harness.XComs[("scheduled", "pod_name")].GetString();
        Assert.Single(harness.Log, l => l.StartsWith($"Pod event: Normal Scheduled: Successfully assigned {ns}/{name} to ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Failure_logs_the_pods_events_when_asked()
    {
        var ns = await Cluster.NamespaceAsync("events");
        var harness = new TryHarness();
        var op = Cluster.Pod("events", ns, Short, exitCode: 1);
        op.LogEventsOnFailure = true;

        await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        var name = harness.XComs[("events", "pod_name")].GetString();
        Assert.Contains(harness.Log, l => l.StartsWith($"Pod event: Normal Scheduled: Successfully assigned {ns}/{name} to ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Task_and_dag_ids_that_are_not_valid_names_or_label_values_still_make_a_pod()
    {
        var ns = await Cluster.NamespaceAsync("names");
        var harness = new TryHarness(dagId: "___", runId: "scheduled__2024-01-01T00:00:00+00:00");
        var op = Cluster.Pod("Extract.__Customers__." + new string('x', 80), ns, Short);
        op.OnFinishAction = OnFinishAction.KeepPod;
        op.Labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["team"] = "data-eng" };

        await harness.RunAsync(op);

        var pod = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Equal(harness.XComs[(op.TaskId, "pod_name")].GetString(), pod.Metadata.Name);
        Assert.StartsWith("extract---customers---xxx", pod.Metadata.Name, StringComparison.Ordinal);
        Assert.True(pod.Metadata.Labels["dag_id"].Length > 0, "the dag_id label is empty");
        Assert.Equal("data-eng", pod.Metadata.Labels["team"]);
    }

    [Fact]
    public async Task Exit_code_listed_in_skip_on_exit_code_skips()
    {
        var ns = await Cluster.NamespaceAsync("skip");
        var harness = new TryHarness();
        var op = Cluster.Pod("skips", ns, Short, exitCode: 42);
        op.SkipOnExitCode = [42];

        var e = await Assert.ThrowsAsync<TaskSkippedException>(() => harness.RunAsync(op));

        Assert.Equal($"Pod {harness.XComs[("skips", "pod_name")].GetString()} returned exit code 42. Skipping.", e.Message);
    }

    [Fact]
    public async Task Pod_whose_node_selector_matches_no_node_fails_after_the_schedule_timeout_with_the_schedulers_reason()
    {
        var ns = await Cluster.NamespaceAsync("sched");
        var harness = new TryHarness();
        var op = Cluster.Pod("nowhere", ns, Short);
        op.ScheduleTimeoutSeconds = 2;
        op.NodeSelector = new Dictionary<string, string>(StringComparer.Ordinal) { ["sirocco.test/no-such-node"] = "true" };

        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.StartsWith("Pod took too long to be scheduled on the cluster, giving up. More than 2s. Check the pod events in kubernetes. ", e.Message, StringComparison.Ordinal);
        Assert.Contains("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity", e.Message, StringComparison.Ordinal);
        Assert.Contains(harness.Log, l => l.StartsWith("Pod event: Warning FailedScheduling", StringComparison.Ordinal));
        Assert.DoesNotContain(await Cluster.PodsAsync(ns), p => p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task Pod_too_big_for_the_node_fails_after_the_schedule_timeout_with_the_missing_resource()
    {
        var ns = await Cluster.NamespaceAsync("huge");
        var harness = new TryHarness();
        var op = Cluster.Pod("huge", ns, Short);
        op.ScheduleTimeoutSeconds = 2;
        op.Resources = new Dictionary<string, string>(StringComparer.Ordinal) { ["request_memory"] = "1000Pi" };

        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.StartsWith("Pod took too long to be scheduled on the cluster, giving up. More than 2s. Check the pod events in kubernetes. ", e.Message, StringComparison.Ordinal);
        Assert.Contains("0/1 nodes are available: 1 Insufficient memory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pod_deleted_by_someone_else_while_it_runs_fails_the_try()
    {
        var ns = await Cluster.NamespaceAsync("deleted");
        var harness = new TryHarness();
        var op = Cluster.Pod("deleted", ns, TimeSpan.FromSeconds(60));

        var run = harness.RunAsync(op);
        await WaitRunningAsync(harness, ns);
        await Cluster.Client.CoreV1.DeleteNamespacedPodAsync(harness.XComs[("deleted", "pod_name")].GetString(), ns, gracePeriodSeconds: 0);

        var e = await Assert.ThrowsAsync<SiroccoException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($"Pod {harness.ExternalIds["deleted"]} was deleted while it ran", e.Message);
    }

    [Fact]
    public async Task Scheduled_pod_that_never_starts_fails_after_the_startup_timeout_and_is_deleted()
    {
        var ns = await Cluster.NamespaceAsync("startup");
        var harness = new TryHarness();
        var op = Cluster.Pod("stuck", ns, Short);
        op.StartupTimeoutSeconds = 2;
        op.TerminationGracePeriod = 0;
        await using var stuck = await Cluster.NeverStartsAsync(op, ns);

        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.StartsWith("Pod took too long to start. More than 2s. Check the pod events in kubernetes. ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"Deleting pod {ns}/{harness.XComs[("stuck", "pod_name")].GetString()}", harness.Log);
        await WaitGoneAsync(ns);
    }

    [Fact]
    public async Task Killed_try_deletes_its_pod_and_fails()
    {
        var ns = await Cluster.NamespaceAsync("kill");
        var harness = new TryHarness();
        var op = Cluster.Pod("killed", ns, TimeSpan.FromSeconds(60));
        op.TerminationGracePeriod = 0;
        using var kill = new CancellationTokenSource();

        var run = harness.RunAsync(op, kill: kill.Token);
        await WaitRunningAsync(harness, ns);
        await kill.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Contains(harness.Log, l => l.StartsWith("Task killed: deleting pod", StringComparison.Ordinal));
        await WaitGoneAsync(ns);
    }

    [Fact]
    public async Task Shutdown_leaves_the_pod_and_the_resumed_try_reattaches_without_a_second_pod()
    {
        var ns = await Cluster.NamespaceAsync("reattach");
        var harness = new TryHarness();
        var op = Cluster.Pod("survivor", ns, TimeSpan.FromSeconds(3));
        op.OnFinishAction = OnFinishAction.KeepPod;
        await ShutDownWhileRunningAsync(harness, op, ns);
        var external = harness.ExternalIds["survivor"];
        Assert.Contains($"Shutting down: pod {external} keeps running and will be reattached", harness.Log);
        var left = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Null(left.Metadata.DeletionTimestamp);

        // The scheduler restarted: a new process, so nothing cached from the first try.
        await using var restarted = new KubernetesRuntime();
        await harness.RunAsync(op, resumedExternalId: external, runtime: restarted);

        Assert.Contains(harness.Log, l => l.StartsWith($"Reattaching to pod {external}", StringComparison.Ordinal));
        Assert.Single(harness.Log, l => l.StartsWith("Creating pod ", StringComparison.Ordinal));
        var pod = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Equal(external, $"{ns}/{pod.Metadata.Name}");
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.Equal("True", pod.Metadata.Labels["already_checked"]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Resumed_try_whose_pod_finished_and_was_checked_before_the_crash_takes_its_result_without_a_second_pod(int exitCode)
    {
        // A scheduler ran the pod to its end and labelled it already_checked, then died before recording the try's
        // result: the survivor resumes the same try and must not run the work a second time.
        var ns = await Cluster.NamespaceAsync("checked");
        var harness = new TryHarness();
        var op = Cluster.Pod("finished", ns, Short, exitCode);
        op.OnFinishAction = OnFinishAction.KeepPod;
        var first = await Record.ExceptionAsync(() => harness.RunAsync(op));
        Assert.Equal(exitCode != 0, first is SiroccoException);
        var external = harness.ExternalIds["finished"];
        Assert.Equal("True", Assert.Single(await Cluster.PodsAsync(ns)).Metadata.Labels["already_checked"]);

        await using var restarted = new KubernetesRuntime();
        var resumed = await Record.ExceptionAsync(() => harness.RunAsync(op, resumedExternalId: external, runtime: restarted));

        Assert.Equal(first?.Message, resumed?.Message);
        Assert.Contains($"Pod {external} of this try finished and was checked before the restart, but its result was not recorded: taking its result", harness.Log);
        Assert.Single(harness.Log, l => l.StartsWith("Creating pod ", StringComparison.Ordinal));
        var pod = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Equal(external, $"{ns}/{pod.Metadata.Name}");
    }

    [Fact]
    public async Task Resumed_try_without_a_recorded_pod_finds_it_by_labels()
    {
        var ns = await Cluster.NamespaceAsync("bylabel");
        var harness = new TryHarness();
        var op = Cluster.Pod("found", ns, TimeSpan.FromSeconds(2));
        op.OnFinishAction = OnFinishAction.KeepPod;
        await ShutDownWhileRunningAsync(harness, op, ns);
        harness.ExternalIds.Clear();

        await using var restarted = new KubernetesRuntime();
        await harness.RunAsync(op, runtime: restarted);

        var pod = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Equal($"{ns}/{pod.Metadata.Name}", harness.ExternalIds["found"]);
        Assert.Single(harness.Log, l => l.StartsWith("Creating pod ", StringComparison.Ordinal));

        // The kept pod is marked already_checked, so the next try does not attach to it.
        await harness.RunAsync(op, runtime: restarted);
        Assert.Equal(2, (await Cluster.PodsAsync(ns)).Count);
    }

    [Fact]
    public async Task Watch_answered_410_gone_lists_again_and_the_try_still_completes()
    {
        var ns = await Cluster.NamespaceAsync("gone");
        var requests = new ConcurrentQueue<string>();
        var watches = 0;
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(50),
            Handlers = () =>
            [
                new CountingHandler(requests),
                new FaultHandler((r, _) => r.RequestUri!.Query.Contains("watch=true", StringComparison.Ordinal)
                    && r.RequestUri.AbsolutePath.EndsWith("/pods", StringComparison.Ordinal)
                    && Interlocked.Increment(ref watches) == 1
                        ? new Fault(HttpStatusCode.Gone)
                        : null),
            ],
        });
        var harness = new TryHarness();

        await harness.RunAsync(Cluster.Pod("gone", ns, Short), runtime: runtime);

        Assert.Contains(harness.Log, l => l.StartsWith("Deleting pod ", StringComparison.Ordinal));
        bool IsPodList(string r) => r.StartsWith("GET", StringComparison.Ordinal) && r.Contains("/pods?", StringComparison.Ordinal) && !r.Contains("watch=true", StringComparison.Ordinal);
        Assert.True(requests.Count(IsPodList) >= 2, string.Join('\n', requests));
    }

    [Fact]
    public async Task Watch_ended_by_an_expired_error_event_lists_again_and_the_try_still_completes()
    {
        // How an API server answers a watch from a resourceVersion its cache no longer holds: 200, then one ERROR event.
        const string Expired = """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (2)","reason":"Expired","code":410}}""" + "\n";
        var ns = await Cluster.NamespaceAsync("expired");
        var requests = new ConcurrentQueue<string>();
        var watches = 0;
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(50),
            Handlers = () =>
            [
                new CountingHandler(requests),
                new FaultHandler((r, _) => r.RequestUri!.Query.Contains("watch=true", StringComparison.Ordinal)
                    && r.RequestUri.AbsolutePath.EndsWith("/pods", StringComparison.Ordinal)
                    && Interlocked.Increment(ref watches) == 1
                        ? new Fault(HttpStatusCode.OK, Body: Expired)
                        : null),
            ],
        });
        var harness = new TryHarness();

        await harness.RunAsync(Cluster.Pod("expired", ns, Short), runtime: runtime);

        Assert.Contains(harness.Log, l => l.StartsWith("Deleting pod ", StringComparison.Ordinal));
        bool IsPodList(string r) => r.StartsWith("GET", StringComparison.Ordinal) && r.Contains("/pods?", StringComparison.Ordinal) && !r.Contains("watch=true", StringComparison.Ordinal);
        Assert.True(requests.Count(IsPodList) >= 2, string.Join('\n', requests));
    }

    [Fact]
    public async Task Create_whose_answer_is_lost_is_retried_into_409_and_adopts_the_pod_it_made()
    {
        var ns = await Cluster.NamespaceAsync("lost");
        var creates = 0;
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(50),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
            Handlers = () =>
            [
                new FaultHandler((r, _) => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/pods", StringComparison.Ordinal)
                    && Interlocked.Increment(ref creates) == 1
                        ? new Fault(HttpStatusCode.BadGateway, AfterServer: true)
                        : null),
            ],
        });
        var harness = new TryHarness();
        var op = Cluster.Pod("lost", ns, Short);
        op.OnFinishAction = OnFinishAction.KeepPod;

        await harness.RunAsync(op, runtime: runtime);

        Assert.Equal(2, creates);
        var pod = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.Equal($"{ns}/{pod.Metadata.Name}", harness.ExternalIds["lost"]);
    }

    [Fact]
    public async Task Create_in_a_missing_namespace_fails_at_once_with_the_servers_message()
    {
        var harness = new TryHarness();
        var op = Cluster.Pod("missing", "kpo-no-such-namespace", Short);

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.StartsWith("could not create pod kpo-no-such-namespace/missing-", e.Message, StringComparison.Ordinal);
        Assert.Contains("404 namespaces \"kpo-no-such-namespace\" not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_server_unreachable_when_the_try_starts_delays_the_create_until_it_is_back()
    {
        var ns = await Cluster.NamespaceAsync("down");
        var harness = new TryHarness();
        await using var proxy = FlakyProxy.Start(Cluster, harness.Home);
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromSeconds(1),
        });
        var op = Cluster.Pod("down", ns, Short);
        op.ConfigFile = proxy.Kubeconfig;
        op.OnFinishAction = OnFinishAction.KeepPod;

        var outage = proxy.OutageAsync(TimeSpan.FromSeconds(3));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var run = harness.RunAsync(op, runtime: runtime);
        await outage;
        await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(2.5), $"the try did not wait for the API server: {watch.Elapsed}");
        var pod = Assert.Single(await Cluster.PodsAsync(ns));
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.Equal($"{ns}/{pod.Metadata.Name}", harness.ExternalIds["down"]);
    }

    [Fact]
    public async Task Api_server_unreachable_for_a_while_mid_run_is_retried_and_fails_no_task()
    {
        var ns = await Cluster.NamespaceAsync("outage");
        var harness = new TryHarness();
        await using var proxy = FlakyProxy.Start(Cluster, harness.Home);
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromSeconds(1),
        });
        var op = Cluster.Pod("outage", ns, TimeSpan.FromSeconds(4));
        op.ConfigFile = proxy.Kubeconfig;

        var run = harness.RunAsync(op, runtime: runtime);
        await WaitRunningAsync(harness, ns);
        var accepted = proxy.Accepted;
        await proxy.OutageAsync(TimeSpan.FromSeconds(5));
        await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(proxy.Accepted > accepted, "nothing reconnected after the outage");
        var name = harness.XComs[("outage", "pod_name")].GetString();
        Assert.Contains($"Deleting pod {ns}/{name}", harness.Log);
        await WaitGoneAsync(ns);
    }

    [Fact]
    public async Task A_quiet_running_pod_is_followed_on_the_shared_watch_without_reading_it_again()
    {
        var ns = await Cluster.NamespaceAsync("quiet");
        var requests = new ConcurrentQueue<string>();
        await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions { Handlers = () => [new CountingHandler(requests)] });
        var harness = new TryHarness();
        var op = Cluster.Pod("quiet", ns, TimeSpan.FromSeconds(4));
        op.StartupCheckIntervalSeconds = 1;
        op.GetLogs = false;

        await harness.RunAsync(op, runtime: runtime);

        var name = harness.XComs[("quiet", "pod_name")].GetString();
        Assert.DoesNotContain(requests, r => r.StartsWith($"GET /api/v1/namespaces/{ns}/pods/{name}", StringComparison.Ordinal));
        Assert.True(requests.Count <= 7, string.Join('\n', requests));
    }

    [Theory]
    [InlineData(OnFinishAction.DeleteSucceededPod, 0, false)]
    [InlineData(OnFinishAction.DeleteSucceededPod, 1, true)]
    [InlineData(OnFinishAction.DeleteActivePod, 0, true)]
    [InlineData(OnFinishAction.KeepPod, 0, true)]
    public async Task On_finish_action_keeps_or_deletes_after_the_try(OnFinishAction action, int exitCode, bool kept)
    {
        var ns = await Cluster.NamespaceAsync("finish");
        var harness = new TryHarness();
        var op = Cluster.Pod("finish", ns, TimeSpan.FromMilliseconds(500), exitCode);
        op.OnFinishAction = action;

        if (exitCode == 0)
        {
            await harness.RunAsync(op);
        }
        else
        {
            await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));
        }

        var live = (await Cluster.PodsAsync(ns)).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
        Assert.Equal(kept, live.Count == 1);
        if (kept)
        {
            Assert.Equal("True", live[0].Metadata.Labels["already_checked"]);
        }
    }

    /// <summary>Runs a try in its own runtime (a scheduler process) and shuts it down once its pod runs.</summary>
    private static async Task ShutDownWhileRunningAsync(TryHarness harness, KubernetesPodOperator op, string ns)
    {
        await using var runtime = new KubernetesRuntime();
        using var shutdown = new CancellationTokenSource();
        var run = harness.RunAsync(op, shutdown: shutdown.Token, runtime: runtime);
        await WaitRunningAsync(harness, ns);
        await shutdown.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    private static Task WaitRunningAsync(TryHarness harness, string ns) =>
        harness.WaitForLogAsync(l => l.StartsWith($"Pod {ns}/", StringComparison.Ordinal) && l.EndsWith(" is Running", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

    private Task WaitGoneAsync(string ns) => Cluster.WaitNoPodsAsync(ns, TimeSpan.FromSeconds(30));
}

/// <summary>The lifecycle contract on the embedded local cluster.</summary>
[Collection("cluster")]
public sealed class LocalClusterLifecycleTests(ClusterFixture fx) : PodLifecycleContract(fx);

/// <summary>The lifecycle contract on the real v1.20 API server of scripts/realk8s.sh.</summary>
[Collection("realk8s")]
public sealed class RealApiServerLifecycleTests(RealApiServerFixture fx) : PodLifecycleContract(fx);
