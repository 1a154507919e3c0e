using Sirocco.Storage;

namespace Sirocco.Scheduler.Tests;

/// <summary>The scheduler runs every try through its <see cref="ITryExecutor"/> and records the outcome it reports.</summary>
public class ExecutorSeamTests
{
    private static readonly DateTimeOffset Now = new(2024, 1, 3, 10, 0, 0, TimeSpan.Zero);

    /// <summary>An executor a test scripts: it answers each try with the next outcome of its script.</summary>
    private sealed class ScriptedExecutor(Func<TryRequest, TryControl, Task<TryResult>> script, TimeProvider time) : ITryExecutor
    {
        public List<(string TaskId, int TryNumber, TaskInstanceState StoredState, string? Resumed)> Seen { get; } = [];

        public IMetadataStore? Store { get; set; }

        public async Task<TryOutcome> RunAsync(TryRequest request, TryControl control)
        {
            var stored = await Store!.GetTaskInstanceAsync(request.TaskInstance.DagId, request.TaskInstance.TaskId, request.TaskInstance.RunId, request.TaskInstance.MapIndex);
            lock (Seen)
            {
                Seen.Add((request.TaskInstance.TaskId, request.TaskInstance.TryNumber, stored!.State, request.ResumedExternalId));
            }

            var result = await script(request, control);
            return new TryOutcome(request.TaskInstance, result, result == TryResult.Failed ? "scripted failure" : null, time.GetUtcNow(), $"ns/{request.TaskInstance.TaskId}-{request.TaskInstance.TryNumber}");
        }
    }

    private static SiroccoScheduler Create(Fixture f, ScriptedExecutor executor, params Dag[] dags)
    {
        executor.Store = f.Store;
        return new SiroccoScheduler(f.Store, new StaticDagSource(dags), f.Services, f.Options, f.Time, executor);
    }

