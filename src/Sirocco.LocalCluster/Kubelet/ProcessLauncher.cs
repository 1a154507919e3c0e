using System.Collections.Concurrent;
using System.Diagnostics;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Starts container processes on two dedicated threads. <see cref="Process.Start()"/> blocks while it forks
/// and execs; doing that on the thread pool under a burst of pods starves the API server's requests. When the cluster
/// has a <see cref="CpuGroup"/>, the threads join it, so what they fork starts inside it.
/// </summary>
internal sealed class ProcessLauncher : IDisposable
{
    private readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Done)> _queue = [];
    private readonly Thread[] _threads;

    private readonly CpuGroup? _group;
    private int _joined;

    public ProcessLauncher(CpuGroup? group, int threads = 2)
    {
        _group = group;
        _threads = [.. Enumerable.Range(0, threads).Select(i => new Thread(Run) { IsBackground = true, Name = $"local-cluster-launcher-{i}" })];
        using var ready = new CountdownEvent(threads);
        foreach (var t in _threads)
        {
            t.Start(ready);
        }

        ready.Wait();
        InCpuGroup = group is not null && _joined == threads;
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

    /// <summary>True when every launcher thread is in the cluster's <see cref="CpuGroup"/>.</summary>
    public bool InCpuGroup { get; }

    private void Run(object? ready)
    {
        if (_group is not null && _group.JoinCurrentThread())
        {
            Interlocked.Increment(ref _joined);
        }

        ((CountdownEvent)ready!).Signal();

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
