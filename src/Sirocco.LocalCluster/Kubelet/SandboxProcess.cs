using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// A container's launched process: bubblewrap, whose only child is the container's command (pid 1 of the sandbox),
/// once the launch steps before it (joining cgroups, nice, the overlay's mount) have exec'd into it.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class SandboxProcess
{
    /// <summary>
    /// Sends <paramref name="signal"/> to the container's command. Before the launched process has become bubblewrap,
    /// its child is a launch step, never signalled; a SIGKILL then ends the launch itself.
    /// </summary>
    public static void Signal(Process p, int signal, string bubblewrapPath)
    {
        if (HasExited(p))
        {
            return;
        }

        if (IsBubblewrap(p.Id, bubblewrapPath) && Native.FirstChild(p.Id) is { } inner && Native.Signal(inner, signal))
        {
            return;
        }

        if (signal == Native.SigKill)
        {
            try
            {
                p.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    /// <summary>Waits for the process to exit; one already released by its own watcher has nothing left to wait for.</summary>
    public static async Task WaitExitedAsync(Process p)
    {
        try
        {
            await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Whether the process has exited (or was released).</summary>
    public static bool HasExited(Process p)
    {
        try
        {
            return p.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>Whether <paramref name="pid"/> runs bubblewrap (the launch steps before it have exec'd into it).</summary>
    public static bool IsBubblewrap(int pid, string bubblewrapPath)
    {
        try
        {
            var exe = new FileInfo($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/exe").LinkTarget;
            return exe is not null && Path.GetFileName(exe) == Path.GetFileName(bubblewrapPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