    [Fact]
    public async Task An_empty_operator_without_callbacks_or_outlets_succeeds_without_a_try_as_in_airflow()
    {
        await using var f = new Fixture(Now);
        var executor = new ScriptedExecutor((_, _) => Task.FromResult(TryResult.Success), f.Time);
        var start = new EmptyOperator("start");
        var middle = new EmptyOperator("middle");
        var watched = new EmptyOperator("watched");
        watched.TaskCallbacks["on_success_callback"] = [ScriptedOperator.Ok("notify")];
        var produces = new EmptyOperator("produces") { Outlets = ["s3://bucket/file"] };
        var end = new EmptyOperator("end");
        var dag = new Dag("empty")
        {
            Schedule = "@once",
            StartDate = Now.AddDays(-1),
            Tasks = { start, middle, ScriptedOperator.Ok("work"), watched, produces, end },
        };
        _ = start >> middle >> dag.Tasks[2] >> watched >> produces >> end;
        var scheduler = Create(f, executor, dag);
        for (var i = 0; i < 5 && (await f.RunsAsync("empty")) is not [{ State: DagRunState.Success }]; i++)
        {
            await scheduler.StepAsync();
        }

        var run = Assert.Single(await f.RunsAsync("empty"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal(["work", "watched", "produces"], executor.Seen.Select(s => s.TaskId)); // a callback or an outlet needs the try
        foreach (var id in new[] { "start", "middle", "end" })
        {
            var ti = await f.Store.GetTaskInstanceAsync("empty", id, run.RunId);
            Assert.Equal((TaskInstanceState.Success, 1), (ti!.State, ti.TryNumber));
            Assert.Equal(ti.StartDate, ti.EndDate);
            Assert.Empty(await f.Store.ListTriesAsync("empty", id, run.RunId));
        }
    }

    [Fact]
    public async Task A_mapped_empty_operator_succeeds_without_tries_for_each_of_its_instances()
    {
        await using var f = new Fixture(Now);
        var executor = new ScriptedExecutor((_, _) => Task.FromResult(TryResult.Success), f.Time);
        var fanOut = new EmptyOperator("fan_out");
        fanOut.ExpandKwargs(new LiteralMapSource(System.Text.Json.JsonSerializer.SerializeToElement(new object[] { new { }, new { }, new { } })));
        var watched = new EmptyOperator("watched");
        watched.TaskCallbacks["on_execute_callback"] = [ScriptedOperator.Ok("notify")];
        watched.ExpandKwargs(new LiteralMapSource(System.Text.Json.JsonSerializer.SerializeToElement(new object[] { new { }, new { } })));
        var dag = new Dag("mapped_empty") { Schedule = "@once", StartDate = Now.AddDays(-1), Tasks = { fanOut, watched, ScriptedOperator.Ok("after") } };
        _ = fanOut >> watched >> dag.Tasks[2];
        var scheduler = Create(f, executor, dag);
        for (var i = 0; i < 5 && (await f.RunsAsync("mapped_empty")) is not [{ State: DagRunState.Success }]; i++)
        {
            await scheduler.StepAsync();
        }

        var run = Assert.Single(await f.RunsAsync("mapped_empty"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal(["after", "watched", "watched"], executor.Seen.Select(s => s.TaskId).Order()); // a callback needs the try
        var instances = (await f.Store.ListTaskInstancesAsync("mapped_empty", run.RunId)).Where(t => t.TaskId == "fan_out").OrderBy(t => t.MapIndex).ToList();
        Assert.Equal([(0, TaskInstanceState.Success, 1), (1, TaskInstanceState.Success, 1), (2, TaskInstanceState.Success, 1)], instances.Select(t => (t.MapIndex, t.State, t.TryNumber)));
        Assert.Empty(await f.Store.ListTriesAsync("mapped_empty", "fan_out", run.RunId));
    }

    [Fact]
    public async Task An_executor_that_throws_fails_the_try_instead_of_leaving_it_running()
    {
        await using var f = new Fixture(Now);
        var executor = new ScriptedExecutor((r, _) => r.TaskInstance.TryNumber == 1 ? throw new InvalidOperationException("broken executor") : Task.FromResult(TryResult.Success), f.Time);
        var dag = new Dag("throws")
        {
            Schedule = "@once",
            StartDate = Now.AddDays(-1),
            Tasks = { new ScriptedOperator("work", (_, _) => Task.FromResult<object?>(null)) { Retries = 1, RetryDelay = TimeSpan.Zero } },
        };
        var scheduler = Create(f, executor, dag);
        for (var i = 0; i < 5 && (await f.RunsAsync("throws")) is not [{ State: DagRunState.Success }]; i++)
        {
            await scheduler.StepAsync();
        }

        var run = Assert.Single(await f.RunsAsync("throws"));
        Assert.Equal(DagRunState.Success, run.State);
        var tries = await f.Store.ListTriesAsync("throws", "work", run.RunId);
        Assert.Equal([(1, TaskInstanceState.UpForRetry), (2, TaskInstanceState.Success)], tries.OrderBy(t => t.TryNumber).Select(t => (t.TryNumber, t.State)));
    }

    [Fact]
    public async Task Every_try_goes_through_the_executor_once_stored_as_running_and_its_outcome_is_recorded()
    {
        await using var f = new Fixture(Now);
        var executor = new ScriptedExecutor((r, _) => Task.FromResult(r.TaskInstance.TaskId == "flaky" && r.TaskInstance.TryNumber == 1 ? TryResult.Failed : TryResult.Success), f.Time);
        var dag = new Dag("seam")
        {
            Schedule = "@once",
            StartDate = Now.AddDays(-1),
            Tasks = { ScriptedOperator.Ok("first"), new ScriptedOperator("flaky", (_, _) => Task.FromResult<object?>(null)) { Retries = 1, RetryDelay = TimeSpan.Zero } },
        };
        _ = dag.Tasks[0] >> dag.Tasks[1];
        var scheduler = Create(f, executor, dag);
        await scheduler.StepAsync();
        await scheduler.StepAsync();

        var run = Assert.Single(await f.RunsAsync("seam"));
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal(
            [("first", 1, TaskInstanceState.Running, null), ("flaky", 1, TaskInstanceState.Running, null), ("flaky", 2, TaskInstanceState.Running, null)],
            executor.Seen);
        var tries = await f.Store.ListTriesAsync("seam", "flaky", run.RunId);
        Assert.Equal([(1, TaskInstanceState.UpForRetry, "ns/flaky-1"), (2, TaskInstanceState.Success, "ns/flaky-2")], tries.OrderBy(t => t.TryNumber).Select(t => (t.TryNumber, t.State, t.ExternalId)));
        Assert.Equal(0, ((ScriptedOperator)dag.Tasks[0]).Executions); // the operator itself is the executor's business
    }

    [Fact]
    public async Task A_try_marked_failed_is_killed_through_its_control_and_an_interrupted_try_stays_running()
    {
        await using var f = new Fixture(Now);
        var killedWith = new TaskCompletionSource<string?>();
        var executor = new ScriptedExecutor(
            async (r, control) =>
            {
                if (r.TaskInstance.TaskId == "interrupted")
                {
                    return TryResult.Interrupted;
                }

                await Task.Delay(Timeout.Infinite, control.Kill).ContinueWith(_ => { }, TaskScheduler.Default);
                killedWith.TrySetResult(control.KillReason);
                return TryResult.Failed;
            },
            f.Time);
        var dag = new Dag("killed") { Schedule = "@once", StartDate = Now.AddDays(-1), Tasks = { ScriptedOperator.Ok("work"), ScriptedOperator.Ok("interrupted") } };
        var scheduler = Create(f, executor, dag);
        var step = scheduler.StepAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        TaskInstance? running = null;
        while (running is null && DateTime.UtcNow < deadline)
        {
            var run = (await f.RunsAsync("killed")).SingleOrDefault();
            running = run is null ? null : await f.Store.GetTaskInstanceAsync("killed", "work", run.RunId) is { State: TaskInstanceState.Running } ti && scheduler.RunningCount > 0 ? ti : null;
            await Task.Delay(10);
        }

        Assert.NotNull(running);
        await f.Store.MarkTaskInstanceAsync(running, TaskInstanceState.Failed, new StateActor("admin", "CLI"), Now);
        scheduler.Wake();
        Assert.Equal("its state was set to failed by admin via CLI", await killedWith.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        await step.WaitAsync(TimeSpan.FromSeconds(60));

        var tis = await f.TisAsync((await f.RunsAsync("killed")).Single());
        Assert.Equal((TaskInstanceState.Failed, "admin via CLI"), (tis["work"].State, tis["work"].ChangedBy));
        Assert.Equal(TaskInstanceState.Running, tis["interrupted"].State); // left for the restart to resume
    }
}
