using System.Diagnostics;

namespace Sirocco.Cli.Tests;

/// <summary>The real <c>sirocco scheduler</c> as a child process, for crash and restart tests.</summary>
internal static class SchedulerProcess
{
    public static Process Start(string home, IDictionary<string, string> environment)
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
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        while (!await condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
