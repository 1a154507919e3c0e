using System.Diagnostics;
using System.Text;
using Sirocco.Storage;

namespace Sirocco.Cli.Tests;

/// <summary><c>sirocco standalone</c> as a user starts it: first start sets everything up, a later start reuses it.</summary>
public sealed class StandaloneTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-standalone-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private async Task<(int ExitCode, string Output)> RunUntilReadyThenInterruptAsync(Func<Task>? whileRunning = null)
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
                await whileRunning();
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

        await using (var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db")))
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
}
