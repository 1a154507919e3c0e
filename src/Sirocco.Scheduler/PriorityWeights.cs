namespace Sirocco.Scheduler;

/// <summary>
/// Effective priorities by Airflow's default weight rule (<c>downstream</c>): a task's own weight plus the weights of
/// every task downstream of it, so that long chains start first.
/// </summary>
internal static class PriorityWeights
{
    public static IReadOnlyDictionary<string, int> Compute(Dag dag)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var descendants = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);

        // Reverse topological order: each task's descendants are known when it is visited.
        foreach (var task in dag.TopologicalOrder().Reverse())
        {
            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in task.DownstreamTaskIds)
            {
                set.Add(d);
                set.UnionWith(descendants[d]);
            }

            descendants[task.TaskId] = set;
            long weight = task.PriorityWeight;
            foreach (var d in set)
            {
                weight += dag.GetTask(d).PriorityWeight;
            }

            result[task.TaskId] = (int)Math.Clamp(weight, int.MinValue, int.MaxValue);
        }

        return result;
    }
}
