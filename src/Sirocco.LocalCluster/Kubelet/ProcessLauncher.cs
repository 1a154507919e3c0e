using System.Diagnostics;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Starts container processes on two dedicated threads. <see cref="Process.Start()"/> blocks while it forks
/// and execs; doing that on the thread pool under a burst of pods starves the API server's requests. When the cluster
/// has a <see cref="CpuGroup"/>, the threads join it, so what they fork starts inside it.
/// </summary>
internal sealed class ProcessLauncher(CpuGroup? group) : IDisposable
{
    private readonly DedicatedThreads _threads = new("launcher", 2, group);

    /// <summary>True when the launcher's threads are in the cluster's <see cref="CpuGroup"/>.</summary>
    public bool InCpuGroup => _threads.InCpuGroup;

    public Task<Process> StartAsync(ProcessStartInfo start)
    {
        // The caller continues elsewhere, never on a launcher thread (an exec session must not hold one).
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = _threads.Run(() =>
        {
            try
            {
                done.TrySetResult(Process.Start(start)!);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                done.TrySetException(e);
            }

            return Task.CompletedTask;
        });
        return done.Task;
    }

    public void Dispose() => _threads.Dispose();
}
