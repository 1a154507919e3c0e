using System.Collections.Concurrent;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// A task scheduler with threads of its own, off the thread pool that serves API requests. The kubelet's work runs on
/// one (its awaits keep to it with <c>ConfigureAwait(true)</c>), so requests do not queue behind hundreds of kubelet
/// work items; container starts run on another whose threads join the containers' <see cref="CpuGroup"/>, so what
/// they fork starts inside it. The kubelet's threads keep the normal CPU weight: they take the store's lock, and a
/// starved lock holder would stall requests.
/// </summary>
internal sealed class DedicatedThreads : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _queue = [];
    private readonly Thread[] _threads;
    private int _joined;

    public DedicatedThreads(string name, int threads, CpuGroup? group = null)
    {
        _threads = [.. Enumerable.Range(0, threads).Select(i => new Thread(Run) { IsBackground = true, Name = $"local-cluster-{name}-{i}" })];
        using var ready = new CountdownEvent(threads);
        foreach (var t in _threads)
        {
            t.Start((ready, group));
        }

        ready.Wait();
        InCpuGroup = group is not null && _joined == threads;
    }

    /// <summary>True when every thread joined the CPU group it was given.</summary>
    public bool InCpuGroup { get; }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Starts <paramref name="work"/> on these threads.</summary>
    public Task Run(Func<Task> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var t in _threads)
        {
            if (t != Thread.CurrentThread)
            {
                t.Join();
            }
        }
    }

    protected override void QueueTask(Task task)
    {
        try
        {
            _queue.Add(task);
        }
        catch (InvalidOperationException)
        {
            // Stopping: what is left runs on the thread pool.
            ThreadPool.UnsafeQueueUserWorkItem(t => TryExecuteTask(t), task, preferLocal: false);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Array.IndexOf(_threads, Thread.CurrentThread) >= 0 && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    private void Run(object? state)
    {
        var (ready, group) = ((CountdownEvent, CpuGroup?))state!;
        if (group is not null && group.JoinCurrentThread())
        {
            Interlocked.Increment(ref _joined);
        }

        ready.Signal();
        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }
}
