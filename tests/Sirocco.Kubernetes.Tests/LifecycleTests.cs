using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>Exit codes, start timeouts, XCom, kill and shutdown, against the local cluster.</summary>
[Collection("cluster")]
public sealed class LifecycleTests(ClusterFixture fx)
{
    private KubernetesPodOperator Pod(string taskId, string ns, string script) => fx.Pod(taskId, ns, script);

    [Fact]
    public async Task Non_zero_exit_fails_naming_pod_code_termination_message_and_last_lines()
    {
        var ns = await fx.NamespaceAsync("exit");
        var harness = new TryHarness();
        var op = Pod("fails", ns, "for i in $(seq 1 30); do echo out-$i; done; echo boom > /dev/termination-log; exit 3");

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        var name = harness.XComs[("fails", "pod_name")].GetString();
        Assert.StartsWith($"Pod {name} returned a failure: container 'base' exited with code 3 (Error). Termination message: boom", e.Message, StringComparison.Ordinal);
        Assert.Contains("Last 20 log lines:\nout-11\n", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("out-30", e.Message, StringComparison.Ordinal);
        Assert.Contains(harness.Log, l => l.StartsWith("Pod spec: ", StringComparison.Ordinal));
        Assert.DoesNotContain(await fx.PodsAsync(ns), p => p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task Registered_secrets_are_masked_in_the_container_output_and_failure_message()
    {
        var ns = await fx.NamespaceAsync("mask");
        var harness = new TryHarness();
        harness.Masker.Add("hunter2-very-secret");
        var op = Pod("masked", ns, "echo password=hunter2-very-secret; exit 1");

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.Contains("password=***", harness.Log);
        Assert.DoesNotContain(harness.Log, l => l.Contains("hunter2", StringComparison.Ordinal));
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unexpected_error_after_the_create_does_not_orphan_the_pod()
    {
        var ns = await fx.NamespaceAsync("orphan");
        var harness = new TryHarness { FailRecording = true };
        var op = Pod("orphan", ns, "sleep 30");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => harness.RunAsync(op));

        Assert.Equal("the metadata store is unavailable", e.Message);

        // Deleted, though its 30 s grace period may still run: `sh` as PID 1 ignores SIGTERM, so waiting for the pod
        // to be gone raced the 30 s the pod sleeps.
        Assert.Contains(harness.Log, l => l.StartsWith($"Deleting pod {ns}/", StringComparison.Ordinal));
        Assert.DoesNotContain(await fx.PodsAsync(ns), p => p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task Xcom_round_trip_to_a_downstream_task()
    {
        var ns = await fx.NamespaceAsync("xcom");
        var harness = new TryHarness();
        var producer = Pod("producer", ns, "echo '{\"rows\": [1, 2, 3], \"name\": \"x\"}' > /airflow/xcom/return.json");
        producer.DoXcomPush = true;

        var result = await harness.RunAsync(producer);

        Assert.True(result is JsonElement, harness.LogText);
        var value = (JsonElement)result;
        Assert.Equal(3, value.GetProperty("rows").GetArrayLength());
        var pulled = await harness.Context("consumer").Recorder.PullXComAsync("producer", XComEntry.ReturnValueKey, default);
        Assert.NotNull(pulled);
        var consumer = Pod("consumer", ns, "echo \"got $0\"");
        consumer.Arguments = [pulled.Value.GetProperty("name").GetString()!];
        await harness.RunAsync(consumer);
        Assert.Contains("got x", harness.Log);
    }

    [Fact]
    public async Task Xcom_empty_file_is_null_and_invalid_json_fails_with_the_first_bytes()
    {
        var ns = await fx.NamespaceAsync("xcom-bad");
        var harness = new TryHarness();
        var empty = Pod("empty", ns, "true");
        empty.DoXcomPush = true;
        var invalid = Pod("invalid", ns, "echo 'not json at all' > /airflow/xcom/return.json");
        invalid.DoXcomPush = true;

        Assert.Null(await harness.RunAsync(empty));
        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(invalid));

        Assert.Contains("/airflow/xcom/return.json is not valid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains("it begins with: not json at all", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xcom_is_pushed_even_when_the_base_container_fails()
    {
        var ns = await fx.NamespaceAsync("xcom-fail");
        var harness = new TryHarness();
        var op = Pod("partial", ns, "echo '[\"partial\"]' > /airflow/xcom/return.json; exit 1");
        op.DoXcomPush = true;

        await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.True(harness.XComs.ContainsKey(("partial", XComEntry.ReturnValueKey)), harness.LogText);
        Assert.Equal("partial", harness.XComs[("partial", XComEntry.ReturnValueKey)][0].GetString());
    }

    [Fact]
    public async Task Shutdown_leaves_the_pod_and_the_resumed_try_reattaches_without_a_second_pod()
    {
        var ns = await fx.NamespaceAsync("reattach");
        var harness = new TryHarness();
        var op = Pod("survivor", ns, "echo first; read line < /dev/null; sleep 2; echo second");
        op.OnFinishAction = OnFinishAction.KeepPod;
        using var shutdown = new CancellationTokenSource();

        var run = harness.RunAsync(op, shutdown: shutdown.Token);
        await WaitForLogAsync(harness, "first");
        await shutdown.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var external = harness.ExternalIds["survivor"];
        Assert.Single(await fx.PodsAsync(ns));

        await harness.RunAsync(op, resumedExternalId: external);

        Assert.Contains(harness.Log, l => l.StartsWith($"Reattaching to pod {external}", StringComparison.Ordinal));
        Assert.Contains("second", harness.Log);
        var pods = await fx.PodsAsync(ns);
        var pod = Assert.Single(pods);
        Assert.Equal(external, $"{ns}/{pod.Metadata.Name}");
        Assert.Equal("True", pod.Metadata.Labels["already_checked"]);
    }

    [Fact]
    public async Task Resumed_try_without_a_recorded_pod_finds_it_by_labels()
    {
        var ns = await fx.NamespaceAsync("bylabel");
        var harness = new TryHarness();
        var op = Pod("found", ns, "echo up; sleep 2; echo done");
        op.OnFinishAction = OnFinishAction.KeepPod;
        using var shutdown = new CancellationTokenSource();
        var run = harness.RunAsync(op, shutdown: shutdown.Token);
        await WaitForLogAsync(harness, "up");
        await shutdown.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        await harness.RunAsync(op);

        Assert.Single(await fx.PodsAsync(ns));
        Assert.Contains("done", harness.Log);

        // The kept pod is marked already_checked, so the next try does not attach to it.
        await harness.RunAsync(op);
        Assert.Equal(2, (await fx.PodsAsync(ns)).Count);
    }

    [Fact]
    public async Task A_callback_runs_in_its_own_pod_even_while_its_tasks_pod_of_the_same_try_is_still_listed()
    {
        // The race CI met: a task's pod, deleted or not yet seen gone, carries the very labels of the try whose
        // callback then starts; the callback must neither reattach to it nor adopt it by name.
        var ns = await fx.NamespaceAsync("callback");
        var harness = new TryHarness();
        var task = Pod("guarded", ns, "echo task-up; sleep 60");
        task.OnFinishAction = OnFinishAction.KeepPod;
        using var shutdown = new CancellationTokenSource();
        var run = harness.RunAsync(task, shutdown: shutdown.Token);
        await WaitForLogAsync(harness, "task-up");
        await shutdown.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var taskPod = Assert.Single(await fx.PodsAsync(ns));

        var callback = (KubernetesPodOperator)Pod("guarded", ns, "echo callback-ran").CloneForTry();
        var context = harness.Context("guarded").ForCallback("on_success_callback", exception: null);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await callback.ExecuteAsync(context, limit.Token);

        Assert.Contains("callback-ran", harness.Log);
        Assert.DoesNotContain(harness.Log, l => l.StartsWith("Reattaching", StringComparison.Ordinal) || l.Contains("already exists", StringComparison.Ordinal));
        var left = Assert.Single(await fx.PodsAsync(ns)); // the callback's pod was deleted; the task's is untouched
        Assert.Equal(taskPod.Metadata.Name, left.Metadata.Name);
        await fx.Client.CoreV1.DeleteNamespacedPodAsync(taskPod.Metadata.Name, ns, gracePeriodSeconds: 0);
    }

    [Fact]
    public async Task A_pod_evicted_for_its_ephemeral_storage_fails_the_try_at_once_saying_why()
    {
        var ns = await fx.NamespaceAsync("evicted");
        var harness = new TryHarness();
        var op = Pod("filler", ns, "head -c 3145728 /dev/zero > /tmp/fill; echo filled; sleep 600");
        op.ContainerResources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["ephemeral-storage"] = new("1Mi") } };
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
        Assert.Contains("exited with code 137", e.Message, StringComparison.Ordinal);
        Assert.Contains("The pod was ended by its node: Evicted: Pod ephemeral local storage usage exceeds the total limit of containers 1Mi.", e.Message, StringComparison.Ordinal);
        var events = await fx.Client.CoreV1.ListNamespacedEventAsync(ns);
        Assert.Contains(events.Items, ev => ev.Reason == "Evicted" && ev.Type == "Warning" && ev.Message.StartsWith("Pod ephemeral local storage usage exceeds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_and_invalid_config_file_are_clear_errors()
    {
        var harness = new TryHarness();
        var missing = new KubernetesPodOperator("cfg") { Image = "i", Cmds = ["true"], ConfigFile = "/nonexistent/kube_config" };
        var bad = Path.Combine(Path.GetTempPath(), "kpo-bad-kubeconfig-" + Guid.NewGuid().ToString("n")[..6]);
        await File.WriteAllTextAsync(bad, "this: [is not: a kubeconfig");
        var invalid = new KubernetesPodOperator("cfg") { Image = "i", Cmds = ["true"], ConfigFile = bad };
        try
        {
            var e1 = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(missing));
            var e2 = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(invalid));

            Assert.Equal("config_file '/nonexistent/kube_config' does not exist", e1.Message);
            Assert.StartsWith($"config_file '{bad}' is not a valid kubeconfig: ", e2.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public async Task Connection_extras_give_the_kubeconfig_and_the_namespace()
    {
        var ns = await fx.NamespaceAsync("conn");
        var harness = new TryHarness();
        harness.AddConnection(new Connections.Connection
        {
            ConnId = "kubernetes_default",
            ConnType = "kubernetes",
            Extra = JsonSerializer.Serialize(new { kube_config_path = fx.Kubeconfig, @namespace = ns }),
        });
        var op = new KubernetesPodOperator("via-conn") { Image = "i", Cmds = ["echo", "hello from conn"] };

        await harness.RunAsync(op);

        Assert.Contains("hello from conn", harness.Log);
        Assert.Equal(ns, harness.XComs[("via-conn", "pod_namespace")].GetString());
    }

    [Fact]
    public async Task Named_connection_that_does_not_exist_is_an_error()
    {
        var harness = new TryHarness();
        var op = new KubernetesPodOperator("t") { Image = "i", KubernetesConnId = "my_cluster" };
        var e = await Assert.ThrowsAsync<Connections.ConnectionNotFoundException>(() => harness.RunAsync(op));
        Assert.Equal("The conn_id `my_cluster` isn't defined", e.Message);
    }

    [Fact]
    public async Task Connection_extras_shape_the_xcom_sidecar_and_the_container_name_prefix_is_honoured()
    {
        var ns = await fx.NamespaceAsync("sidecar");
        var harness = new TryHarness();
        harness.AddConnection(new Connections.Connection
        {
            ConnId = "kubernetes_default",
            ConnType = "kubernetes",
            Extra = new JsonObject
            {
                ["kube_config_path"] = fx.Kubeconfig,
                ["namespace"] = ns,
                ["xcom_sidecar_container_resources"] = """{"requests": {"cpu": "5m", "memory": "12Mi"}, "limits": {"memory": "64Mi"}}""",
                ["xcom_sidecar_container_security_context"] = new JsonObject { ["allowPrivilegeEscalation"] = false, ["runAsNonRoot"] = false },
            }.ToJsonString(),
        });
        var op = new KubernetesPodOperator("shaped")
        {
            Image = "i",
            Cmds = ["sh", "-c", "echo prefixed; echo '[1]' > /airflow/xcom/return.json"],
            DoXcomPush = true,
            ContainerNameLogPrefixEnabled = true,
            OnFinishAction = OnFinishAction.KeepPod,
        };

        await harness.RunAsync(op);

        Assert.Contains("[base] prefixed", harness.Log);
        var pod = await fx.Client.CoreV1.ReadNamespacedPodAsync(harness.XComs[("shaped", "pod_name")].GetString(), ns);
        var sidecar = pod.Spec.Containers.Single(c => c.Name == "airflow-xcom-sidecar");
        Assert.Equal("5m", sidecar.Resources.Requests["cpu"].ToString());
        Assert.Equal("64Mi", sidecar.Resources.Limits["memory"].ToString());
        Assert.False(sidecar.SecurityContext.AllowPrivilegeEscalation);

        // A bad extra names the connection and the extra.
        harness.AddConnection(new Connections.Connection
        {
            ConnId = "kubernetes_default",
            ConnType = "kubernetes",
            Extra = new JsonObject { ["kube_config_path"] = fx.Kubeconfig, ["namespace"] = ns, ["xcom_sidecar_container_resources"] = "not json" }.ToJsonString(),
        });
        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(new KubernetesPodOperator("bad-extra") { Image = "i", Cmds = ["true"] }));
        Assert.Contains("connection 'kubernetes_default': extra 'xcom_sidecar_container_resources' must be a JSON object", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Log_formatter_and_progress_callback_see_every_line_and_a_failing_formatter_falls_back_once()
    {
        var ns = await fx.NamespaceAsync("formatter");
        var harness = new TryHarness();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var op = Pod("fmt", ns, "echo one; echo two; echo three");
        op.ContainerNameLogPrefixEnabled = true;
        op.LogFormatter = (container, line) => line == "three" ? throw new InvalidOperationException("no threes") : $"<{container}> {line.ToUpperInvariant()}";
        op.ProgressCallback = seen.Enqueue;

        await harness.RunAsync(op);

        Assert.Contains("<base> ONE", harness.Log);
        Assert.Contains("<base> TWO", harness.Log);
        Assert.DoesNotContain(harness.Log, l => l.EndsWith("] one", StringComparison.Ordinal));
        Assert.Single(harness.Log, l => l.StartsWith("log_formatter failed on a line of container base", StringComparison.Ordinal) && l.EndsWith("no threes", StringComparison.Ordinal));
        Assert.Contains("[base] three", harness.Log); // unformatted, with the default prefix, from then on
        Assert.Equal(["one", "two", "three"], seen);
    }

    [Fact]
    public async Task Several_containers_are_logged_with_their_name_and_events_on_failure()
    {
        var ns = await fx.NamespaceAsync("multi");
        var harness = new TryHarness();
        var op = Pod("multi", ns, "echo from-base; exit 2");
        op.ContainerLogs = ["*"];
        op.InitContainerLogs = ["*"];
        op.LogEventsOnFailure = true;
        op.InitContainers = [new k8s.Models.V1Container { Name = "prepare", Image = "busybox", Command = ["echo", "from-init"] }];
        op.FullPodSpec = new k8s.Models.V1Pod
        {
            Spec = new k8s.Models.V1PodSpec
            {
                Containers =
                [
                    new k8s.Models.V1Container { Name = "base" },
                    new k8s.Models.V1Container { Name = "helper", Image = "busybox", Command = ["echo", "from-helper"] },
                ],
            },
        };

        op.ContainerNameLogPrefixEnabled = null;
        await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.Contains("[prepare] from-init", harness.Log);
        Assert.Contains("[base] from-base", harness.Log);
        Assert.Contains("[helper] from-helper", harness.Log);
        var log = harness.Log.ToList();
        var started = log.FindIndex(l => l.EndsWith(" is Running", StringComparison.Ordinal) || l.EndsWith(" is Failed", StringComparison.Ordinal));
        Assert.Contains(log.Skip(started + 1), l => l.StartsWith("Pod event: Normal Scheduled", StringComparison.Ordinal));
    }

    internal static Task WaitForLogAsync(TryHarness harness, string line, int seconds = 30) =>
        harness.WaitForLogAsync(l => l == line, TimeSpan.FromSeconds(seconds));
}
