using Sirocco.Scheduler;

namespace Sirocco.Web.Tests;

public sealed class DagSnapshotTests
{
    private sealed class ChangingSource : IDagSource
    {
        private readonly TaskCompletionSource _change = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Version { get; set; }

        public Task<DagCollection> CollectAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new DagCollection(new Dictionary<string, Dag> { ["d" + Version] = new Dag("d" + Version) }, []));

        public Task WaitForChangeAsync(CancellationToken cancellationToken) => Version == 0 ? _change.Task.WaitAsync(cancellationToken) : Task.Delay(Timeout.Infinite, cancellationToken);

        public void Change()
        {
            Version++;
            _change.SetResult();
        }
    }

    [Fact]
    public async Task Snapshot_follows_the_source_as_it_changes()
    {
        var inner = new ChangingSource();
        var snapshot = new DagSnapshotSource(inner);
        Assert.Empty(snapshot.Current());
        using var cts = new CancellationTokenSource();
        var watch = snapshot.WatchAsync(cts.Token);
        await WaitAsync(() => snapshot.Current().ContainsKey("d0"));
        inner.Change();
        await WaitAsync(() => snapshot.Current().ContainsKey("d1"));
        Assert.False(snapshot.Current().ContainsKey("d0"));
        await cts.CancelAsync();
        await watch; // ends quietly on cancellation
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }
}
