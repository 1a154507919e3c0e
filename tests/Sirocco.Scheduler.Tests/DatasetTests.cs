using Sirocco.Scheduling;

namespace Sirocco.Scheduler.Tests;

/// <summary>Data-aware scheduling: a task's outlets trigger the DAGs scheduled on them once all their datasets are updated.</summary>
public sealed class DatasetTests
{
    [Fact]
    public async Task A_dag_runs_once_every_dataset_it_waits_for_was_updated_and_each_update_is_consumed_once()
    {
        await using var f = new Fixture(DateTimeOffset.UtcNow);
        var orders = new ScriptedOperator("export_orders", (_, _) => Task.FromResult<object?>(null)) { Outlets = ["s3://lake/orders"] };
        var customers = new ScriptedOperator("export_customers", (_, _) => Task.FromResult<object?>(null)) { Outlets = ["s3://lake/customers"] };
        var producerA = new Dag("producer_orders") { Schedule = Schedule.None, Tasks = { orders } };
        var producerB = new Dag("producer_customers") { Schedule = Schedule.None, Tasks = { customers } };
        var consumed = 0;
        var report = new ScriptedOperator("report", (_, _) =>
        {
            Interlocked.Increment(ref consumed);
            return Task.FromResult<object?>(null);
        });
        var consumer = new Dag("report_on_both") { Schedule = Schedule.OnDatasets(["s3://lake/orders", "s3://lake/customers"]), Tasks = { report } };
        var options = f.Options with { SweepInterval = TimeSpan.FromMilliseconds(100) };
        var scheduler = new SiroccoScheduler(f.Store, new StaticDagSource([producerA, producerB, consumer]), f.Services, options, renderer: null, time: TimeProvider.System);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var loop = scheduler.RunAsync(stop.Token);

        // One dataset updated: the consumer waits.
        await scheduler.TriggerAsync("producer_orders", cancellationToken: stop.Token);
        await WaitAsync(async () => (await f.Store.ListDatasetQueueAsync()).Count == 1, stop.Token);
        await Task.Delay(500, stop.Token);
        Assert.Empty(await f.RunsAsync("report_on_both"));

        // Both updated: one dataset-triggered run, and the queue is consumed.
        await scheduler.TriggerAsync("producer_customers", cancellationToken: stop.Token);
        await WaitAsync(async () => (await f.RunsAsync("report_on_both")) is [{ State: DagRunState.Success }], stop.Token);
        var run = Assert.Single(await f.RunsAsync("report_on_both"));
        Assert.Equal(DagRunType.DatasetTriggered, run.RunType);
        Assert.StartsWith("dataset_triggered__", run.RunId, StringComparison.Ordinal);
        Assert.Empty(await f.Store.ListDatasetQueueAsync());
        var updates = await f.Store.ListDatasetUpdatesAsync();
        Assert.Equal(["s3://lake/customers", "s3://lake/orders"], updates.Select(u => u.Uri).Order(StringComparer.Ordinal));
        Assert.Equal(("producer_orders", "export_orders"), updates.Where(u => u.Uri == "s3://lake/orders").Select(u => (u.DagId, u.TaskId)).Single());

        await Task.Delay(500, stop.Token);
        Assert.Equal(1, consumed);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        while (!await condition())
        {
            await Task.Delay(50, ct);
        }
    }
}
