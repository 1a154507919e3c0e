using System.Diagnostics;

namespace Sirocco.Cli.Tests;

/// <summary>
/// deploy/kubernetes against the real kube-apiserver of <c>scripts/realk8s.sh</c> (v1.20, RBAC on): every overlay passes
/// a server-side dry run, and the scheduler, given only what a pod of that deployment gets (KUBERNETES_SERVICE_HOST/PORT
/// and the token, CA and namespace files of the real ServiceAccount bound to its Role), runs a pod task and is refused
/// what the Role does not grant, with the API server's message.
/// </summary>
public sealed class DeploymentTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sirocco-deploy-").FullName;
    private readonly List<string> _namespaces = [];
    private string _kubeconfig = string.Empty;

    public void Dispose()
    {
        foreach (var ns in _namespaces)
        {
            _ = Run("kubectl", ["--kubeconfig", _kubeconfig, "delete", "namespace", ns, "--wait=false"], TimeSpan.FromSeconds(30)).Result;
        }

        Directory.Delete(_temp, recursive: true);
    }

    [Fact]
    public async Task Every_overlay_passes_a_server_side_dry_run()
    {
        await StartServerAsync();
        var existed = (await Kubectl("get", "namespace", "sirocco")).Code == 0;
        if (!existed)
        {
            Assert.Equal(0, (await Kubectl("create", "namespace", "sirocco")).Code);
            _namespaces.Add("sirocco");
        }

        foreach (var overlay in new[] { "postgresql", "gke" })
        {
            var applied = await Kubectl("apply", "--dry-run=server", "-k", Path.Combine(Root(), "deploy", "kubernetes", "overlays", overlay));
            Assert.True(applied.Code == 0, $"{overlay}: {applied.Err}");
            foreach (var name in new[]
            {
                "serviceaccount/sirocco", "role.rbac.authorization.k8s.io/sirocco-pod-operator", "rolebinding.rbac.authorization.k8s.io/sirocco-pod-operator",
                "persistentvolumeclaim/sirocco-dags", "persistentvolumeclaim/sirocco-logs", "deployment.apps/sirocco-scheduler",
                "deployment.apps/sirocco-webserver", "service/sirocco-webserver",
            })
            {
                Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(name)} (created|configured|unchanged) \(server dry run\)$", applied.Out);
            }

            Assert.Matches(@"(?m)^configmap/sirocco-config-[a-z0-9]+ (created|configured|unchanged) \(server dry run\)$", applied.Out);
            Assert.Equal(overlay == "postgresql", applied.Out.Contains("statefulset.apps/sirocco-postgresql", StringComparison.Ordinal));
        }

        // The scheduler runs two replicas, probed by `sirocco jobs check` for its own job; the config says in_cluster.
        var rendered = (await Kubectl("kustomize", Path.Combine(Root(), "deploy", "kubernetes", "overlays", "postgresql"))).Out;
        Assert.Contains("replicas: 2", rendered, StringComparison.Ordinal);
        Assert.Contains("- --local", rendered, StringComparison.Ordinal);
        Assert.Contains("in_cluster = True", rendered, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_scheduler_in_a_pods_environment_runs_a_pod_task_with_the_roles_rights_only()
    {
        await StartServerAsync();
        var ns = await NamespaceAsync("sirocco-incluster");
        var other = await NamespaceAsync("sirocco-no-role");
        var rbac = await Kubectl("apply", "-n", ns, "-f", Path.Combine(Root(), "deploy", "kubernetes", "base", "rbac.yaml"));
        Assert.True(rbac.Code == 0, rbac.Err);

        // What the kubelet mounts into a pod of the ServiceAccount: its token, the cluster's CA, its namespace.
        var account = Directory.CreateDirectory(Path.Combine(_temp, "serviceaccount")).FullName;
        var secret = await WaitForAsync(async () => (await Kubectl("-n", ns, "get", "serviceaccount", "sirocco", "-o", "jsonpath={.secrets[0].name}")).Out.Trim());
        foreach (var (key, file) in new[] { ("token", "token"), ("ca\\.crt", "ca.crt") })
        {
            var data = (await Kubectl("-n", ns, "get", "secret", secret, "-o", $"jsonpath={{.data.{key}}}")).Out.Trim();
            await File.WriteAllBytesAsync(Path.Combine(account, file), Convert.FromBase64String(data));
        }

        await File.WriteAllTextAsync(Path.Combine(account, "namespace"), ns);
        var home = Directory.CreateDirectory(Path.Combine(_temp, "home")).FullName;
        Directory.CreateDirectory(Path.Combine(home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(home, "dags", "incluster.cs"), $$"""
            using Sirocco.Kubernetes;

            KubernetesPodOperator Pod(string id) => new(id)
            {
                Image = "busybox",
                Cmds = ["true"],
                GetLogs = false,
                Annotations = { ["fake-kubelet/run-for"] = "500ms", ["fake-kubelet/exit-code"] = "0" },
            };

            var elsewhere = Pod("elsewhere");
            elsewhere.Namespace = "{{other}}";
            return new Dag("incluster_dag") { Schedule = null, StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), Tasks = { Pod("runs"), elsewhere } };
            """);

        // The pod's view: its service-account folder at the fixed path (a private mount namespace), the API server
        // from the service variables, and the deployment's config ([kubernetes] in_cluster = True).
        var test = await Run(
            "bwrap",
            ["--dev-bind", "/", "/", "--tmpfs", "/run", "--bind", account, "/run/secrets/kubernetes.io/serviceaccount", "--",
             "dotnet", Path.Combine(AppContext.BaseDirectory, "sirocco.dll"), "dags", "test", "incluster_dag", "2024-01-01"],
            TimeSpan.FromSeconds(180),
            new Dictionary<string, string>
            {
                ["SIROCCO_HOME"] = home,
                ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
                ["KUBERNETES_SERVICE_PORT"] = "6443",
                ["SIROCCO__KUBERNETES__IN_CLUSTER"] = "True",
                ["KUBECONFIG"] = Path.Combine(_temp, "no-such-kubeconfig"),
            });
        Assert.True(test.Out.Contains("runs: success", StringComparison.Ordinal), test.Out + test.Err);
        Assert.Contains("elsewhere: failed", test.Out, StringComparison.Ordinal);
        // The first request in a namespace outside the Role (the shared pod watch's list, or the create) is refused.
        Assert.Matches(
            $"pods is forbidden: User \"system:serviceaccount:{ns}:sirocco\" cannot (list|watch|create) resource \"pods\" in API group \"\" in the namespace \"{other}\" \\(the account lacks the RBAC permission\\)",
            test.Out);
        Assert.Equal(1, test.Code);

        // The pod ran in the ServiceAccount's namespace, and was deleted after (a right of the Role).
        var left = await Kubectl("-n", ns, "get", "pods", "-o", "name");
        Assert.Equal(string.Empty, left.Out.Trim());
    }

    private async Task StartServerAsync()
    {
        var script = Path.Combine(Root(), "scripts", "realk8s.sh");
        var started = await Run("bash", [script, "start"], TimeSpan.FromMinutes(10));
        Assert.True(started.Code == 0, started.Err);
        var line = started.Out.Split('\n', StringSplitOptions.TrimEntries).Last(l => l.StartsWith("KUBECONFIG=", StringComparison.Ordinal));
        _kubeconfig = line["KUBECONFIG=".Length..];
    }

    /// <summary>A new namespace, returned once its default ServiceAccount has a token (v1.20 refuses pods before that).</summary>
    private async Task<string> NamespaceAsync(string prefix)
    {
        var ns = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        Assert.Equal(0, (await Kubectl("create", "namespace", ns)).Code);
        _namespaces.Add(ns);
        await WaitForAsync(async () => (await Kubectl("-n", ns, "get", "serviceaccount", "default", "-o", "jsonpath={.secrets[0].name}")).Out.Trim());
        return ns;
    }

    private static async Task<string> WaitForAsync(Func<Task<string>> read)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var value = await read();
            if (value.Length > 0)
            {
                return value;
            }

            await Task.Delay(100, limit.Token);
        }
    }

    private Task<(int Code, string Out, string Err)> Kubectl(params string[] args) =>
        Run("kubectl", ["--kubeconfig", _kubeconfig, "--request-timeout=30s", .. args], TimeSpan.FromSeconds(60));

    private static async Task<(int Code, string Out, string Err)> Run(string file, IEnumerable<string> args, TimeSpan limit, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("SIROCCO", StringComparison.Ordinal) || k.StartsWith("AIRFLOW", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(name);
        }

        foreach (var (k, v) in env ?? [])
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within {limit}: {await stdout}{await stderr}");
        }

        return (p.ExitCode, await stdout, await stderr);
    }

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Sirocco.slnx above " + AppContext.BaseDirectory);
    }
}
