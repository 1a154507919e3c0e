using Sirocco.Storage;

namespace Sirocco.Scheduler.Tests;

public sealed class PoolTests
{
    [Fact]
    public async Task A_task_in_an_unknown_pool_waits_says_why_once_and_starts_when_the_pool_is_created()
    {
        await using var f = new Fixture(new DateTimeOffset(2024, 1, 3, 10, 0, 0, TimeSpan.Zero));
        var dag = new Dag("pooled")
        {
            Schedule = "@once",
            StartDate = DateTimeOffset.UtcNow.AddDays(-1),
            Tasks = { new ScriptedOperator("in_k8s_pool", (_, _) => Task.FromResult<object?>(null)) { Pool = "k8s_pool" } },
        };
        var echo = new List<string>();
        var options = f.Options with { SweepInterval = TimeSpan.FromMilliseconds(200), LogEcho = line => { lock (echo) { echo.Add(line); } } };
        var scheduler = new SiroccoScheduler(f.Store, new StaticDagSource([dag]), f.Services, options, renderer: null, time: TimeProvider.System);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scheduler.TaskInstanceFinished += ti => finished.TrySetResult();
        var loop = scheduler.RunAsync(stop.Token);

        // Several sweeps pass with the task scheduled and the warning said once.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var run = (await f.RunsAsync("pooled")).SingleOrDefault();
            var stats = (await f.Store.ListPoolStatsAsync()).SingleOrDefault(s => s.Name == "k8s_pool");
            if (run is not null && stats is { Slots: null, Scheduled: 1 } && EchoCount(echo) > 0)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the task never waited on the unknown pool with a warning");
            await Task.Delay(100);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(800));
        Assert.False(finished.Task.IsCompleted);
        Assert.Equal(1, EchoCount(echo));
        Assert.Contains("pooled.in_k8s_pool", echo.Single(l => l.Contains("k8s_pool", StringComparison.Ordinal)), StringComparison.Ordinal);

        await f.Store.SetPoolAsync(new Pool("k8s_pool", 1));
        await finished.Task.WaitAsync(stop.Token);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
        var done = Assert.Single(await f.RunsAsync("pooled"));
        Assert.Equal(TaskInstanceState.Success, (await f.TisAsync(done))["in_k8s_pool"].State);
    }

    private static int EchoCount(List<string> echo)
    {
        lock (echo)
        {
            return echo.Count(l => l.StartsWith("Tasks using non-existent pool 'k8s_pool' will not be scheduled", StringComparison.Ordinal));
        }
    }
}
