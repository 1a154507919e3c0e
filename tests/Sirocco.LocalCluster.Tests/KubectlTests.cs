using System.Diagnostics;
using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>kubectl 1.32 as an outside client, default flags, with the kubeconfig the cluster wrote.</summary>
[Collection("cluster")]
public sealed class KubectlTests(ClusterFixture fx)
{
    private const string PodYaml = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: ex-kube-secrets
          namespace: composer-user-workloads
          labels:
            app: secrets
        spec:
          restartPolicy: Never
          containers:
          - name: base
            image: ubuntu
            command: ["sh", "-c", "echo conn=$SQL_CONN; cat /var/secrets/google/service-account.json"]
            env:
            - name: SQL_CONN
              valueFrom:
                secretKeyRef:
                  name: airflow-secrets
                  key: sql_alchemy_conn
            volumeMounts:
            - name: secret-volume
              mountPath: /var/secrets/google
              readOnly: true
          volumes:
          - name: secret-volume
            secret:
              secretName: service-account
        """;

    private static void Ok((int Code, string Out, string Err) result)
    {
        Assert.True(result.Code == 0, $"kubectl failed ({result.Code}): {result.Err}");
    }

    [Fact]
    public async Task Composer_secrets_workflow_create_apply_get_logs_describe_delete()
    {
        const string Ns = "composer-user-workloads";
        await File.WriteAllTextAsync(Path.Combine(fx.Home, "key.json"), "{\"type\": \"service_account\"}\n");
        await File.WriteAllTextAsync(Path.Combine(fx.Home, "pod.yaml"), PodYaml);
        Ok(await fx.KubectlAsync("create", "namespace", Ns));
        Ok(await fx.KubectlAsync("create", "secret", "generic", "airflow-secrets", "--from-literal", "sql_alchemy_conn=test_value", "-n", Ns));
        Ok(await fx.KubectlAsync("create", "secret", "generic", "service-account", "--from-file", "service-account.json=./key.json", "-n", Ns));
        var secret = await fx.Client.CoreV1.ReadNamespacedSecretAsync("airflow-secrets", Ns);
        Assert.Equal("Opaque", secret.Type);
        Assert.Equal("test_value", System.Text.Encoding.UTF8.GetString(secret.Data["sql_alchemy_conn"]));

        var applied = await fx.KubectlAsync("apply", "-f", "pod.yaml");
        Ok(applied);
        Assert.Contains("pod/ex-kube-secrets created", applied.Out, StringComparison.Ordinal);
        await fx.WaitForPodAsync(Ns, "ex-kube-secrets", ClusterFixture.Done);
        // Re-applying sends only $setElementOrder directives (the live pod also has its kube-api-access volume).
        var again = await fx.KubectlAsync("apply", "-f", "pod.yaml");
        Ok(again);
        Assert.Matches("pod/ex-kube-secrets (unchanged|configured)", again.Out);
        await File.WriteAllTextAsync(Path.Combine(fx.Home, "pod.yaml"), PodYaml.Replace("app: secrets", "app: secrets2", StringComparison.Ordinal));
        Assert.Contains("configured", (await fx.KubectlAsync("apply", "-f", "pod.yaml")).Out, StringComparison.Ordinal);
        Assert.Equal("secrets2", (await fx.Client.CoreV1.ReadNamespacedPodAsync("ex-kube-secrets", Ns)).Metadata.Labels["app"]);

        var yaml = await fx.KubectlAsync("get", "pod", "ex-kube-secrets", "-n", Ns, "-o", "yaml");
        Ok(yaml);
        Assert.Contains("phase: Succeeded", yaml.Out, StringComparison.Ordinal);
        Assert.Contains("reason: Completed", yaml.Out, StringComparison.Ordinal);

        var logs = await fx.KubectlAsync("logs", "ex-kube-secrets", "-n", Ns);
        Ok(logs);
        Assert.Equal("conn=test_value\n{\"type\": \"service_account\"}\n", logs.Out);

        var describe = await fx.KubectlAsync("describe", "pod", "ex-kube-secrets", "-n", Ns);
        Ok(describe);
        Assert.Matches(@"Status:\s+Succeeded", describe.Out);
        foreach (var reason in new[] { "Scheduled", "Pulled", "Created", "Started" })
        {
            Assert.Matches($@"Normal\s+{reason}\s", describe.Out);
        }

        var table = await fx.KubectlAsync("get", "pods", "-n", Ns);
        Assert.Matches(@"ex-kube-secrets\s+0/1\s+Completed\s+0\s+", table.Out);

        Ok(await fx.KubectlAsync("delete", "pod", "ex-kube-secrets", "-n", Ns));
        var missing = await fx.KubectlAsync("get", "pod", "ex-kube-secrets", "-n", Ns);
        Assert.Equal(1, missing.Code);
        Assert.Contains("NotFound", missing.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_then_logs_follow_streams_until_the_container_ends()
    {
        var ns = await fx.NamespaceAsync("run");
        Ok(await fx.KubectlAsync("run", "counter", "-n", ns, "--image=busybox", "--restart=Never", "--command", "--", "sh", "-c", "echo start; sleep 1; echo end"));
        await fx.WaitForPodAsync(ns, "counter", p => p.Status?.Phase == "Running");
        var follow = await fx.KubectlAsync("logs", "-f", "counter", "-n", ns);
        Ok(follow);
        Assert.Equal("start\nend\n", follow.Out);
        var pod = await fx.Client.CoreV1.ReadNamespacedPodAsync("counter", ns);
        Assert.Equal("counter", pod.Metadata.Labels["run"]);
    }

    [Fact]
    public async Task Exec_passes_stdin_stdout_stderr_and_the_exit_code()
    {
        var ns = await fx.NamespaceAsync("exec");
        var pod = ClusterFixture.Pod("shell", "sleep", "600");
        pod.Spec.TerminationGracePeriodSeconds = 0;
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "shell", p => p.Status?.Phase == "Running");
        var result = await fx.KubectlAsync("exec", "shell", "-n", ns, "--", "sh", "-c", "echo out; echo err >&2; hostname; exit 3");
        Assert.Equal(3, result.Code);
        Assert.Equal("out\nshell\n", result.Out);
        Assert.Contains("err", result.Err, StringComparison.Ordinal);
        var echoed = await fx.KubectlWithInputAsync("hello through stdin", "exec", "-i", "shell", "-n", ns, "--", "cat");
        Ok(echoed);
        Assert.Equal("hello through stdin", echoed.Out);
        Ok(await fx.KubectlAsync("delete", "pod", "shell", "-n", ns));
    }

    [Fact]
    public async Task Get_pods_watch_prints_each_phase_change()
    {
        var ns = await fx.NamespaceAsync("getw");
        var start = new ProcessStartInfo("/usr/bin/kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--kubeconfig", fx.Cluster.KubeconfigPath, "get", "pods", "-w", "-n", ns })
        {
            start.ArgumentList.Add(a);
        }

        using var kubectl = Process.Start(start)!;
        try
        {
            // kubectl prints nothing for an empty namespace; wait until its watch is open on the server.
            var lines = new List<string>();
            await fx.Client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("watched", "sh", "-c", "echo done"), ns);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (await kubectl.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                lines.Add(line);
                if (line.Contains("Completed", StringComparison.Ordinal))
                {
                    break;
                }
            }

            Assert.Contains(lines, l => l.StartsWith("NAME", StringComparison.Ordinal) && l.Contains("STATUS", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("watched", StringComparison.Ordinal) && l.Contains("Completed", StringComparison.Ordinal));
        }
        finally
        {
            kubectl.Kill();
            await kubectl.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Bad_input_gets_the_real_errors()
    {
        var invalid = await fx.KubectlAsync("create", "namespace", "Bad_Name");
        Assert.Equal(1, invalid.Code);
        Assert.Contains("is invalid", invalid.Err, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(fx.Home, "bad.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata:
              name: bad-fields
            spec:
              containers:
              - name: c
                image: busybox
                command: ["true"]
                notAField: 1
            """);
        var strict = await fx.KubectlAsync("apply", "-f", "bad.yaml");
        Assert.Equal(1, strict.Code);
        Assert.Contains("unknown field \"spec.containers[0].notAField\"", strict.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubeconfig_is_accepted_by_kubectl_and_names_the_node()
    {
        var nodes = await fx.KubectlAsync("get", "nodes");
        Ok(nodes);
        Assert.Matches($@"{fx.Cluster.NodeName}\s+Ready", nodes.Out);
        var version = await fx.KubectlAsync("version");
        Ok(version);
        Assert.Contains("Server Version: v1.32", version.Out, StringComparison.Ordinal);
        Assert.Equal(V1Namespace.KubeKind, (await fx.Client.CoreV1.ReadNamespaceAsync("default")).Kind);
    }
}
