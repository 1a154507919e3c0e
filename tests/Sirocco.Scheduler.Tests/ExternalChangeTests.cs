using Sirocco.Storage;

namespace Sirocco.Scheduler.Tests;

/// <summary>State changed from outside the scheduler (UI, API, CLI) while a try runs: the change stands, the try ends.</summary>
public class ExternalChangeTests
{
    private static readonly DateTimeOffset Now = new(2024, 1, 3, 10, 0, 0, TimeSpan.Zero);

    private static ScriptedOperator Blocking(string id, List<int> killedTries) => new(id, async (ctx, ct) =>
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
            lock (killedTries)
            {
                killedTries.Add(ctx.TaskInstance.TryNumber);
            }

            throw;
        }

        return null;
    });

    private static async Task<TaskInstance> WaitRunningAsync(Fixture f, SiroccoScheduler scheduler, string dagId, string taskId, int tryNumber)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var run = (await f.RunsAsync(dagId)).SingleOrDefault();
            if (run is not null && scheduler.RunningCount > 0
                && await f.Store.GetTaskInstanceAsync(dagId, taskId, run.RunId) is { State: TaskInstanceState.Running } ti && ti.TryNumber == tryNumber)
            {
                return ti;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"{taskId} try {tryNumber} never ran");
    }

    [Fact]
    public async Task A_running_task_marked_failed_by_a_user_is_killed_and_the_mark_stands()
    {
        await using var f = new Fixture(Now);
        var killed = new List<int>();
        var dag = new Dag("marked") { Schedule = "@once", StartDate = Now.AddDays(-1), Tasks = { Blocking("work", killed) } };
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        var running = await WaitRunningAsync(f, scheduler, "marked", "work", 1);

        await f.Store.MarkTaskInstanceAsync(running, TaskInstanceState.Failed, new StateActor("admin", "web UI"), Now);
        scheduler.Wake();
        await step.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([1], killed);
        var ti = (await f.Store.GetTaskInstanceAsync("marked", "work", running.RunId))!;
        Assert.Equal(TaskInstanceState.Failed, ti.State);
        Assert.Equal("admin via web UI", ti.ChangedBy); // the scheduler did not overwrite the user's mark
        Assert.Equal(DagRunState.Failed, Assert.Single(await f.RunsAsync("marked")).State);
        var attempt = Assert.Single(await f.Store.ListTriesAsync("marked", "work", running.RunId));
        Assert.Equal(TaskInstanceState.Failed, attempt.State);
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "marked", "work", Now.AddDays(-1), 1, -1));
        Assert.Contains("The try was killed: its state was set to failed by admin via web UI", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_task_cleared_from_the_cli_is_killed_and_runs_again()
    {
        await using var f = new Fixture(Now);
        var killed = new List<int>();
        var dag = new Dag("cleared")
        {
            Schedule = "@once",
            StartDate = Now.AddDays(-1),
            Tasks =
            {
                new ScriptedOperator("work", async (ctx, ct) =>
                {
                    if (ctx.TaskInstance.TryNumber == 1)
                    {
                        await Blocking("unused", killed).ExecuteAsync(ctx, ct);
                    }

                    return "second";
                }),
            },
        };
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        var running = await WaitRunningAsync(f, scheduler, "cleared", "work", 1);

        var cleared = await f.Store.ClearTaskInstancesAsync(new ClearRequest { DagId = "cleared", RunIds = [running.RunId], Actor = new StateActor("ops", "CLI") }, Now);
        Assert.Single(cleared);
        scheduler.Wake();
        await step.WaitAsync(TimeSpan.FromSeconds(60));
        await scheduler.StepAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([1], killed);
        var ti = (await f.Store.GetTaskInstanceAsync("cleared", "work", running.RunId))!;
        Assert.Equal((TaskInstanceState.Success, 2), (ti.State, ti.TryNumber));
        Assert.Null(ti.ChangedBy);
        var tries = await f.Store.ListTriesAsync("cleared", "work", running.RunId);
        Assert.Equal([TaskInstanceState.Failed, TaskInstanceState.Success], tries.Select(t => t.State));
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "cleared", "work", Now.AddDays(-1), 1, -1));
        Assert.Contains("its state was set to none by ops via CLI", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_run_ends_its_running_tries()
    {
        await using var f = new Fixture(Now);
        var killed = new List<int>();
        var dag = new Dag("deleted") { Schedule = "@once", StartDate = Now.AddDays(-1), Tasks = { Blocking("work", killed) } };
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        var running = await WaitRunningAsync(f, scheduler, "deleted", "work", 1);

        Assert.True(await f.Store.DeleteDagRunAsync("deleted", running.RunId));
        scheduler.Wake();
        await step.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([1], killed);
        Assert.Empty(await f.RunsAsync("deleted"));
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "deleted", "work", Now.AddDays(-1), 1, -1));
        Assert.Contains("The try was killed: its DAG run was deleted", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_scheduler_on_a_sqlite_database_refuses_naming_the_live_one()
    {
        await using var f = new Fixture(Now);
        f.Options = f.Options with { Hostname = Environment.MachineName };
        var dag = new Dag("lonely") { Schedule = "@daily", StartDate = Now.AddDays(-1), Tasks = { ScriptedOperator.Ok("t") } };
        using var stop = new CancellationTokenSource();
        var first = new SiroccoScheduler(f.Store, new StaticDagSource(dag), f.Services, f.Options);
        var running = first.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await f.Store.ListJobsAsync(JobTypes.Scheduler, runningOnly: true)).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var second = new SiroccoScheduler(f.Store, new StaticDagSource(dag), f.Services, f.Options);
        var refused = await Assert.ThrowsAsync<SiroccoException>(() => second.RunAsync(CancellationToken.None));
        Assert.Contains($"Another scheduler is running on this SQLite database: host {Environment.MachineName}, pid {Environment.ProcessId}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("use PostgreSQL", refused.Message, StringComparison.Ordinal);

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        var job = Assert.Single(await f.Store.ListJobsAsync(JobTypes.Scheduler));
        Assert.Equal((first.JobId, "success"), (job.Id, job.State)); // the first ended cleanly; the second left no row
    }
}
