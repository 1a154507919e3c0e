using System.Diagnostics;

namespace Sirocco.Fidelity.Tests.Harness;

/// <summary>
/// The reference Kubernetes API server (v1.20.2 built from Debian's source by scripts/realk8s.sh): started once per
/// machine and shared by every test process; the test script stops it at the end.
/// </summary>
internal static class RealApiServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _kubeconfig;

    /// <summary>Starts it unless it runs (building it first on a new machine); returns its kubeconfig.</summary>
    public static async Task<string> KubeconfigAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _kubeconfig ??= await StartAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string> StartAsync()
    {
        var script = Path.Combine(RepoRoot(), "scripts", "realk8s.sh");
        var start = new ProcessStartInfo(script, "start") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var line = (await stdout).Split('\n').LastOrDefault(l => l.StartsWith("KUBECONFIG=", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"{script} start exited {p.ExitCode}: {await stderr}");
        }

        return line["KUBECONFIG=".Length..].Trim();
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Sirocco.slnx not found above " + AppContext.BaseDirectory);
    }
}
