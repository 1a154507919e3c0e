using Sirocco.Storage;

namespace Sirocco.Scheduler.Tests;

/// <summary>The pure choice of the tries to start, with slots counted over every scheduler.</summary>
public class LaunchDecisionsTests
{
    private static readonly DateTimeOffset Day = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static LaunchCandidate C(string dag, string task, int weight = 1, string pool = "default_pool", int slots = 1, int maxActive = 16, int day = 0) =>
        new(new TaskInstance { DagId = dag, TaskId = task, RunId = "r", State = TaskInstanceState.Scheduled, PriorityWeight = weight, Pool = pool, PoolSlots = slots }, maxActive, Day.AddDays(day));

    private static SlotUsage Usage(Dictionary<string, int>? pools = null, Dictionary<string, int>? dags = null) => new(pools ?? [], dags ?? []);

    [Fact]
    public void Priority_then_older_run_then_task_id_within_this_schedulers_free_parallelism()
    {
        var chosen = LaunchDecisions.Choose([C("d", "b"), C("d", "a"), C("d", "old", day: -1), C("d", "urgent", weight: 9)], Usage(), new Dictionary<string, Pool>(), freeParallelism: 3);
        Assert.Equal(["urgent", "old", "a"], chosen.Select(t => t.TaskId));
    }

    [Fact]
    public void Pool_slots_and_max_active_tasks_count_what_other_schedulers_run()
    {
        var pools = new Dictionary<string, Pool> { ["k8s_pool"] = new("k8s_pool", 4) };

        // Another scheduler runs 3 slots of k8s_pool and 15 tasks of d: one 1-slot task fits, a 2-slot one does not.
        var usage = Usage(new() { ["k8s_pool"] = 3 }, new() { ["d"] = 15 });
        var chosen = LaunchDecisions.Choose([C("e", "wide", pool: "k8s_pool", slots: 2), C("e", "narrow", pool: "k8s_pool"), C("d", "x"), C("d", "y")], usage, pools, freeParallelism: 32);
        Assert.Equal(["narrow", "x"], chosen.Select(t => t.TaskId));

        // An unknown pool has no slots (the task waits); default_pool has 128 when it has no row.
        Assert.Empty(LaunchDecisions.Choose([C("d", "t", pool: "missing")], Usage(), pools, 32));
        Assert.Single(LaunchDecisions.Choose([C("d", "t")], Usage(new() { ["default_pool"] = 127 }), pools, 32));
        Assert.Empty(LaunchDecisions.Choose([C("d", "t")], Usage(new() { ["default_pool"] = 128 }), pools, 32));

        // A pool of -1 slots (Airflow's unlimited) takes any number, whatever runs in it already.
        var unlimited = new Dictionary<string, Pool> { ["any"] = new("any", -1) };
        Assert.Equal(2, LaunchDecisions.Choose([C("d", "a", pool: "any", slots: 50), C("e", "b", pool: "any")], Usage(new() { ["any"] = 1000 }), unlimited, 32).Count);
    }
}
