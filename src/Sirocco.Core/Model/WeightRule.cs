namespace Sirocco;

/// <summary>How a task's effective priority is computed from the <c>priority_weight</c> of it and its relatives (Airflow's weight rules).</summary>
public enum WeightRule
{
    /// <summary>Its own weight plus every downstream task's (the default): long chains start first.</summary>
    Downstream,

    /// <summary>Its own weight plus every upstream task's: runs already under way finish first.</summary>
    Upstream,

    /// <summary>Its own weight only.</summary>
    Absolute,
}

/// <summary>Airflow's lower-case names of weight rules.</summary>
public static class WeightRuleNames
{
    /// <summary>The lower-case name (<c>downstream</c>).</summary>
    public static string ToName(this WeightRule rule) => rule.ToString().ToLowerInvariant();

    /// <summary>Parses a name; the error lists the valid ones.</summary>
    public static WeightRule Parse(string name)
    {
        foreach (var rule in Enum.GetValues<WeightRule>())
        {
            if (string.Equals(rule.ToName(), name, StringComparison.OrdinalIgnoreCase))
            {
                return rule;
            }
        }

        throw new SiroccoException($"unknown weight_rule '{name}'; valid rules: downstream, upstream, absolute");
    }
}
