namespace Sirocco.Scheduler;

/// <summary>What the trigger rule says about a task whose upstream tasks are in given states.</summary>
internal enum Readiness
{
    /// <summary>Not yet: upstream tasks are still to finish.</summary>
    Wait,

    /// <summary>The task may run.</summary>
    Run,

    /// <summary>The task will not run and ends skipped.</summary>
    Skip,

    /// <summary>The task will not run and ends upstream_failed.</summary>
    UpstreamFailed,
}

/// <summary>Counts of a task's direct upstream tasks by state.</summary>
internal readonly record struct UpstreamCounts(int Total, int Success, int Skipped, int Failed, int UpstreamFailed, int Removed)
{
    /// <summary>Upstream tasks in a finished state.</summary>
    public int Done => Success + Skipped + Failed + UpstreamFailed + Removed;

    public static UpstreamCounts Of(IEnumerable<TaskInstanceState> states)
    {
        int total = 0, success = 0, skipped = 0, failed = 0, upstreamFailed = 0, removed = 0;
        foreach (var s in states)
        {
            total++;
            switch (s)
            {
                case TaskInstanceState.Success: success++; break;
                case TaskInstanceState.Skipped: skipped++; break;
                case TaskInstanceState.Failed: failed++; break;
                case TaskInstanceState.UpstreamFailed: upstreamFailed++; break;
                case TaskInstanceState.Removed: removed++; break;
            }
        }

        return new UpstreamCounts(total, success, skipped, failed, upstreamFailed, removed);
    }
}

/// <summary>
/// Airflow's trigger rules with upstream-failed and skip propagation (TriggerRuleDep with flag_upstream_failed): first
/// whether the task can never run (and in which state it ends), then whether it may run now.
/// </summary>
internal static class TriggerRules
{
    public static Readiness Evaluate(TriggerRule rule, UpstreamCounts c)
    {
        if (c.Total == 0)
        {
            return Readiness.Run; // no upstream task: nothing to wait for, whatever the rule
        }

        var allDone = c.Done >= c.Total;
        var failures = c.Failed + c.UpstreamFailed;

        // A decided end state comes first.
        switch (rule)
        {
            case TriggerRule.AllSuccess when failures > 0: return Readiness.UpstreamFailed;
            case TriggerRule.AllSuccess when c.Skipped > 0: return Readiness.Skip;
            case TriggerRule.AllFailed when c.Success + c.Skipped > 0: return Readiness.Skip;
            case TriggerRule.AllSkipped when c.Success + failures > 0: return Readiness.Skip;
            case TriggerRule.OneSuccess when allDone && c.Done == c.Skipped: return Readiness.Skip;
            case TriggerRule.OneSuccess when allDone && c.Success == 0: return Readiness.UpstreamFailed;
            case TriggerRule.OneFailed when allDone && failures == 0: return Readiness.Skip;
            case TriggerRule.OneDone when allDone && c.Success + c.Failed == 0: return Readiness.Skip;
            case TriggerRule.NoneFailed when failures > 0: return Readiness.UpstreamFailed;
            case TriggerRule.NoneFailedMinOneSuccess when failures > 0: return Readiness.UpstreamFailed;
            case TriggerRule.NoneFailedMinOneSuccess when c.Skipped == c.Total: return Readiness.Skip;
            case TriggerRule.NoneSkipped when c.Skipped > 0: return Readiness.Skip;
        }

        var met = rule switch
        {
            TriggerRule.AllSuccess => c.Success == c.Total,
            TriggerRule.AllFailed => failures == c.Total,
            TriggerRule.AllDone => allDone,
            TriggerRule.AllSkipped => c.Skipped == c.Total,
            TriggerRule.OneSuccess => c.Success > 0,
            TriggerRule.OneFailed => failures > 0,
            TriggerRule.OneDone => c.Success + c.Failed > 0,
            TriggerRule.NoneFailed => c.Success + c.Skipped == c.Total,
            TriggerRule.NoneFailedMinOneSuccess => c.Success + c.Skipped == c.Total && c.Success > 0,
            TriggerRule.NoneSkipped => allDone,
            TriggerRule.Always => true,
            _ => false,
        };
        return met ? Readiness.Run : Readiness.Wait;
    }
}
