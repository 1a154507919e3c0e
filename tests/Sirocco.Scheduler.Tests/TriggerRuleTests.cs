namespace Sirocco.Scheduler.Tests;

/// <summary>The trigger-rule table (Airflow's TriggerRuleDep with upstream-failed propagation).</summary>
public class TriggerRuleTests
{
    // Upstream counts: total, success, skipped, failed, upstream_failed.
    [Theory]
    [InlineData(TriggerRule.AllSuccess, 2, 2, 0, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.AllSuccess, 2, 1, 0, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.AllSuccess, 2, 1, 0, 1, 0, Readiness.UpstreamFailed)]
    [InlineData(TriggerRule.AllSuccess, 2, 1, 0, 0, 1, Readiness.UpstreamFailed)]
    [InlineData(TriggerRule.AllSuccess, 2, 1, 1, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.AllFailed, 2, 0, 0, 1, 1, Readiness.Run)]
    [InlineData(TriggerRule.AllFailed, 2, 0, 0, 1, 0, Readiness.Wait)]
    [InlineData(TriggerRule.AllFailed, 2, 1, 0, 1, 0, Readiness.Skip)]
    [InlineData(TriggerRule.AllDone, 3, 1, 1, 1, 0, Readiness.Run)]
    [InlineData(TriggerRule.AllDone, 3, 1, 1, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.AllSkipped, 2, 0, 2, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.AllSkipped, 2, 0, 1, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.AllSkipped, 2, 1, 1, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.OneSuccess, 3, 1, 0, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.OneSuccess, 3, 0, 0, 1, 0, Readiness.Wait)]
    [InlineData(TriggerRule.OneSuccess, 2, 0, 0, 2, 0, Readiness.UpstreamFailed)]
    [InlineData(TriggerRule.OneSuccess, 2, 0, 2, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.OneFailed, 3, 0, 0, 1, 0, Readiness.Run)]
    [InlineData(TriggerRule.OneFailed, 3, 1, 0, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.OneFailed, 2, 1, 1, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.OneDone, 3, 0, 0, 1, 0, Readiness.Run)]
    [InlineData(TriggerRule.OneDone, 3, 1, 0, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.OneDone, 2, 0, 1, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.OneDone, 2, 0, 2, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.NoneFailed, 2, 1, 1, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.NoneFailed, 2, 1, 0, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.NoneFailed, 2, 1, 0, 1, 0, Readiness.UpstreamFailed)]
    [InlineData(TriggerRule.NoneFailedMinOneSuccess, 2, 1, 1, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.NoneFailedMinOneSuccess, 2, 0, 2, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.NoneFailedMinOneSuccess, 2, 0, 1, 0, 1, Readiness.UpstreamFailed)]
    [InlineData(TriggerRule.NoneSkipped, 2, 1, 0, 1, 0, Readiness.Run)]
    [InlineData(TriggerRule.NoneSkipped, 2, 1, 0, 0, 0, Readiness.Wait)]
    [InlineData(TriggerRule.NoneSkipped, 2, 1, 1, 0, 0, Readiness.Skip)]
    [InlineData(TriggerRule.Always, 2, 0, 0, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.AllSuccess, 0, 0, 0, 0, 0, Readiness.Run)]
    [InlineData(TriggerRule.AllFailed, 0, 0, 0, 0, 0, Readiness.Run)]
    internal void Rule_table(TriggerRule rule, int total, int success, int skipped, int failed, int upstreamFailed, Readiness expected) =>
        Assert.Equal(expected, TriggerRules.Evaluate(rule, new UpstreamCounts(total, success, skipped, failed, upstreamFailed, 0)));

    [Theory]
    [InlineData(2, 17)]
    [InlineData(3, 38)]
    [InlineData(4, 61)]
    public void Exponential_backoff_matches_airflows_hash_jitter(int nextTry, int seconds)
    {
        // Expected values computed with Airflow's formula in Python: ceil(10 * 2**(try-2)) + sha1("d#t#2024-01-01 00:00:00+00:00#try") % that.
        var task = new EmptyOperator("t") { RetryDelay = TimeSpan.FromSeconds(10), RetryExponentialBackoff = true };
        _ = new Dag("d") { task };
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryDelays.Next(task, "d", new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), nextTry));
    }

    [Fact]
    public void Backoff_is_capped_by_max_retry_delay_and_plain_delay_is_constant()
    {
        var capped = new EmptyOperator("t") { RetryDelay = TimeSpan.FromSeconds(10), RetryExponentialBackoff = true, MaxRetryDelay = TimeSpan.FromSeconds(30) };
        var plain = new EmptyOperator("p") { RetryDelay = TimeSpan.FromSeconds(10) };
        _ = new Dag("d") { capped, plain };
        var date = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(30), RetryDelays.Next(capped, "d", date, 4));
        Assert.Equal(TimeSpan.FromSeconds(10), RetryDelays.Next(plain, "d", date, 4));
    }

    [Fact]
    public void Priority_weights_sum_downstream_weights()
    {
        var a = new EmptyOperator("a");
        var b = new EmptyOperator("b") { PriorityWeight = 5 };
        var c = new EmptyOperator("c");
        var d = new EmptyOperator("d");
        var dag = new Dag("w") { a, b, c, d };
        _ = a >> new[] { b, c };
        _ = b >> d;
        _ = c >> d;
        var w = PriorityWeights.Compute(dag);
        Assert.Equal(1, w["d"]);
        Assert.Equal(6, w["b"]);
        Assert.Equal(2, w["c"]);
        Assert.Equal(8, w["a"]); // a + b + c + d, d counted once
    }

    [Fact]
    public void Priority_weights_follow_each_tasks_weight_rule()
    {
        var a = new EmptyOperator("a") { PriorityWeight = 2, WeightRule = WeightRule.Upstream };
        var b = new EmptyOperator("b") { PriorityWeight = 5, WeightRule = WeightRule.Upstream };
        var c = new EmptyOperator("c") { PriorityWeight = 3, WeightRule = WeightRule.Absolute };
        var d = new EmptyOperator("d") { PriorityWeight = 7, WeightRule = WeightRule.Upstream };
        var e = new EmptyOperator("e") { PriorityWeight = 1 };
        var dag = new Dag("rules") { a, b, c, d, e };
        _ = a >> new[] { b, c };
        _ = b >> d;
        _ = c >> d;
        _ = d >> e;
        var w = PriorityWeights.Compute(dag);
        Assert.Equal(2, w["a"]);          // upstream: no ancestors
        Assert.Equal(7, w["b"]);          // 5 + a
        Assert.Equal(3, w["c"]);          // absolute
        Assert.Equal(17, w["d"]);         // 7 + a + b + c, a counted once
        Assert.Equal(1, w["e"]);          // downstream (the default): no descendants
        Assert.Equal("upstream", WeightRuleNames.Parse("UPSTREAM").ToName());
        Assert.Contains("unknown weight_rule 'sideways'", Assert.Throws<SiroccoException>(() => WeightRuleNames.Parse("sideways")).Message, StringComparison.Ordinal);
        var f = new EmptyOperator("f");
        _ = new Dag("defaults") { DefaultArgs = new DefaultArgs { ["weight_rule"] = "absolute" }, Tasks = { f } };
        Assert.Equal(WeightRule.Absolute, f.WeightRule);
    }
}
