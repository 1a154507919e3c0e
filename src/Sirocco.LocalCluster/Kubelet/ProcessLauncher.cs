using System.Collections.Concurrent;
using System.Diagnostics;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Starts container processes on two dedicated threads. <see cref="Process.Start()"/> blocks while it forks
/// and execs; doing that on the thread pool under a burst of pods starves the API server's requests.
/// </summary>
internal sealed class ProcessLauncher : IDisposable
{
    private readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Done)> _queue = [];
    private readonly Thread[] _threads;

    public ProcessLauncher(int threads = 2)
    {
        _threads = [.. Enumerable.Range(0, threads).Select(i => new Thread(Run) { IsBackground = true, Name = $"local-cluster-launcher-{i}" })];
        foreach (var t in _threads)
        {
            t.Start();
        }
    }

    public Task<Process> StartAsync(ProcessStartInfo start)
    {
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add((start, done));
        return done.Task;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var t in _threads)
        {
            t.Join();
        }

        _queue.Dispose();
    }

    private void Run()
    {
        foreach (var (start, done) in _queue.GetConsumingEnumerable())
        {
            try
            {
                done.TrySetResult(Process.Start(start)!);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                done.TrySetException(e);
            }
        }
    }
}
