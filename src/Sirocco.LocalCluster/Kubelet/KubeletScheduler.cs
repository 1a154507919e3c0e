using System.Collections.Concurrent;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Runs the kubelet's own work (pod workers, status updates, volume files, log copying) on dedicated threads instead
/// of the thread pool, so that under a burst of pods the API server's requests, on the thread pool, do not queue
/// behind hundreds of kubelet work items. The kubelet's awaits keep to this scheduler (<c>ConfigureAwait(true)</c>).
/// The threads keep the normal CPU weight: they take the store's lock, and a starved lock holder would stall requests.
/// </summary>
internal sealed class KubeletScheduler : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _queue = [];
    private readonly Thread[] _threads;

    public KubeletScheduler(int threads = 2)
    {
        _threads = [.. Enumerable.Range(0, threads).Select(i => new Thread(Run) { IsBackground = true, Name = $"local-cluster-kubelet-{i}" })];
        foreach (var t in _threads)
        {
            t.Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Starts <paramref name="work"/> on the kubelet's threads.</summary>
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

    private void Run()
    {
        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }
}
