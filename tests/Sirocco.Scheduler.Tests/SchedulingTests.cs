using Sirocco.Scheduling;

namespace Sirocco.Scheduler.Tests;

/// <summary>Run creation and task execution on fake time.</summary>
public class SchedulingTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0, int mi = 0) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    [Fact]
    public async Task Daily_dag_started_yesterday_gets_exactly_airflows_runs()
    {
        // The seed: schedule timedelta(days=1), start_date = days_ago(1) (midnight yesterday). At 10:00 today Airflow
        // has created one run, for yesterday's interval; the next comes at midnight.
        await using var f = new Fixture(Utc(2024, 1, 3, 10));
        var dag = new Dag("seed_like") { Schedule = TimeSpan.FromDays(1), StartDate = Utc(2024, 1, 2), Tasks = { ScriptedOperator.Ok("t") } };
        var scheduler = f.Create(dag);

        var wake = await scheduler.StepAsync();
        var runs = await f.RunsAsync("seed_like");
        var run = Assert.Single(runs);
        Assert.Equal("scheduled__2024-01-02T00:00:00+00:00", run.RunId);
        Assert.Equal(new DataInterval(Utc(2024, 1, 2), Utc(2024, 1, 3)), run.DataInterval);
        Assert.Equal(DagRunState.Success, run.State);
        Assert.Equal(Utc(2024, 1, 4), wake);

        f.Time.SetUtcNow(Utc(2024, 1, 4, 0, 0));
        await scheduler.StepAsync();
        runs = await f.RunsAsync("seed_like");
        Assert.Equal(["scheduled__2024-01-02T00:00:00+00:00", "scheduled__2024-01-03T00:00:00+00:00"], runs.Select(r => r.RunId));
    }

    [Fact]
    public async Task Catchup_creates_every_missed_interval_within_max_active_runs()
    {
        await using var f = new Fixture(Utc(2024, 1, 6, 12));
        var gate = new TaskCompletionSource();
        var dag = new Dag("catchup")
        {
            Schedule = "@daily",
            StartDate = Utc(2024, 1, 1),
            MaxActiveRuns = 2,
            Tasks = { new ScriptedOperator("wait", async (_, ct) => { await gate.Task.WaitAsync(ct); return null; }) },
        };
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        await WaitUntilAsync(() => scheduler.RunningCount == 2);
        Assert.Equal(2, (await f.RunsAsync("catchup")).Count); // limited by max_active_runs while they run
        gate.SetResult();
        await step;
        await scheduler.StepAsync();
        var runs = await f.RunsAsync("catchup");
        Assert.Equal(5, runs.Count); // Jan 1..5; Jan 6's interval ends at midnight
        Assert.All(runs, r => Assert.Equal(DagRunState.Success, r.State));
        Assert.Equal(Utc(2024, 1, 5), runs[^1].LogicalDate);
    }

    [Fact]
    public async Task Without_catchup_only_the_latest_interval_runs()
    {
        await using var f = new Fixture(Utc(2024, 1, 6, 12));
        var dag = new Dag("nocatchup") { Schedule = "0 0 * * *", StartDate = Utc(2024, 1, 1), Catchup = false, Tasks = { ScriptedOperator.Ok("t") } };
        await f.Create(dag).StepAsync();
        var run = Assert.Single(await f.RunsAsync("nocatchup"));
        Assert.Equal(new DataInterval(Utc(2024, 1, 5), Utc(2024, 1, 6)), run.DataInterval);
    }

    [Fact]
    public async Task A_paused_dag_creates_nothing_and_new_dags_follow_the_paused_at_creation_option()
    {
        await using var f = new Fixture(Utc(2024, 1, 6, 12));
        f.Options = f.Options with { DagsArePausedAtCreation = true };
        var dag = new Dag("paused") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { ScriptedOperator.Ok("t") } };
        var scheduler = f.Create(dag);
        await scheduler.StepAsync();
        Assert.Empty(await f.RunsAsync("paused"));
        Assert.True((await f.Store.GetDagAsync("paused"))!.IsPaused);

        await f.Store.SetDagPausedAsync("paused", false);
        await scheduler.StepAsync();
        Assert.Equal(5, (await f.RunsAsync("paused")).Count);
    }

    [Fact]
    public async Task Manual_trigger_runs_with_conf_and_an_inferred_data_interval()
    {
        await using var f = new Fixture(Utc(2024, 1, 25, 1));
        object? seen = null;
        var dag = new Dag("manual")
        {
            Schedule = "@daily",
            Tasks = { new ScriptedOperator("t", (ctx, _) => { seen = ctx.DagRun.Conf["who"]?.ToString(); return Task.FromResult<object?>(null); }) },
        };
        var scheduler = f.Create(dag);
        await scheduler.StepAsync();
        var run = await scheduler.TriggerAsync("manual", new() { ["who"] = "me" });
        await scheduler.StepAsync();
        var done = await f.Store.GetDagRunAsync("manual", run.RunId);
        Assert.Equal(DagRunState.Success, done!.State);
        Assert.Equal("manual__2024-01-25T01:00:00+00:00", run.RunId);
        Assert.Equal(new DataInterval(Utc(2024, 1, 24), Utc(2024, 1, 25)), done.DataInterval);
        Assert.Equal("me", seen);
    }

    [Fact]
    public async Task Failure_propagates_upstream_failed_and_fails_the_run_while_all_done_tasks_still_run()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var a = ScriptedOperator.Fail("a");
        var b = ScriptedOperator.Ok("b");
        var c = ScriptedOperator.Ok("c");
        var cleanup = new ScriptedOperator("cleanup", (_, _) => Task.FromResult<object?>(null)) { TriggerRule = TriggerRule.AllDone };
        var dag = new Dag("fails") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { a, b, c, cleanup } };
        _ = a >> b >> c;
        _ = c >> cleanup;
        await f.Create(dag).StepAsync();
        var run = Assert.Single(await f.RunsAsync("fails"));
        var tis = await f.TisAsync(run);
        Assert.Equal(TaskInstanceState.Failed, tis["a"].State);
        Assert.Equal(TaskInstanceState.UpstreamFailed, tis["b"].State);
        Assert.Equal(TaskInstanceState.UpstreamFailed, tis["c"].State);
        Assert.Equal(TaskInstanceState.Success, tis["cleanup"].State);
        Assert.Equal(0, b.Executions);
        Assert.Equal(DagRunState.Success, run.State); // the only leaf, cleanup, succeeded — Airflow's rule
    }

    [Fact]
    public async Task A_failed_leaf_fails_the_run_and_skips_propagate()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var skip = new ScriptedOperator("skip", (_, _) => throw new TaskSkippedException("nothing to do"));
        var after = ScriptedOperator.Ok("after");
        var bad = ScriptedOperator.Fail("bad");
        var dag = new Dag("mixed") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { skip, after, bad } };
        _ = skip >> after;
        await f.Create(dag).StepAsync();
        var run = Assert.Single(await f.RunsAsync("mixed"));
        var tis = await f.TisAsync(run);
        Assert.Equal(TaskInstanceState.Skipped, tis["skip"].State);
        Assert.Equal(TaskInstanceState.Skipped, tis["after"].State);
        Assert.Equal(DagRunState.Failed, run.State);
    }

    [Fact]
    public async Task Retries_wait_for_the_retry_delay_and_each_try_has_its_own_log()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var attempts = 0;
        var flaky = new ScriptedOperator("flaky", (ctx, _) =>
        {
            attempts++;
            ctx.Log($"attempt {ctx.TaskInstance.TryNumber}");
            return attempts < 3 ? throw new SiroccoException("boom") : Task.FromResult<object?>("done");
        })
        { Retries = 2, RetryDelay = TimeSpan.FromMinutes(5) };
        var dag = new Dag("retry") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { flaky } };
        var scheduler = f.Create(dag);

        var wake = await scheduler.StepAsync();
        var run = Assert.Single(await f.RunsAsync("retry"));
        var ti = (await f.TisAsync(run))["flaky"];
        Assert.Equal(TaskInstanceState.UpForRetry, ti.State);
        Assert.Equal(1, ti.TryNumber);
        Assert.Equal(Utc(2024, 1, 2, 1, 5), ti.NextRetryAt);
        Assert.Equal(Utc(2024, 1, 2, 1, 5), wake);

        f.Time.Advance(TimeSpan.FromMinutes(4));
        await scheduler.StepAsync();
        Assert.Equal(1, attempts); // not before the delay

        f.Time.Advance(TimeSpan.FromMinutes(1));
        await scheduler.StepAsync();
        f.Time.Advance(TimeSpan.FromMinutes(5));
        await scheduler.StepAsync();
        ti = (await f.TisAsync(run))["flaky"];
        Assert.Equal(TaskInstanceState.Success, ti.State);
        Assert.Equal(3, ti.TryNumber);
        var tries = await f.Store.ListTriesAsync("retry", "flaky", run.RunId);
        Assert.Equal([TaskInstanceState.UpForRetry, TaskInstanceState.UpForRetry, TaskInstanceState.Success], tries.Select(t => t.State));
        for (var n = 1; n <= 3; n++)
        {
            var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "retry", "flaky", run.LogicalDate, n));
            Assert.Contains($"attempt {n}", log, StringComparison.Ordinal);
        }

        Assert.Equal("\"done\"", (await f.Store.GetXComAsync("retry", "flaky", run.RunId, "return_value"))!.Value.GetRawText());
        Assert.Equal(DagRunState.Success, (await f.Store.GetDagRunAsync("retry", run.RunId))!.State);
    }

    [Fact]
    public async Task Execution_timeout_stops_the_try_and_fails_it()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var started = new TaskCompletionSource();
        var slow = new ScriptedOperator("slow", async (_, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        })
        { ExecutionTimeout = TimeSpan.FromSeconds(30) };
        var dag = new Dag("timeout") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { slow } };
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        f.Time.Advance(TimeSpan.FromSeconds(30));
        await step.WaitAsync(TimeSpan.FromSeconds(10));
        var run = Assert.Single(await f.RunsAsync("timeout"));
        Assert.Equal(TaskInstanceState.Failed, (await f.TisAsync(run))["slow"].State);
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "timeout", "slow", run.LogicalDate, 1));
        Assert.Contains("execution_timeout", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("parallelism")]
    [InlineData("pool")]
    [InlineData("max_active_tasks")]
    public async Task Concurrency_limits_hold(string limit)
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var running = 0;
        var peak = 0;
        var gate = new SemaphoreSlim(0);
        var tasks = Enumerable.Range(0, 8).Select(i => (BaseOperator)new ScriptedOperator($"t{i}", async (_, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await gate.WaitAsync(ct);
            Interlocked.Decrement(ref running);
            return null;
        })
        { Pool = limit == "pool" ? "small" : "default_pool" }).ToArray();
        var dag = new Dag("limits") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), MaxActiveTasks = limit == "max_active_tasks" ? 2 : null };
        foreach (var t in tasks)
        {
            dag.Add(t);
        }

        if (limit == "parallelism")
        {
            f.Options = f.Options with { Parallelism = 2 };
        }

        await f.Store.SetPoolAsync(new Storage.Pool("small", 2));
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        for (var released = 0; released < 8; released++)
        {
            var expected = Math.Min(2, 8 - released);
            await WaitUntilAsync(() => Volatile.Read(ref running) == expected);
            Assert.True(Volatile.Read(ref peak) <= 2, $"{peak} ran at once");
            gate.Release();
        }

        await step.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, peak);
        Assert.Equal(DagRunState.Success, Assert.Single(await f.RunsAsync("limits")).State);
    }

    [Fact]
    public async Task Higher_priority_weight_runs_first()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        f.Options = f.Options with { Parallelism = 1 };
        var order = new List<string>();
        BaseOperator Op(string id, int weight) => new ScriptedOperator(id, (_, _) => { order.Add(id); return Task.FromResult<object?>(null); }) { PriorityWeight = weight };
        var dag = new Dag("prio") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { Op("low", 1), Op("high", 10), Op("mid", 5) } };
        await f.Create(dag).StepAsync();
        Assert.Equal(["high", "mid", "low"], order);
    }

    [Fact]
    public async Task Depends_on_past_waits_for_the_previous_run()
    {
        await using var f = new Fixture(Utc(2024, 1, 3, 1));
        var failFirst = true;
        var t = new ScriptedOperator("t", (ctx, _) => failFirst && ctx.DagRun.LogicalDate.Day == 1 ? throw new SiroccoException("no") : Task.FromResult<object?>(null)) { DependsOnPast = true };
        var dag = new Dag("past") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Tasks = { t } };
        var scheduler = f.Create(dag);
        await scheduler.StepAsync();
        var runs = await f.RunsAsync("past");
        Assert.Equal(2, runs.Count);
        Assert.Equal(TaskInstanceState.Failed, (await f.TisAsync(runs[0]))["t"].State);
        Assert.Equal(TaskInstanceState.None, (await f.TisAsync(runs[1]))["t"].State); // waits on the failed past
        Assert.Equal(DagRunState.Running, runs[1].State);
    }

    [Fact]
    public async Task Dagrun_timeout_fails_the_run_and_stops_its_tasks()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var started = new TaskCompletionSource();
        var slow = new ScriptedOperator("slow", async (_, ct) => { started.TrySetResult(); await Task.Delay(Timeout.Infinite, ct); return null; });
        var dag = new Dag("dagrun_timeout") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), DagrunTimeout = TimeSpan.FromMinutes(10), Tasks = { slow } };
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        f.Time.Advance(TimeSpan.FromMinutes(10));
        await step.WaitAsync(TimeSpan.FromSeconds(10));
        var run = Assert.Single(await f.RunsAsync("dagrun_timeout"));
        Assert.Equal(DagRunState.Failed, run.State);
        Assert.Equal(TaskInstanceState.Skipped, (await f.TisAsync(run))["slow"].State);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, cts.Token);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
