using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Sirocco.Storage;

namespace Sirocco.Cli.Tests;

/// <summary><c>sirocco standalone</c> as a user starts it: first start sets everything up, a later start reuses it.</summary>
public sealed class StandaloneTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-standalone-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private async Task<(int ExitCode, string Output)> RunUntilReadyThenInterruptAsync(Func<Task>? whileRunning = null) =>
        await RunUntilReadyThenInterruptAsync(whileRunning is null ? null : _ => whileRunning());

    private async Task<(int ExitCode, string Output)> RunUntilReadyThenInterruptAsync(Func<string, Task>? whileRunning)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        psi.ArgumentList.Add("standalone");
        psi.Environment["SIROCCO_HOME"] = _home;
        psi.Environment["SIROCCO__WEBSERVER__WEB_SERVER_PORT"] = "0"; // any free port: 8080 may be taken on a CI machine
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        var ready = new TaskCompletionSource();
        p.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Press Ctrl-C to stop.", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
            if (whileRunning is not null)
            {
                string soFar;
                lock (output)
                {
                    soFar = output.ToString();
                }

                await whileRunning(soFar);
            }

            using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }
        }

        lock (output)
        {
            return (p.ExitCode, output.ToString());
        }
    }

    [Fact]
    public async Task First_start_sets_up_home_cluster_admin_and_examples_and_a_second_start_reuses_them()
    {
        var (code, output) = await RunUntilReadyThenInterruptAsync(async () =>
        {
            // kubectl, as an outside client, reaches the local cluster through the kubeconfig standalone wrote.
            var psi = new ProcessStartInfo("kubectl", ["--kubeconfig", Path.Combine(_home, "kube_config"), "get", "nodes", "-o", "name"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var kubectl = Process.Start(psi)!;
            var nodes = await kubectl.StandardOutput.ReadToEndAsync();
            await kubectl.WaitForExitAsync();
            Assert.Equal(0, kubectl.ExitCode);
            Assert.StartsWith("node/", nodes, StringComparison.Ordinal);
        });
        Assert.True(code == 0, output);
        Assert.Contains("login:      admin / ", output, StringComparison.Ordinal);
        Assert.Contains("example DAG file(s) added", output, StringComparison.Ordinal);
        Assert.Contains("Sirocco standalone stopped.", output, StringComparison.Ordinal);
        Assert.Matches(@"web UI:\s+http://127\.0\.0\.1:\d+", output);
        Assert.True(File.Exists(Path.Combine(_home, "sirocco.cfg")));
        Assert.True(File.Exists(Path.Combine(_home, "dags", "example_noop.cs")));
        var password = (await File.ReadAllTextAsync(Path.Combine(_home, "standalone_admin_password.txt"))).Trim();
        Assert.Contains(password, output, StringComparison.Ordinal);

        var key = System.Text.RegularExpressions.Regex.Match(await File.ReadAllTextAsync(Path.Combine(_home, "sirocco.cfg")), @"(?m)^fernet_key = (\S+)$").Groups[1].Value;
        await using (var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"), Sirocco.Masking.Fernet.FromKeys(key)))
        {
            Assert.Equal("Admin", (await store.GetUserAsync("admin"))!.Role);
            Assert.Contains(await store.ListDagsAsync(), d => d.DagId == "example_noop" && !d.IsPaused);
            var k8s = store.GetConnection("kubernetes_default")!;
            Assert.Equal(Path.Combine(_home, "kube_config"), k8s.ExtraDejson()["kube_config_path"]!.ToString());
        }

        var (again, second) = await RunUntilReadyThenInterruptAsync();
        Assert.True(again == 0, second);
        Assert.DoesNotContain("login:", second, StringComparison.Ordinal);
        Assert.DoesNotContain("example DAG file(s) added", second, StringComparison.Ordinal);
    }

    private const string SleepyDag = """
        using Sirocco;
        using Sirocco.Kubernetes;

        return new Dag("sleepy")
        {
            Schedule = "@once",
            StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            IsPausedUponCreation = false,
            Tasks = { new KubernetesPodOperator("nap") { Name = "nap", Namespace = "default", Image = "busybox", Cmds = ["sh", "-c", "echo napping; exec sleep 300"] } },
        };
        """;

    [Fact]
    public async Task A_running_pod_marked_failed_through_the_api_is_deleted_and_the_mark_stands()
    {
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "sleepy.cs"), SleepyDag);
        string? runId = null;
        var (code, output) = await RunUntilReadyThenInterruptAsync(async started =>
        {
            var port = Regex.Match(started, @"web UI:\s+http://127\.0\.0\.1:(\d+)").Groups[1].Value;
            var password = (await File.ReadAllTextAsync(Path.Combine(_home, "standalone_admin_password.txt"))).Trim();
            await using var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
            TaskInstance? running = null;
            await SchedulerProcess.WaitForAsync(async () => (running = (await store.ListTaskInstancesByStateAsync([TaskInstanceState.Running])).FirstOrDefault(t => t.DagId == "sleepy" && t.ExternalId is not null)) is not null, TimeSpan.FromSeconds(90));
            runId = running!.RunId;
            var pod = running.ExternalId!.Split('/')[1];
            await SchedulerProcess.WaitForAsync(async () => (await KubectlAsync("get", "pod", pod, "-o", "jsonpath={.status.phase}")).Out == "Running", TimeSpan.FromSeconds(60));

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
            using var body = new StringContent("""{"new_state": "failed"}""", Encoding.UTF8, "application/json");
            using var answer = await http.PatchAsync($"/api/v1/dags/sleepy/dagRuns/{Uri.EscapeDataString(runId)}/taskInstances/nap", body);
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());

            // The scheduler in the same process ends the try at once: the pod is deleted, the mark is not overwritten.
            await SchedulerProcess.WaitForAsync(async () => (await KubectlAsync("get", "pod", pod, "--ignore-not-found", "-o", "jsonpath={.metadata.deletionTimestamp}{.metadata.name}")).Out != pod, TimeSpan.FromSeconds(15));
            await SchedulerProcess.WaitForAsync(async () => (await KubectlAsync("get", "pod", pod, "--ignore-not-found", "-o", "name")).Out.Length == 0, TimeSpan.FromSeconds(60));
            await SchedulerProcess.WaitForAsync(async () => (await store.ListTriesAsync("sleepy", "nap", runId)).Single().State == TaskInstanceState.Failed, TimeSpan.FromSeconds(30));
            var ti = (await store.GetTaskInstanceAsync("sleepy", "nap", runId))!;
            Assert.Equal((TaskInstanceState.Failed, "admin via REST API", 1), (ti.State, ti.ChangedBy, ti.TryNumber));
        });
        Assert.True(code == 0, output);
        var log = Directory.GetFiles(Path.Combine(_home, "logs", "sleepy", "nap"), "1.log", SearchOption.AllDirectories).Single();
        var text = await File.ReadAllTextAsync(log);
        Assert.Contains("The try was killed: its state was set to failed by admin via REST API", text, StringComparison.Ordinal);
        await using var after = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        Assert.Equal(TaskInstanceState.Failed, (await after.GetTaskInstanceAsync("sleepy", "nap", runId!))!.State);
    }

    private async Task<(int Code, string Out)> KubectlAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl", ["--kubeconfig", Path.Combine(_home, "kube_config"), .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, output.Trim());
    }
}
