using System.Diagnostics;
using Sirocco.LocalCluster;

namespace Sirocco.Cli.Tests;

/// <summary>
/// The seed page's walkthrough, end to end through the CLI and kubectl on the local cluster, with the page's DAG file
/// copied unchanged into dags/. The DAG names /home/airflow/composer_kube_config: the test puts the local cluster's
/// kubeconfig there, in a folder of its own that bubblewrap shows the CLI at /home/airflow (the host's /home is not
/// touched). The pod startup timeout (300 s in the DAG) is capped by the documented
/// [kubernetes] max_startup_timeout_seconds so the failing step does not wait five minutes.
/// </summary>
public sealed class SeedWalkthroughTests : IDisposable
{
    private const string DagId = "composer_sample_kubernetes_pod";
    private const string KubeConfigPath = "/home/airflow/composer_kube_config";
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-seed-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>What the CLI sees as /home/airflow.</summary>
    private string AirflowHome => Path.Combine(_home, "home-airflow");

    private Task<(int Code, string Output)> SiroccoAsync(params string[] args) =>
        RunAsync(
            "bwrap",
            ["--dev-bind", "/", "/", "--tmpfs", "/home", "--bind", AirflowHome, "/home/airflow", "--", "dotnet", Path.Combine(AppContext.BaseDirectory, "sirocco.dll"), .. args],
            new Dictionary<string, string>
            {
                ["SIROCCO_HOME"] = _home,
                ["SIROCCO__KUBERNETES__MAX_STARTUP_TIMEOUT_SECONDS"] = "10",
            });

    [Fact]
    public async Task The_seeds_walkthrough_fails_and_succeeds_exactly_as_the_page_says()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        Directory.CreateDirectory(AirflowHome);
        File.Copy(cluster.KubeconfigPath, Path.Combine(AirflowHome, Path.GetFileName(KubeConfigPath)));
        var kubectl = (string[] args) => RunAsync("kubectl", ["--kubeconfig", cluster.KubeconfigPath, .. args], workingDirectory: _home);
        Assert.Equal(0, (await kubectl(["create", "namespace", "composer-user-workloads"])).Code);

        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "seed_dag.py"), Path.Combine(_home, "dags", "kubernetes_pod_operator.py"));

        // 1. pod-ex-minimum succeeds with no changes.
        var minimum = await SiroccoAsync("tasks", "test", DagId, "pod-ex-minimum", "2024-01-01");
        Assert.True(minimum.Code == 0, minimum.Output);

        // 2. ex-kube-templates fails on the missing Variable, then on the missing option, then succeeds and echoes ds.
        var noVariable = await SiroccoAsync("tasks", "test", DagId, "ex-kube-templates", "2024-01-01");
        Assert.NotEqual(0, noVariable.Code);
        Assert.Contains("Variable my_value does not exist", noVariable.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await SiroccoAsync("variables", "set", "--", "my_value", "example_value")).Code);
        var noOption = await SiroccoAsync("tasks", "test", DagId, "ex-kube-templates", "2024-01-01");
        Assert.NotEqual(0, noOption.Code);
        Assert.Contains("section/key [core/kube_config] not found in config", noOption.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await SiroccoAsync("config", "set", "core", "kube_config", KubeConfigPath)).Code);
        var templates = await SiroccoAsync("tasks", "test", DagId, "ex-kube-templates", "2024-01-01");
        Assert.True(templates.Code == 0, templates.Output);
        Assert.Contains("2024-01-01", templates.Output.Split('\n').Where(l => !l.Contains("Rendered", StringComparison.Ordinal) && !l.Contains("run_id", StringComparison.Ordinal)).Aggregate(string.Empty, (a, b) => a + b + "\n"), StringComparison.Ordinal);

        // 3. ex-kube-secrets cannot start while the Secrets are missing, then succeeds once kubectl created them.
        var noSecrets = await SiroccoAsync("tasks", "test", DagId, "ex-kube-secrets", "2024-01-01");
        Assert.NotEqual(0, noSecrets.Code);
        Assert.Contains("Pod took too long to start", noSecrets.Output, StringComparison.Ordinal);
        Assert.Contains("airflow-secrets", noSecrets.Output, StringComparison.Ordinal); // the reason is named

        await File.WriteAllTextAsync(Path.Combine(_home, "key.json"), "{\"type\": \"service_account\"}");
        Assert.Equal(0, (await kubectl(["create", "secret", "generic", "airflow-secrets", "--from-literal", "sql_alchemy_conn=test_value", "-n", "composer-user-workloads"])).Code);
        Assert.Equal(0, (await kubectl(["create", "secret", "generic", "service-account", "--from-file", "service-account.json=./key.json", "-n", "composer-user-workloads"])).Code);
        var secrets = await SiroccoAsync("tasks", "test", DagId, "ex-kube-secrets", "2024-01-01");
        Assert.True(secrets.Code == 0, secrets.Output);

        // What such a pod sees: SQL_CONN from the env Secret, the key file from the volume Secret.
        await File.WriteAllTextAsync(Path.Combine(_home, "probe.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: secret-probe, namespace: composer-user-workloads}
            spec:
              restartPolicy: Never
              containers:
              - name: base
                image: ubuntu
                command: ["sh", "-c", "echo SQL_CONN=$SQL_CONN; cat /var/secrets/google/service-account.json"]
                env:
                - name: SQL_CONN
                  valueFrom: {secretKeyRef: {name: airflow-secrets, key: sql_alchemy_conn}}
                volumeMounts:
                - {name: google, mountPath: /var/secrets/google, readOnly: true}
              volumes:
              - name: google
                secret: {secretName: service-account, items: [{key: service-account.json, path: service-account.json}]}
            """);
        Assert.Equal(0, (await kubectl(["apply", "-f", "probe.yaml"])).Code);
        Assert.Equal(0, (await kubectl(["wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/secret-probe", "-n", "composer-user-workloads", "--timeout=60s"])).Code);
        var probe = await kubectl(["logs", "secret-probe", "-n", "composer-user-workloads"]);
        Assert.Contains("SQL_CONN=test_value", probe.Output, StringComparison.Ordinal);
        Assert.Contains("service_account", probe.Output, StringComparison.Ordinal);

        // 4. ex-all-configs succeeds with no changes: perl prints pi to 2000 digits, and the try's log shows the
        // label, annotation and resources its pod was built with.
        var all = await SiroccoAsync("tasks", "test", DagId, "ex-all-configs", "2024-01-01");
        Assert.True(all.Code == 0, all.Output);
        var digits = all.Output.Split('\n').Select(l => l.TrimEnd()).Select(l => l[(l.LastIndexOf(' ') + 1)..]).FirstOrDefault(l => l.StartsWith("3.14159265358979323846", StringComparison.Ordinal));
        Assert.NotNull(digits);
        Assert.Equal(2001, digits.Length); // "3." and 1999 more digits: 2000 significant digits
        Assert.EndsWith("780275901", digits, StringComparison.Ordinal); // the last digits of pi rounded to 2000 digits
        Assert.Contains("pod-label", all.Output, StringComparison.Ordinal);
        Assert.Contains("key1", all.Output, StringComparison.Ordinal);
        Assert.Contains("10G", all.Output, StringComparison.Ordinal);
    }
}
