namespace Sirocco;

/// <summary>When a task may run given its upstream tasks' states (Airflow's trigger rules).</summary>
public enum TriggerRule
{
    /// <summary>Every upstream task succeeded (the default).</summary>
    AllSuccess,

    /// <summary>Every upstream task failed or is upstream_failed.</summary>
    AllFailed,

    /// <summary>Every upstream task finished, whatever its state.</summary>
    AllDone,

    /// <summary>Every upstream task was skipped.</summary>
    AllSkipped,

    /// <summary>At least one upstream task succeeded.</summary>
    OneSuccess,

    /// <summary>At least one upstream task failed.</summary>
    OneFailed,

    /// <summary>At least one upstream task succeeded or failed.</summary>
    OneDone,

    /// <summary>No upstream task failed (success or skipped).</summary>
    NoneFailed,

    /// <summary>No upstream task failed and at least one succeeded.</summary>
    NoneFailedMinOneSuccess,

    /// <summary>No upstream task was skipped.</summary>
    NoneSkipped,

    /// <summary>Run whatever the upstream states.</summary>
    Always,
}

/// <summary>Airflow's snake_case names of trigger rules.</summary>
public static class TriggerRuleNames
{
    /// <summary>The snake_case name (<c>all_success</c>).</summary>
    public static string ToName(this TriggerRule rule) =>
        string.Concat(rule.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>Parses a snake_case name; the error lists the valid names.</summary>
    public static TriggerRule Parse(string name)
    {
        foreach (var r in Enum.GetValues<TriggerRule>())
        {
            if (string.Equals(r.ToName(), name, StringComparison.OrdinalIgnoreCase))
            {
                return r;
            }
        }

        throw new SiroccoException(
            $"unknown trigger_rule '{name}'; valid rules: {string.Join(", ", Enum.GetValues<TriggerRule>().Select(r => r.ToName()))}");
    }
}
