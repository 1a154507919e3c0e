namespace Sirocco.Scheduler.Tests;

/// <summary>A try that asks to skip tasks (a branch not taken, a short circuit), and how the skips propagate.</summary>
public sealed class SkipTests
{
    [Fact]
    public async Task Tasks_a_successful_try_skips_end_skipped_and_trigger_rules_carry_the_skip_on()
    {
        await using var f = new Fixture(new DateTimeOffset(2024, 1, 2, 1, 0, 0, TimeSpan.Zero));
        var branch = new ScriptedOperator("branch", (ctx, _) =>
        {
            ctx.Recorder.SkipTasks(["not_taken"]);
            return Task.FromResult<object?>("taken");
        });
        var taken = ScriptedOperator.Ok("taken");
        var notTaken = ScriptedOperator.Ok("not_taken");
        var afterNotTaken = ScriptedOperator.Ok("after_not_taken");
        var join = new ScriptedOperator("join", (_, _) => Task.FromResult<object?>(null)) { TriggerRule = TriggerRule.NoneFailedMinOneSuccess };
        var failing = new ScriptedOperator("failing", (ctx, _) =>
        {
            ctx.Recorder.SkipTasks(["spared"]);
            throw new SiroccoException("fails after asking");
        });
        var spared = new ScriptedOperator("spared", (_, _) => Task.FromResult<object?>(null)) { TriggerRule = TriggerRule.AllDone };
        var dag = new Dag("branching") { Schedule = "@daily", StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), Tasks = { branch, failing } };
        _ = branch >> new[] { taken, notTaken };
        _ = notTaken >> afterNotTaken;
        _ = new TaskList(taken, notTaken) >> join;
        _ = failing >> spared;
        await f.Create(dag).StepAsync();

        var run = Assert.Single(await f.RunsAsync("branching"));
        var tis = await f.TisAsync(run);
        Assert.Equal(TaskInstanceState.Success, tis["taken"].State);
        Assert.Equal(TaskInstanceState.Skipped, tis["not_taken"].State);
        Assert.Equal(TaskInstanceState.Skipped, tis["after_not_taken"].State);
        Assert.Equal(TaskInstanceState.Success, tis["join"].State);
        Assert.Equal(0, notTaken.Executions);
        Assert.Equal(TaskInstanceState.Success, tis["spared"].State); // a failed try skips nothing
    }
}
