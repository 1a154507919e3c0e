using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sirocco.Cli.Tests;

/// <summary>
/// The seed page's "connection refused" case through the real program: an Airflow DAG file whose KubernetesPodOperator
/// names a kubeconfig for an API server that refuses connections (a stale kubeconfig, a cluster being upgraded).
/// `sirocco tasks test` logs every retry and fails once <c>[kubernetes] api_retry_budget_seconds</c> is spent, instead
/// of hanging without a word.
/// </summary>
public sealed class UnreachableClusterTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-unreachable-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Tasks_test_against_a_refused_api_server_logs_each_retry_and_fails_after_the_budget()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var kubeconfig = Path.Combine(_home, "stale_kube_config");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: gone
              cluster: {"{"}server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true{"}"}
            users:
            - name: someone
              user: {"{"}token: "stale-token-value"{"}"}
            contexts:
            - name: gone
              context: {"{"}cluster: gone, user: someone{"}"}
            current-context: gone
            """);
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "stale.py"), $"""
            import datetime

            from airflow import models
            from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

            with models.DAG(
                dag_id="stale_cluster",
                schedule_interval=datetime.timedelta(days=1),
                start_date=datetime.datetime(2024, 1, 1),
            ) as dag:
                KubernetesPodOperator(
                    task_id="pod-ex-minimum",
                    name="pod-ex-minimum",
                    cmds=["echo"],
                    namespace="composer-user-workloads",
                    image="gcr.io/gcp-runtimes/ubuntu_20_0_4",
                    config_file="{kubeconfig}",
                )
            """);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "sirocco.dll"), "tasks", "test", "stale_cluster", "pod-ex-minimum", "2024-01-01" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SIROCCO_HOME"] = _home;
        psi.Environment["SIROCCO__KUBERNETES__API_RETRY_BUDGET_SECONDS"] = "4";
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }
        }

        var output = await stdout + await stderr;
        Assert.True(p.ExitCode != 0, output);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(4), $"failed before the budget: {watch.Elapsed}\n{output}");
        Assert.Contains($"Kubernetes API https://127.0.0.1:{port}: ", output, StringComparison.Ordinal);
        Assert.Contains("failed (attempt 1): ConnectionRefused", output, StringComparison.Ordinal);
        Assert.Contains("retrying in", output, StringComparison.Ordinal);
        Assert.Contains($"Kubernetes API https://127.0.0.1:{port} unreachable", output, StringComparison.Ordinal);
        Assert.DoesNotContain("stale-token-value", output, StringComparison.Ordinal);
    }
}
