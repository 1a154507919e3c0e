using System.Collections.Concurrent;

namespace Sirocco.Scheduler.Tests;

/// <summary>A DAG's on_success_callback / on_failure_callback: once per ended run, with Airflow's reason and context.</summary>
public sealed class DagCallbackTests
{
    private static DateTimeOffset Utc(int y, int m, int d, int h = 0) => new(y, m, d, h, 0, 0, TimeSpan.Zero);

    private sealed record Call(string Callback, string? Kind, string? Reason, string TaskId, DagRunState RunState, string RunId);

    private static ScriptedOperator Recording(string id, ConcurrentQueue<Call> calls, bool fail = false) => new(id, (ctx, _) =>
    {
        calls.Enqueue(new Call(id, ctx.CallbackKind, ctx.CallbackReason, ctx.TaskInstance.TaskId, ctx.DagRun.State, ctx.DagRun.RunId));
        ctx.Log($"{id} saw reason {ctx.CallbackReason}");
        return fail ? throw new SiroccoException($"{id} broke on purpose") : Task.FromResult<object?>(null);
    });

    [Fact]
    public async Task A_failed_run_calls_on_failure_once_in_the_context_of_its_failed_task_and_a_broken_callback_changes_nothing()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var calls = new ConcurrentQueue<Call>();
        var first = ScriptedOperator.Ok("first");
        var breaks = ScriptedOperator.Fail("breaks");
        var after = ScriptedOperator.Ok("after");
        var dag = new Dag("dag_callbacks_fail") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Catchup = false, Tasks = { first } };
        _ = first >> breaks >> after;
        dag.DagCallbacks["on_failure_callback"] = [Recording("alert", calls, fail: true), Recording("page", calls)];
        dag.DagCallbacks["on_success_callback"] = [Recording("celebrate", calls)];
        var scheduler = f.Create(dag);
        await scheduler.StepAsync();
        await scheduler.StepAsync(); // a later pass calls nothing again

        var run = Assert.Single(await f.RunsAsync("dag_callbacks_fail"));
        Assert.Equal(DagRunState.Failed, run.State);
        Assert.Equal(
            [new Call("alert", "on_failure_callback", "task_failure", "breaks", DagRunState.Failed, run.RunId), new Call("page", "on_failure_callback", "task_failure", "breaks", DagRunState.Failed, run.RunId)],
            calls.ToArray());

        // The first callback's failure is in the run's callback log, and the second ran anyway.
        var log = await File.ReadAllTextAsync(Path.Combine(f.LogFolder, "dag_callbacks_fail", ".dag_callbacks", AirflowTime.IsoFormat(run.LogicalDate) + ".log"));
        Assert.Contains("on_failure_callback alert failed: alert broke on purpose", log, StringComparison.Ordinal);
        Assert.Contains("page saw reason task_failure", log, StringComparison.Ordinal);
        Assert.Contains("on_failure_callback page finished", log, StringComparison.Ordinal);
        Assert.Equal(DagRunState.Failed, Assert.Single(await f.RunsAsync("dag_callbacks_fail")).State);
    }

    [Fact]
    public async Task A_successful_run_calls_on_success_with_its_last_task()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var calls = new ConcurrentQueue<Call>();
        var a = ScriptedOperator.Ok("a");
        var b = ScriptedOperator.Ok("b");
        var dag = new Dag("dag_callbacks_ok") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Catchup = false, Tasks = { a } };
        _ = a >> b;
        dag.DagCallbacks["on_success_callback"] = [Recording("celebrate", calls)];
        dag.DagCallbacks["on_failure_callback"] = [Recording("alert", calls)];
        await f.Create(dag).StepAsync();

        var run = Assert.Single(await f.RunsAsync("dag_callbacks_ok"));
        Assert.Equal([new Call("celebrate", "on_success_callback", "success", "b", DagRunState.Success, run.RunId)], calls.ToArray());
    }

    [Fact]
    public async Task A_run_past_its_dagrun_timeout_calls_on_failure_with_reason_timed_out()
    {
        await using var f = new Fixture(Utc(2024, 1, 2, 1));
        var calls = new ConcurrentQueue<Call>();
        var started = new TaskCompletionSource();
        var slow = new ScriptedOperator("slow", async (_, ct) => { started.TrySetResult(); await Task.Delay(Timeout.Infinite, ct); return null; });
        var dag = new Dag("dag_callbacks_timeout") { Schedule = "@daily", StartDate = Utc(2024, 1, 1), Catchup = false, DagrunTimeout = TimeSpan.FromMinutes(10), Tasks = { slow } };
        dag.DagCallbacks["on_failure_callback"] = [Recording("alert", calls)];
        var scheduler = f.Create(dag);
        var step = scheduler.StepAsync();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        f.Time.Advance(TimeSpan.FromMinutes(10));
        await step.WaitAsync(TimeSpan.FromSeconds(10));

        var call = Assert.Single(calls);
        Assert.Equal(("alert", "timed_out", "slow", DagRunState.Failed), (call.Callback, call.Reason, call.TaskId, call.RunState));
    }
}
