namespace Sirocco.Scheduler;

/// <summary>
/// Effective priorities by each task's weight rule, as Airflow computes them: <c>downstream</c> (the default) adds the
/// weights of every task downstream of it, so long chains start first; <c>upstream</c> adds every upstream task's, so
/// runs already under way finish first; <c>absolute</c> keeps the task's own.
/// </summary>
internal static class PriorityWeights
{
    public static IReadOnlyDictionary<string, int> Compute(Dag dag)
    {
        var order = dag.TopologicalOrder().ToList();
        // Each relation is walked only when a task's rule needs it.
        var descendants = new Lazy<Dictionary<string, HashSet<string>>>(() => Relatives(Enumerable.Reverse(order), t => t.DownstreamTaskIds));
        var ancestors = new Lazy<Dictionary<string, HashSet<string>>>(() => Relatives(order, t => t.UpstreamTaskIds));
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var task in order)
        {
            long weight = task.PriorityWeight;
            var relatives = task.WeightRule switch
            {
                WeightRule.Downstream => descendants.Value[task.TaskId],
                WeightRule.Upstream => ancestors.Value[task.TaskId],
                _ => [],
            };
            foreach (var r in relatives)
            {
                weight += dag.GetTask(r).PriorityWeight;
            }

            result[task.TaskId] = (int)Math.Clamp(weight, int.MinValue, int.MaxValue);
        }

        return result;
    }

    /// <summary>Every task reachable through <paramref name="next"/>, visiting in an order where those come first.</summary>
    private static Dictionary<string, HashSet<string>> Relatives(IEnumerable<BaseOperator> visitOrder, Func<BaseOperator, IEnumerable<string>> next)
    {
        var all = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var task in visitOrder)
        {
            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in next(task))
            {
                set.Add(n);
                set.UnionWith(all[n]);
            }

            all[task.TaskId] = set;
        }

        return all;
    }
}
