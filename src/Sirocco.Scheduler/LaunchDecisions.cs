using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>A task instance ready to start, with the limit of its DAG.</summary>
/// <param name="Ti">The task instance (state scheduled).</param>
/// <param name="MaxActiveTasks">Its DAG's <c>max_active_tasks</c>.</param>
/// <param name="LogicalDate">Its run's logical date (older runs first among equal priorities).</param>
/// <param name="MaxPerTask">Its task's <c>max_active_tis_per_dag</c>, or null.</param>
/// <param name="MaxPerTaskRun">Its task's <c>max_active_tis_per_dagrun</c>, or null.</param>
internal sealed record LaunchCandidate(TaskInstance Ti, int MaxActiveTasks, DateTimeOffset LogicalDate, int? MaxPerTask = null, int? MaxPerTaskRun = null);

/// <summary>
/// Which ready task instances start now: by priority weight, then run, then task id, within this scheduler's free
/// <c>parallelism</c> (per scheduler, as Airflow's), each DAG's <c>max_active_tasks</c>, each task's
/// <c>max_active_tis_per_dag</c>/<c>_per_dagrun</c> and each pool's slots, all
/// counted over every scheduler's queued and running task instances. Pure: no clock, no store.
/// </summary>
internal static class LaunchDecisions
{
    public static List<TaskInstance> Choose(IEnumerable<LaunchCandidate> candidates, SlotUsage usage, IReadOnlyDictionary<string, Pool> pools, int freeParallelism)
    {
        var chosen = new List<TaskInstance>();
        var perDag = new Dictionary<string, int>(usage.TasksPerDag, StringComparer.Ordinal);
        var perPool = new Dictionary<string, int>(usage.PoolSlots, StringComparer.Ordinal);
        var perTask = new Dictionary<string, int>(usage.InstancesPerTask, StringComparer.Ordinal);
        var perTaskRun = new Dictionary<string, int>(usage.InstancesPerTaskRun, StringComparer.Ordinal);
        var ordered = candidates
            .OrderByDescending(c => c.Ti.PriorityWeight)
            .ThenBy(c => c.LogicalDate)
            .ThenBy(c => c.Ti.TaskId, StringComparer.Ordinal)
            .ThenBy(c => c.Ti.MapIndex);
        foreach (var c in ordered)
        {
            if (chosen.Count >= freeParallelism)
            {
                break;
            }

            var ti = c.Ti;
            if (perDag.GetValueOrDefault(ti.DagId) >= c.MaxActiveTasks)
            {
                continue;
            }

            var slots = pools.TryGetValue(ti.Pool, out var pool) ? pool.Slots : (ti.Pool == Pool.DefaultName ? Pool.DefaultSlots : 0);
            if (slots >= 0 && perPool.GetValueOrDefault(ti.Pool) + ti.PoolSlots > slots)
            {
                continue;
            }

            var taskKey = $"{ti.DagId}/{ti.TaskId}";
            var taskRunKey = $"{taskKey}/{ti.RunId}";
            if ((c.MaxPerTask is { } maxTask && perTask.GetValueOrDefault(taskKey) >= maxTask)
                || (c.MaxPerTaskRun is { } maxTaskRun && perTaskRun.GetValueOrDefault(taskRunKey) >= maxTaskRun))
            {
                continue;
            }

            perTask[taskKey] = perTask.GetValueOrDefault(taskKey) + 1;
            perTaskRun[taskRunKey] = perTaskRun.GetValueOrDefault(taskRunKey) + 1;
            perDag[ti.DagId] = perDag.GetValueOrDefault(ti.DagId) + 1;
            perPool[ti.Pool] = perPool.GetValueOrDefault(ti.Pool) + ti.PoolSlots;
            chosen.Add(ti);
        }

        return chosen;
    }
}
