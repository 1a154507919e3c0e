using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sirocco.Cli.Tests;

/// <summary>Runs the built <c>sirocco</c> in its own process with a home folder and a Kubernetes connection to a cluster.</summary>
internal static class SiroccoProcess
{
    /// <summary>Runs <c>sirocco ARGS</c>; returns its exit code and stdout then stderr. Bounded by three minutes.</summary>
    public static Task<(int Code, string Output)> RunAsync(string home, string? kubeconfig, params string[] args) =>
        RunAsync(home, kubeconfig, new Dictionary<string, string>(), args);

    /// <summary>Runs <c>sirocco ARGS</c> with more environment variables (connections, settings).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string home, string? kubeconfig, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SIROCCO_HOME"] = home;
        if (kubeconfig is not null)
        {
            psi.Environment["SIROCCO_CONN_KUBERNETES_DEFAULT"] = new JsonObject
            {
                ["conn_type"] = "kubernetes",
                ["extra"] = new JsonObject { ["kube_config_path"] = kubeconfig },
            }.ToJsonString();
        }

        foreach (var (name, value) in env)
        {
            psi.Environment[name] = value;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }

        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>Like Assert.Contains, but a failure shows the whole output (CI keeps nothing else of the run).</summary>
    public static void AssertLogged(string output, string expected) =>
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"not found: {expected}\n--- output ---\n{output}");
}
