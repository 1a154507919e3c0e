using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sirocco.Cli.Tests;

/// <summary>The real <c>sirocco scheduler</c> as a child process, for crash and restart tests.</summary>
internal static class SchedulerProcess
{
    public static Process Start(string home, IDictionary<string, string> environment, Action<string>? onLine = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        psi.ArgumentList.Add("scheduler");
        psi.Environment["SIROCCO_HOME"] = home;
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { onLine?.Invoke(e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { onLine?.Invoke(e.Data); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>The <c>kubernetes_default</c> connection (<c>SIROCCO_CONN_KUBERNETES_DEFAULT</c>) for a kubeconfig.</summary>
    public static string KubernetesConnection(string kubeconfig) =>
        new JsonObject { ["conn_type"] = "kubernetes", ["extra"] = new JsonObject { ["kube_config_path"] = kubeconfig } }.ToJsonString();

    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        while (!await condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
