using System.Diagnostics;
using System.Text;
using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

[Collection("cluster")]
public sealed class KubeletTests(ClusterFixture fx)
{
    private readonly Kubernetes _client = fx.Client;

    [Fact]
    public async Task Perl_pi_pod_succeeds_with_2000_digits_in_its_log()
    {
        var ns = await fx.NamespaceAsync("pi");
        // The command of Kubernetes' own pi example. The host's perl 5.36 needs the kubelet's bignum shim for it.
        var pod = ClusterFixture.Pod("pi", "perl", "-Mbignum=bpi", "-wle", "print bpi(2000)");
        pod.Spec.Containers[0].Image = "perl:5.34.0";
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "pi", ClusterFixture.Done, 120); // CPU-heavy: generous on a loaded machine
        Assert.Equal("Succeeded", done.Status.Phase);
        var state = done.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal(0, state.ExitCode);
        Assert.Equal("Completed", state.Reason);
        var log = (await fx.LogAsync(ns, "pi")).Trim();
        Assert.StartsWith("3.14159265358979323846264338327950288419716939937510", log, StringComparison.Ordinal);
        Assert.Equal(2001, log.Length);
        Assert.EndsWith("08658326459958133904780275901", log, StringComparison.Ordinal);
        Assert.Contains(done.Status.Conditions, c => c.Type == "Ready" && c.Status == "False" && c.Reason == "PodCompleted");
        Assert.Contains(done.Status.Conditions, c => c.Type == "PodScheduled" && c.Status == "True");
        Assert.Equal("127.0.0.1", done.Status.PodIP); // its own loopback (PodNetworkTests)
        Assert.NotNull(done.Status.StartTime);
    }

    [Fact]
    public async Task Containers_run_below_the_control_plane_in_a_low_weight_cpu_group_or_at_nice_10()
    {
        var ns = await fx.NamespaceAsync("cpu");
        // Field 19 of /proc/self/stat is the nice value; /proc/self/cgroup names the cpu cgroup.
        await _client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("prio", "sh", "-c", "cat /proc/self/cgroup; cut -d' ' -f19 /proc/self/stat"), ns);
        var done = await fx.WaitForPodAsync(ns, "prio", ClusterFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);
        var lines = (await fx.LogAsync(ns, "prio")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var cpu = lines.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("cpu"));
        if (File.Exists("/sys/fs/cgroup/cpu/cpu.shares") && File.ReadAllText("/proc/self/cgroup").Contains(":cpu", StringComparison.Ordinal))
        {
            // cgroup v1 with the cpu controller (this machine and CI): the container is in the cluster's group.
            Assert.NotNull(cpu);
            Assert.Matches(@"/sirocco-[^/]+-\d+$", cpu[2]);
            Assert.Equal("128", File.ReadAllText(Path.Join("/sys/fs/cgroup/cpu", cpu[2], "cpu.shares")).Trim());
        }
        else
        {
            Assert.Equal("10", lines[^1]);
        }
    }

    [Fact]
    public async Task Pod_exiting_3_is_failed_with_exit_code_3_and_reason_error()
    {
        var ns = await fx.NamespaceAsync("exit3");
        var pod = ClusterFixture.Pod("three", "sh", "-c", "echo failing; echo boom > /dev/termination-log; exit 3");
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "three", ClusterFixture.Done);
        Assert.Equal("Failed", done.Status.Phase);
        var terminated = done.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal(3, terminated.ExitCode);
        Assert.Equal("Error", terminated.Reason);
        Assert.Equal("boom\n", terminated.Message);
        Assert.Equal("failing\n", await fx.LogAsync(ns, "three"));
    }

    [Fact]
    public async Task Secret_env_var_and_secret_volume_are_seen_at_the_right_name_and_path()
    {
        var ns = await fx.NamespaceAsync("secret");
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new() { Name = "airflow-secrets" },
            StringData = new Dictionary<string, string> { ["sql_alchemy_conn"] = "test_value" },
        }, ns);
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new() { Name = "service-account" },
            Data = new Dictionary<string, byte[]> { ["service-account.json"] = Encoding.UTF8.GetBytes("{\"key\":1}") },
        }, ns);
        var pod = ClusterFixture.Pod("reader", "sh", "-c", "echo \"env=$SQL_CONN\"; cat /var/secrets/google/service-account.json; echo; stat -c %a /var/secrets/google/service-account.json; touch /var/secrets/google/x 2>/dev/null || echo read-only");
        pod.Spec.Containers[0].Env = [new V1EnvVar { Name = "SQL_CONN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "airflow-secrets", Key = "sql_alchemy_conn" } } }];
        pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "secret-volume", MountPath = "/var/secrets/google", ReadOnlyProperty = true }];
        pod.Spec.Volumes = [new V1Volume { Name = "secret-volume", Secret = new V1SecretVolumeSource { SecretName = "service-account", DefaultMode = 256 } }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "reader", ClusterFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal("env=test_value\n{\"key\":1}\n400\nread-only\n", await fx.LogAsync(ns, "reader"));
    }

    [Fact]
    public async Task Pod_waiting_on_a_missing_secret_starts_within_2s_of_its_creation()
    {
        var ns = await fx.NamespaceAsync("wait");
        var pod = ClusterFixture.Pod("waiter", "sh", "-c", "echo got=$V");
        pod.Spec.Containers[0].Env = [new V1EnvVar { Name = "V", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "airflow-secrets", Key = "k" } } }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var waiting = await fx.WaitForPodAsync(ns, "waiter", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Waiting?.Reason == "CreateContainerConfigError");
        Assert.Equal("secret \"airflow-secrets\" not found", waiting.Status.ContainerStatuses.Single().State.Waiting.Message);
        Assert.Equal("Pending", waiting.Status.Phase);
        var events = await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.name=waiter,reason=Failed");
        Assert.Contains(events.Items, e => e.Message == "Error: secret \"airflow-secrets\" not found" && e.Type == "Warning");

        var clock = Stopwatch.StartNew();
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "airflow-secrets" }, StringData = new Dictionary<string, string> { ["k"] = "v1" } }, ns);
        await fx.WaitForPodAsync(ns, "waiter", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Running is not null || ClusterFixture.Done(p), 2);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        await fx.WaitForPodAsync(ns, "waiter", ClusterFixture.Done);
        Assert.Equal("got=v1\n", await fx.LogAsync(ns, "waiter"));
    }

    [Fact]
    public async Task Env_expansion_field_refs_config_maps_and_env_from()
    {
        var ns = await fx.NamespaceAsync("env");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "cfg" }, Data = new Dictionary<string, string> { ["COLOR"] = "blue", ["size"] = "L" } }, ns);
        var pod = ClusterFixture.Pod("env", "sh", "-c", "echo \"$GREETING|$POD|$NS|$APP|$NODE|$SIZE|$CFG_COLOR|$MISSING_OK|$CPU\"; echo \"$0\"", "$(GREETING)");
        pod.Metadata.Labels = new Dictionary<string, string> { ["app"] = "demo" };
        var main = pod.Spec.Containers[0];
        main.Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("250m") } };
        main.EnvFrom = [new V1EnvFromSource { Prefix = "CFG_", ConfigMapRef = new V1ConfigMapEnvSource { Name = "cfg" } }];
        main.Env =
        [
            new() { Name = "WHO", Value = "world" },
            new() { Name = "GREETING", Value = "hello $(WHO) $$(WHO) $(NOPE)" },
            new() { Name = "POD", ValueFrom = new() { FieldRef = new() { FieldPath = "metadata.name" } } },
            new() { Name = "NS", ValueFrom = new() { FieldRef = new() { FieldPath = "metadata.namespace" } } },
            new() { Name = "APP", ValueFrom = new() { FieldRef = new() { FieldPath = "metadata.labels['app']" } } },
            new() { Name = "NODE", ValueFrom = new() { FieldRef = new() { FieldPath = "spec.nodeName" } } },
            new() { Name = "SIZE", ValueFrom = new() { ConfigMapKeyRef = new() { Name = "cfg", Key = "size" } } },
            new() { Name = "MISSING_OK", ValueFrom = new() { SecretKeyRef = new() { Name = "absent", Key = "k", Optional = true } } },
            new() { Name = "CPU", ValueFrom = new() { ResourceFieldRef = new() { Resource = "limits.cpu", Divisor = new("1m") } } },
        ];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "env", ClusterFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal($"hello world $(WHO) $(NOPE)|env|{ns}|demo|{fx.Cluster.NodeName}|L|blue||250\nhello world $(WHO) $(NOPE)\n", await fx.LogAsync(ns, "env"));
    }

    [Fact]
    public async Task Volumes_mount_at_new_paths_under_the_read_only_etc_and_usr_and_the_hosts_files_stay_visible()
    {
        // The commonest pattern in real manifests: configuration mounted under /etc, at a folder the host lacks.
        var ns = await fx.NamespaceAsync("etc-mounts");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "hx" }, Data = new Dictionary<string, string> { ["hx.conf"] = "level=3" } }, ns);
        var newUnderSsl = $"/etc/ssl/sirocco-{Guid.NewGuid():n}/deeper";
        var newUnderUsr = $"/usr/local/share/sirocco-{Guid.NewGuid():n}";
        var pod = ClusterFixture.Pod(
            "etc",
            "sh",
            "-c",
            $"cat /etc/hx/hx.conf; echo; test -s /etc/passwd && echo passwd; test -d /etc/ssl/certs && echo certs; echo written > {newUnderSsl}/f && cat {newUnderSsl}/f; ls {newUnderUsr}; test -x /usr/bin/env && echo usr");
        pod.Spec.Volumes = [new() { Name = "hx", ConfigMap = new() { Name = "hx" } }, new() { Name = "scratch", EmptyDir = new() }, new() { Name = "share", ConfigMap = new() { Name = "hx" } }];
        pod.Spec.Containers[0].VolumeMounts =
        [
            new() { Name = "hx", MountPath = "/etc/hx" },
            new() { Name = "scratch", MountPath = newUnderSsl },
            new() { Name = "share", MountPath = newUnderUsr },
        ];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "etc", ClusterFixture.Done);
        var log = await fx.LogAsync(ns, "etc");
        Assert.True(done.Status.Phase == "Succeeded", log);
        Assert.Equal("level=3\npasswd\ncerts\nwritten\nhx.conf\nusr\n", log);
        Assert.False(Path.Exists("/etc/hx"), "the host's /etc was changed");
        Assert.False(Path.Exists(Path.GetDirectoryName(newUnderSsl)), "the host's /etc/ssl was changed");
        Assert.False(Path.Exists(newUnderUsr), "the host's /usr was changed");
    }

    [Fact]
    public async Task A_container_has_its_own_session_and_no_capabilities_unless_privileged()
    {
        // Privileged containers need a namespace whose Pod Security level allows them.
        var ns = await fx.NamespaceAsync("caps", new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "privileged" });
        const string probe = "grep CapEff /proc/self/status; echo sid=$(awk '{print $6}' /proc/1/stat); unshare -U true 2>/dev/null && echo nested-userns || echo no-nested-userns";
        var pod = ClusterFixture.Pod("caps", "sh", "-c", probe + "; sleep 30");
        pod.Spec.Containers.Add(new V1Container { Name = "privileged", Image = "busybox", Command = ["sh", "-c", probe], SecurityContext = new V1SecurityContext { Privileged = true } });
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "caps", p => p.Status?.ContainerStatuses?.Any(c => c.Name == "privileged" && c.State?.Terminated is not null) == true);

        // exec'd commands get the container's capabilities, not the cluster's.
        var output = new StringBuilder();
        await _client.NamespacedPodExecAsync("caps", ns, pod.Spec.Containers[0].Name, ["grep", "CapEff", "/proc/self/status"], false, async (_, stdout, _) =>
        {
            using var reader = new StreamReader(stdout);
            output.Append(await reader.ReadToEndAsync());
        }, CancellationToken.None);
        var exec = output.ToString();

        // The plain container keeps running (it sleeps): its probe's last line may not be written yet under load.
        var plain = "";
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !plain.Contains("userns", StringComparison.Ordinal) && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            plain = await fx.LogAsync(ns, "caps", pod.Spec.Containers[0].Name);
        }

        var privileged = await fx.LogAsync(ns, "caps", "privileged");
        await _client.CoreV1.DeleteNamespacedPodAsync("caps", ns, new V1DeleteOptions { GracePeriodSeconds = 0 });

        Assert.Contains("CapEff:\t0000000000000000", plain, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t0000000000000000", exec, StringComparison.Ordinal);
        Assert.Contains("sid=1\n", plain, StringComparison.Ordinal);
        Assert.Contains("sid=1\n", privileged, StringComparison.Ordinal);
        if (Environment.IsPrivilegedProcess)
        {
            // Run as root, the cluster gives a plain container a user namespace of its own, without nested ones.
            Assert.Contains("no-nested-userns", plain, StringComparison.Ordinal);
            Assert.DoesNotContain("CapEff:\t0000000000000000", privileged, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Init_containers_run_first_and_share_an_empty_dir_with_main_containers()
    {
        var ns = await fx.NamespaceAsync("init");
        var pod = new V1Pod
        {
            Metadata = new() { Name = "init" },
            Spec = new()
            {
                RestartPolicy = "Never",
                Volumes = [new() { Name = "work", EmptyDir = new() }, new() { Name = "info", DownwardAPI = new() { Items = [new() { Path = "name", FieldRef = new() { FieldPath = "metadata.name" } }] } }],
                InitContainers =
                [
                    new() { Name = "first", Image = "busybox", Command = ["sh", "-c", "echo one > /work/order"], VolumeMounts = [new() { Name = "work", MountPath = "/work" }] },
                    new() { Name = "second", Image = "busybox", Command = ["sh", "-c", "echo two >> /work/order"], VolumeMounts = [new() { Name = "work", MountPath = "/work" }] },
                ],
                Containers =
                [
                    new() { Name = "main", Image = "busybox", Command = ["sh", "-c", "cat /data/order; cat /meta/name; echo; echo x > /data/sub/file"], VolumeMounts = [new() { Name = "work", MountPath = "/data" }, new() { Name = "info", MountPath = "/meta" }, new() { Name = "work", MountPath = "/data/sub", SubPath = "nested" }] },
                ],
            },
        };
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "init", ClusterFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.All(done.Status.InitContainerStatuses, s => Assert.Equal("Completed", s.State.Terminated.Reason));
        Assert.Equal("one\ntwo\ninit\n", await fx.LogAsync(ns, "init", "main"));
    }

    [Fact]
    public async Task Sidecar_serves_the_main_container_and_exec_reads_the_xcom_file()
    {
        var ns = await fx.NamespaceAsync("xcom");
        var pod = new V1Pod
        {
            Metadata = new() { Name = "xcom" },
            Spec = new()
            {
                RestartPolicy = "Never",
                Volumes = [new() { Name = "xcom", EmptyDir = new() }],
                Containers =
                [
                    new() { Name = "base", Image = "busybox", Command = ["sh", "-c", "echo '{\"answer\": 42}' > /airflow/xcom/return.json"], VolumeMounts = [new() { Name = "xcom", MountPath = "/airflow/xcom" }] },
                    new() { Name = "airflow-xcom-sidecar", Image = "alpine", Command = ["sh", "-c", "trap \"exit 0\" INT; while true; do sleep 1; done;"], VolumeMounts = [new() { Name = "xcom", MountPath = "/airflow/xcom" }] },
                ],
            },
        };
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "xcom", p => p.Status?.ContainerStatuses?.SingleOrDefault(c => c.Name == "base")?.State?.Terminated is not null);
        var output = new StringBuilder();
        var exit = await _client.NamespacedPodExecAsync("xcom", ns, "airflow-xcom-sidecar", ["cat", "/airflow/xcom/return.json"], false, async (stdin, stdout, stderr) =>
        {
            using var reader = new StreamReader(stdout);
            output.Append(await reader.ReadToEndAsync());
        }, CancellationToken.None);
        Assert.Equal(0, exit);
        Assert.Equal("{\"answer\": 42}\n", output.ToString());

        var failing = await _client.NamespacedPodExecAsync("xcom", ns, "airflow-xcom-sidecar", ["sh", "-c", "exit 7"], false, (_, _, _) => Task.CompletedTask, CancellationToken.None);
        Assert.Equal(7, failing);

        // The operator stops the sidecar with SIGINT to its pid 1, which the trap turns into exit 0.
        await _client.NamespacedPodExecAsync("xcom", ns, "airflow-xcom-sidecar", ["kill", "-s", "SIGINT", "1"], false, (_, _, _) => Task.CompletedTask, CancellationToken.None);
        var done = await fx.WaitForPodAsync(ns, "xcom", ClusterFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);
    }

    [Fact]
    public async Task Exec_the_moment_a_container_runs_already_sees_its_volumes()
    {
        // Exec must not enter the sandbox between bubblewrap's fork and its mounts: ten fresh pods, each probed the
        // moment it reports Running, must all see the file their configMap volume provides.
        var ns = await fx.NamespaceAsync("exec-race");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "data" }, Data = new Dictionary<string, string> { ["probe.txt"] = "mounted" } }, ns);
        for (var i = 0; i < 10; i++)
        {
            var name = $"fresh-{i}";
            var pod = ClusterFixture.Pod(name, "sh", "-c", "trap 'exit 0' INT TERM; while true; do sleep 1; done");
            pod.Spec.Volumes = [new() { Name = "data", ConfigMap = new() { Name = "data" } }];
            pod.Spec.Containers[0].VolumeMounts = [new() { Name = "data", MountPath = "/data" }];
            await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
            await fx.WaitForPodAsync(ns, name, p => p.Status?.Phase == "Running");
            var output = new StringBuilder();
            var exit = await _client.NamespacedPodExecAsync(name, ns, "main", ["cat", "/data/probe.txt"], false, async (_, stdout, _) =>
            {
                using var reader = new StreamReader(stdout);
                output.Append(await reader.ReadToEndAsync());
            }, CancellationToken.None);
            Assert.Equal(0, exit);
            Assert.Equal("mounted", output.ToString());
            await _client.CoreV1.DeleteNamespacedPodAsync(name, ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
        }
    }

    [Fact]
    public async Task Unmatchable_node_selector_and_huge_requests_stay_pending_with_failed_scheduling()
    {
        var ns = await fx.NamespaceAsync("sched");
        var selector = ClusterFixture.Pod("selector", "true");
        selector.Spec.NodeSelector = new Dictionary<string, string> { ["disktype"] = "ssd" };
        var huge = ClusterFixture.Pod("huge", "true");
        huge.Spec.Containers[0].Resources = new() { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("512") } };
        var affinity = ClusterFixture.Pod("affinity", "true");
        affinity.Spec.Affinity = new() { NodeAffinity = new() { RequiredDuringSchedulingIgnoredDuringExecution = new() { NodeSelectorTerms = [new() { MatchExpressions = [new() { Key = "kubernetes.io/os", OperatorProperty = "In", Values = ["windows"] }] }] } } };
        var fits = ClusterFixture.Pod("fits", "true");
        fits.Spec.Affinity = new() { NodeAffinity = new() { RequiredDuringSchedulingIgnoredDuringExecution = new() { NodeSelectorTerms = [new() { MatchExpressions = [new() { Key = "kubernetes.io/os", OperatorProperty = "In", Values = ["linux"] }] }] } } };
        foreach (var p in new[] { selector, huge, affinity, fits })
        {
            await _client.CoreV1.CreateNamespacedPodAsync(p, ns);
        }

        foreach (var name in new[] { "selector", "huge", "affinity" })
        {
            var pending = await fx.WaitForPodAsync(ns, name, p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Reason == "Unschedulable") == true);
            Assert.Equal("Pending", pending.Status.Phase);
            Assert.Null(pending.Spec.NodeName);
        }

        var events = await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "reason=FailedScheduling");
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "selector" && e.Message.Contains("didn't match Pod's node affinity/selector", StringComparison.Ordinal));
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "huge" && e.Message.Contains("Insufficient cpu", StringComparison.Ordinal));
        var ok = await fx.WaitForPodAsync(ns, "fits", ClusterFixture.Done);
        Assert.Equal("Succeeded", ok.Status.Phase);
    }

    [Fact]
    public async Task Delete_sends_sigterm_then_the_pod_disappears_with_a_killing_event()
    {
        var ns = await fx.NamespaceAsync("delete");
        var pod = ClusterFixture.Pod("graceful", "sh", "-c", "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done");
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var running = await fx.WaitForPodAsync(ns, "graceful", p => p.Status?.Phase == "Running");
        var stubborn = ClusterFixture.Pod("stubborn", "sleep", "600");
        stubborn.Spec.TerminationGracePeriodSeconds = 1;
        await _client.CoreV1.CreateNamespacedPodAsync(stubborn, ns);
        await fx.WaitForPodAsync(ns, "stubborn", p => p.Status?.Phase == "Running");

        var before = await _client.CoreV1.ListNamespacedPodAsync(ns);
        using var http = fx.Http();
        using var follow = await http.GetAsync($"/api/v1/namespaces/{ns}/pods/graceful/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
        using (var reader = new StreamReader(await follow.Content.ReadAsStreamAsync()))
        {
            Assert.Equal("ready", await reader.ReadLineAsync());
            var deleted = await _client.CoreV1.DeleteNamespacedPodAsync("graceful", ns);
            Assert.NotNull(deleted.Metadata.DeletionTimestamp);
            Assert.Equal("got-term\n", await reader.ReadToEndAsync());
        }

        var clock = Stopwatch.StartNew();
        await _client.CoreV1.DeleteNamespacedPodAsync("stubborn", ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var gone = new HashSet<string>();
        await foreach (var (type, p) in _client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: before.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            if (type == WatchEventType.Deleted)
            {
                gone.Add(p.Metadata.Name);
            }

            if (gone.Count == 2)
            {
                break;
            }
        }

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), "sleep ignores SIGTERM as pid 1 and is killed after the grace period");
        var events = await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "reason=Killing");
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "graceful" && e.Message == "Stopping container main");
        Assert.NotNull(running);
    }

    [Fact]
    public async Task Logs_honour_tail_lines_timestamps_and_limit_bytes()
    {
        var ns = await fx.NamespaceAsync("logs");
        await _client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("lines", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; echo err >&2; printf partial"), ns);
        await fx.WaitForPodAsync(ns, "lines", ClusterFixture.Done);
        async Task<string> Read(int? tail = null, bool timestamps = false, int? limit = null)
        {
            using var s = await _client.CoreV1.ReadNamespacedPodLogAsync("lines", ns, tailLines: tail, timestamps: timestamps, limitBytes: limit);
            using var r = new StreamReader(s);
            return await r.ReadToEndAsync();
        }

        Assert.Equal("line1\nline2\nline3\nline4\nline5\nerr\npartial", await Read());
        Assert.Equal("err\npartial", await Read(tail: 2));
        Assert.Equal("line1\nli", await Read(limit: 8));
        var stamped = (await Read(tail: 1, timestamps: true)).Split(' ', 2);
        Assert.True(DateTimeOffset.TryParse(stamped[0], System.Globalization.CultureInfo.InvariantCulture, out _), stamped[0]);
        Assert.EndsWith("Z", stamped[0], StringComparison.Ordinal);
        Assert.Equal("partial", stamped[1]);
    }

    [Fact]
    public async Task Container_without_command_fails_to_create_unless_the_image_is_mapped()
    {
        var ns = await fx.NamespaceAsync("nocmd");
        var pod = ClusterFixture.Pod("nocmd");
        pod.Spec.Containers[0].Command = null;
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var waiting = await fx.WaitForPodAsync(ns, "nocmd", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Waiting?.Reason == "CreateContainerError");
        Assert.Contains("command", waiting.Status.ContainerStatuses.Single().State.Waiting.Message, StringComparison.Ordinal);

        var mapped = ClusterFixture.Pod("mapped");
        mapped.Spec.Containers[0].Command = null;
        mapped.Spec.Containers[0].Image = "docker.io/sirocco/echo:1.0@sha256:0123";
        mapped.Spec.Containers[0].Args = ["and-args"];
        await _client.CoreV1.CreateNamespacedPodAsync(mapped, ns);
        await fx.WaitForPodAsync(ns, "mapped", ClusterFixture.Done);
        Assert.Equal("from-entrypoint and-args\n", await fx.LogAsync(ns, "mapped"));
    }

    [Fact]
    public async Task Active_deadline_fails_the_pod_with_deadline_exceeded()
    {
        var ns = await fx.NamespaceAsync("deadline");
        var pod = ClusterFixture.Pod("late", "sleep", "600");
        pod.Spec.ActiveDeadlineSeconds = 1;
        pod.Spec.TerminationGracePeriodSeconds = 0;
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "late", ClusterFixture.Done);
        Assert.Equal("Failed", done.Status.Phase);
        Assert.Equal("DeadlineExceeded", done.Status.Reason);
    }

    [Fact]
    public async Task Missing_executable_is_a_start_error()
    {
        var ns = await fx.NamespaceAsync("missing");
        await _client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("nope", "no-such-binary-here"), ns);
        var done = await fx.WaitForPodAsync(ns, "nope", ClusterFixture.Done);
        var terminated = done.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal("StartError", terminated.Reason);
        Assert.Equal(128, terminated.ExitCode);
    }

    [Fact]
    public async Task Host_path_that_does_not_exist_is_never_created()
    {
        var ns = await fx.NamespaceAsync("hostpath", new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "privileged" });
        var missing = Path.Combine(fx.Home, "not-here-" + Guid.NewGuid().ToString("n"));
        var pod = ClusterFixture.Pod("hp", "true");
        pod.Spec.Volumes = [new() { Name = "h", HostPath = new() { Path = missing } }];
        pod.Spec.Containers[0].VolumeMounts = [new() { Name = "h", MountPath = "/h" }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var (_, e) in _client.CoreV1.WatchListNamespacedEventAsync(ns, fieldSelector: "reason=FailedMount", cancellationToken: cts.Token))
        {
            Assert.Contains(missing, e.Message, StringComparison.Ordinal);
            break;
        }

        Assert.False(Path.Exists(missing));
    }

    [Fact]
    public async Task Memory_limit_is_enforced_and_reported_as_oom_killed()
    {
        var ns = await fx.NamespaceAsync("oom");
        var pod = ClusterFixture.Pod("hog", "perl", "-e", "my $x = 'a' x (200 * 1024 * 1024); print length($x), qq(\n);");
        pod.Spec.Containers[0].Resources = new() { Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") } };
        var small = ClusterFixture.Pod("small", "perl", "-e", "my $x = 'a' x (1024 * 1024); print length($x), qq(\n);");
        small.Spec.Containers[0].Resources = new() { Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") } };
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await _client.CoreV1.CreateNamespacedPodAsync(small, ns);
        var done = await fx.WaitForPodAsync(ns, "hog", ClusterFixture.Done);
        var terminated = done.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal("OOMKilled", terminated.Reason);
        Assert.Equal(137, terminated.ExitCode);
        Assert.Equal("Failed", done.Status.Phase);
        Assert.Equal("Succeeded", (await fx.WaitForPodAsync(ns, "small", ClusterFixture.Done)).Status.Phase);
        Assert.Equal("1048576\n", await fx.LogAsync(ns, "small"));
    }

    [Fact]
    public async Task Cpu_limit_holds_a_busy_container_to_its_quota()
    {
        // 100m is 10 ms of CPU per 100 ms: spinning for 1.5 s of wall time gets about 0.15 s of CPU. One container has
        // a CPU limit only, the other a memory limit too (it joins both of its groups).
        var ns = await fx.NamespaceAsync("cpu");
        var pod = ClusterFixture.Pod("spin", "python3", "-c", "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass\nprint(round(time.process_time(), 2))");
        var cpuOnly = pod.Spec.Containers[0];
        cpuOnly.Resources = new() { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m") } };
        pod.Spec.Containers.Add(new V1Container
        {
            Name = "both",
            Image = cpuOnly.Image,
            Command = cpuOnly.Command,
            Resources = new() { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("256Mi") } },
        });
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "spin", ClusterFixture.Done);
        Assert.True(done.Status.Phase == "Succeeded", string.Join(", ", done.Status.ContainerStatuses.Select(c => c.State.Terminated?.Message)));
        foreach (var container in new[] { cpuOnly.Name, "both" })
        {
            using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync("spin", ns, container: container);
            var log = await new StreamReader(stream).ReadToEndAsync();
            var used = double.Parse(log, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(used, 0.01, 0.45);
        }
    }

    [Fact]
    public async Task On_failure_restarts_after_back_off_and_keeps_the_previous_log()
    {
        var ns = await fx.NamespaceAsync("restart");
        var pod = ClusterFixture.Pod("flaky", "sh", "-c", "if [ -f /state/ran ]; then echo second; exit 0; fi; touch /state/ran; echo first; exit 1");
        pod.Spec.RestartPolicy = "OnFailure";
        pod.Spec.Volumes = [new() { Name = "state", EmptyDir = new() }];
        pod.Spec.Containers[0].VolumeMounts = [new() { Name = "state", MountPath = "/state" }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var backingOff = await fx.WaitForPodAsync(ns, "flaky", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Waiting?.Reason == "CrashLoopBackOff");
        Assert.Equal("Running", backingOff.Status.Phase);
        Assert.Equal(1, backingOff.Status.ContainerStatuses.Single().LastState.Terminated.ExitCode);
        var done = await fx.WaitForPodAsync(ns, "flaky", ClusterFixture.Done, 40);
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal(1, done.Status.ContainerStatuses.Single().RestartCount);
        Assert.Equal("second\n", await fx.LogAsync(ns, "flaky"));
        using var previous = await _client.CoreV1.ReadNamespacedPodLogAsync("flaky", ns, previous: true);
        using var reader = new StreamReader(previous);
        Assert.Equal("first\n", await reader.ReadToEndAsync());
        var events = await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "reason=BackOff");
        Assert.Single(events.Items);
    }

    [Fact]
    public async Task Failing_init_container_fails_a_never_restarting_pod_before_the_main_containers()
    {
        var ns = await fx.NamespaceAsync("initfail");
        var pod = ClusterFixture.Pod("blocked", "sh", "-c", "echo main-ran");
        pod.Spec.InitContainers = [new V1Container { Name = "check", Image = "busybox", Command = ["sh", "-c", "echo checking; exit 1"] }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "blocked", ClusterFixture.Done);
        Assert.Equal("Failed", done.Status.Phase);
        Assert.Equal(1, done.Status.InitContainerStatuses.Single().State.Terminated.ExitCode);
        Assert.Equal("PodInitializing", done.Status.ContainerStatuses.Single().State.Waiting.Reason);
        Assert.Contains(done.Status.Conditions, c => c.Type == "Initialized" && c.Status == "False" && c.Reason == "ContainersNotInitialized");
        Assert.Equal("checking\n", await fx.LogAsync(ns, "blocked", "check"));
        var table = await fx.KubectlAsync("get", "pod", "blocked", "-n", ns);
        Assert.Matches(@"blocked\s+0/1\s+Init:Error\s+0", table.Out);
    }

    [Fact]
    public async Task Pod_waiting_for_cpu_is_scheduled_when_another_pod_frees_it()
    {
        var ns = await fx.NamespaceAsync("free");
        var big = ClusterFixture.Pod("big", "sleep", "600");
        big.Spec.TerminationGracePeriodSeconds = 0;
        big.Spec.Containers[0].Resources = new() { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture)) } };
        await _client.CoreV1.CreateNamespacedPodAsync(big, ns);
        await fx.WaitForPodAsync(ns, "big", p => p.Status?.Phase == "Running");
        var small = ClusterFixture.Pod("small", "echo", "finally");
        small.Spec.Containers[0].Resources = new() { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m") } };
        await _client.CoreV1.CreateNamespacedPodAsync(small, ns);
        var pending = await fx.WaitForPodAsync(ns, "small", p => p.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true);
        Assert.Contains("Insufficient cpu", pending.Status.Conditions.Single(c => c.Type == "PodScheduled").Message, StringComparison.Ordinal);
        await _client.CoreV1.DeleteNamespacedPodAsync("big", ns, gracePeriodSeconds: 0);
        var done = await fx.WaitForPodAsync(ns, "small", ClusterFixture.Done);
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal(fx.Cluster.NodeName, done.Spec.NodeName);
    }

    [Fact]
    public async Task Pods_get_a_service_account_volume_that_in_cluster_clients_use()
    {
        var ns = await fx.NamespaceAsync("incluster");
        // The pod's token is its service account's, which may read pods once bound to view (RBAC denies by default).
        await _client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "viewers" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "view" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "default", NamespaceProperty = ns }],
        }, ns);
        var pod = ClusterFixture.Pod("client", "sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; kubectl get pod client -o 'jsonpath={.metadata.name}'");
        var created = await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var volume = Assert.Single(created.Spec.Volumes);
        Assert.StartsWith("kube-api-access-", volume.Name, StringComparison.Ordinal);
        Assert.Equal(3, volume.Projected.Sources.Count);
        Assert.Contains(created.Spec.Containers[0].VolumeMounts, m => m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" && m.ReadOnlyProperty == true);
        var done = await fx.WaitForPodAsync(ns, "client", ClusterFixture.Done);
        var log = await fx.LogAsync(ns, "client");
        Assert.True(done.Status.Phase == "Succeeded", log);
        Assert.Equal($"{ns}\nclient", log);

        var opted = ClusterFixture.Pod("opted-out", "true");
        opted.Spec.AutomountServiceAccountToken = false;
        Assert.Null((await _client.CoreV1.CreateNamespacedPodAsync(opted, ns)).Spec.Volumes);
    }
}
