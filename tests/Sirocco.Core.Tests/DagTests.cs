using Sirocco.Scheduling;

namespace Sirocco.Core.Tests;

public class DagTests
{
    [Fact]
    public void Collection_initializer_and_shift_operators_build_the_graph()
    {
        var a = new EmptyOperator("a");
        var b = new EmptyOperator("b");
        var c = new EmptyOperator("c");
        var d = new EmptyOperator("d");
        var dag = new Dag("example") { a, b, c };
        _ = a >> new[] { b, c };
        _ = new TaskList(b, c) >> d; // d joins the DAG of its upstream tasks, as in Airflow

        Assert.Same(dag, d.Dag);
        Assert.Equal(["b", "c"], a.DownstreamTaskIds.Order());
        Assert.Equal(["b", "c"], d.UpstreamTaskIds.Order());
        Assert.Equal(["a", "b", "c", "d"], dag.Tasks.Select(t => t.TaskId));
        var order = dag.TopologicalOrder().Select(t => t.TaskId).ToList();
        Assert.True(order.IndexOf("a") < order.IndexOf("b") && order.IndexOf("b") < order.IndexOf("d"));
    }

    [Fact]
    public void Left_shift_and_set_upstream_mean_the_same_as_right_shift()
    {
        var a = new EmptyOperator("a");
        var b = new EmptyOperator("b");
        var c = new EmptyOperator("c");
        _ = new Dag("d") { Tasks = { a, b, c } };
        _ = b << a;
        c.SetUpstream(b);
        Assert.Contains("a", b.UpstreamTaskIds);
        Assert.Contains("c", b.DownstreamTaskIds);
    }

    [Fact]
    public void A_cycle_is_reported_with_its_path()
    {
        var a = new EmptyOperator("a");
        var b = new EmptyOperator("b");
        var c = new EmptyOperator("c");
        var dag = new Dag("cyclic") { a, b, c };
        _ = a >> b >> c >> a;
        var e = Assert.Throws<SiroccoException>(dag.Validate);
        Assert.Equal("Cycle detected in DAG cyclic: a >> b >> c >> a", e.Message);
    }

    [Fact]
    public void A_chain_of_a_hundred_thousand_tasks_is_ordered_without_running_out_of_stack()
    {
        // Found by the fuzz suite: the depth-first search recursed once per task, and a long chain built in a loop of a
        // DAG file ended the process with a stack overflow.
        var tasks = Enumerable.Range(0, 100_000).Select(i => new EmptyOperator($"t{i}")).ToList();
        var dag = new Dag("long_chain");
        foreach (var t in tasks)
        {
            dag.Add(t);
        }

        for (var i = 1; i < tasks.Count; i++)
        {
            _ = tasks[i - 1] >> tasks[i];
        }

        dag.Validate();
        Assert.Equal(tasks.Select(t => t.TaskId), dag.TopologicalOrder().Select(t => t.TaskId));
        _ = tasks[^1] >> tasks[0];
        Assert.StartsWith("Cycle detected in DAG long_chain: t0 >> t1 >> t2", Assert.Throws<SiroccoException>(dag.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_task_cannot_depend_on_itself_or_be_added_twice()
    {
        var a = new EmptyOperator("a");
        var dag = new Dag("d") { a };
        Assert.Throws<SiroccoException>(() => a >> a);
        var e = Assert.Throws<SiroccoException>(() => dag.Add(new EmptyOperator("a")));
        Assert.Contains("'a' has already been added", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tasks_of_two_dags_cannot_be_linked()
    {
        var a = new EmptyOperator("a");
        var b = new EmptyOperator("b");
        _ = new Dag("one") { a };
        _ = new Dag("two") { b };
        var e = Assert.Throws<SiroccoException>(() => a >> b);
        Assert.Contains("more than one DAG", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("")]
    [InlineData("slash/id")]
    public void Invalid_ids_are_rejected_with_the_id_in_the_message(string id)
    {
        var e = Assert.Throws<SiroccoException>(() => new Dag(id));
        Assert.Contains($"'{id}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_args_apply_to_tasks_that_do_not_set_a_value()
    {
        var explicitTask = new EmptyOperator("explicit") { Retries = 1, Owner = "me" };
        var defaulted = new EmptyOperator("defaulted");
        var dag = new Dag("d")
        {
            DefaultArgs = new()
            {
                ["owner"] = "data-team",
                ["retries"] = 3,
                ["retry_delay"] = TimeSpan.FromMinutes(2),
                ["start_date"] = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
                ["trigger_rule"] = "all_done",
                ["execution_timeout"] = 30.0,
            },
        };
        dag.Add(explicitTask);
        dag.Add(defaulted);

        Assert.Equal(1, explicitTask.Retries);
        Assert.Equal("me", explicitTask.Owner);
        Assert.Equal(3, defaulted.Retries);
        Assert.Equal("data-team", defaulted.Owner);
        Assert.Equal(TimeSpan.FromMinutes(2), defaulted.RetryDelay);
        Assert.Equal(TriggerRule.AllDone, defaulted.TriggerRule);
        Assert.Equal(TimeSpan.FromSeconds(30), defaulted.ExecutionTimeout);
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), dag.StartDate);

        // Airflow's own defaults when neither the task nor default_args say anything.
        var bare = new EmptyOperator("bare");
        Assert.Equal(0, bare.Retries);
        Assert.Equal(TimeSpan.FromMinutes(5), bare.RetryDelay);
        Assert.Equal("default_pool", bare.Pool);
        Assert.Equal("airflow", bare.Owner);
        Assert.True(bare.DoXcomPush);
    }

    [Fact]
    public void A_default_arg_of_the_wrong_type_names_the_key()
    {
        var t = new EmptyOperator("t");
        _ = new Dag("d") { DefaultArgs = new() { ["retries"] = "many" }, Tasks = { t } };
        var e = Assert.Throws<SiroccoException>(() => t.Retries);
        Assert.Contains("default_args['retries']", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trigger_rules_and_states_use_airflow_names()
    {
        Assert.Equal("none_failed_min_one_success", TriggerRule.NoneFailedMinOneSuccess.ToName());
        Assert.Equal(TriggerRule.OneFailed, TriggerRuleNames.Parse("one_failed"));
        Assert.Equal("up_for_retry", TaskInstanceState.UpForRetry.ToName());
        Assert.Equal(TaskInstanceState.UpstreamFailed, StateNames.ParseTaskInstanceState("upstream_failed"));
        Assert.Throws<SiroccoException>(() => TriggerRuleNames.Parse("sometimes"));
    }

    [Fact]
    public void A_null_schedule_means_manual_runs_only_as_schedule_None_does_in_Airflow()
    {
        var dag = new Dag("manual_only") { Schedule = null };
        Assert.Same(Schedule.None, dag.Schedule);
        Assert.NotSame(Schedule.None, new Dag("daily").Schedule);
    }
}
