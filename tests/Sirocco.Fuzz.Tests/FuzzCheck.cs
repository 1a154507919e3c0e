using Xunit.Abstractions;

namespace Sirocco.Fuzz.Tests;

/// <summary>Runs a target with the configured seed and budget, logs the report and checks it.</summary>
internal static class FuzzCheck
{
    /// <summary>
    /// Runs <c>SIROCCO_FUZZ_CASES</c> cases (else <paramref name="defaultCases"/>) on a started target and fails with
    /// every failing case's number and input. With enough cases, both outcomes must occur: a generator whose inputs are
    /// all refused (or all taken) would test little.
    /// </summary>
    public static async Task<FuzzReport> RunAsync(IFuzzTarget target, int defaultCases, ITestOutputHelper output)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        var cases = FuzzSettings.Cases(defaultCases);
        var report = await FuzzRunner.RunAsync(target, FuzzSettings.Seed, cases, cancellationToken: stop.Token);
        output.WriteLine(report.Summary());
        foreach (var refusal in report.SampleRefusals)
        {
            output.WriteLine("  refused: " + FuzzReport.Printable(refusal, 300));
        }

        Assert.True(report.Failures.Count == 0, report.Describe());
        Assert.Equal(cases, report.Cases);
        if (cases >= 20)
        {
            Assert.True(report.Accepted > 0, $"no case was accepted: the generator only produces broken input\n{report.Summary()}");
            Assert.True(report.Refused > 0, $"no case was refused: the generator only produces valid input\n{report.Summary()}");
        }

        return report;
    }

    /// <summary>
    /// Checks one input found by the fuzzer (a bug now fixed): it ends within <paramref name="limit"/>, breaks no rule,
    /// and is taken or refused as expected, a refusal's message containing <paramref name="expected"/>.
    /// </summary>
    public static async Task FoundInputAsync(Func<CancellationToken, Task<Verdict>> run, bool accepted, string expected, TimeSpan limit)
    {
        using var stop = new CancellationTokenSource(limit);
        var task = Task.Run(() => run(stop.Token));
        Verdict verdict;
        try
        {
            verdict = await task.WaitAsync(limit);
        }
        catch (FuzzFailureException e)
        {
            throw new Xunit.Sdk.XunitException("the input breaks a rule again: " + e.Message);
        }

        Assert.True(verdict.Accepted == accepted, $"expected {(accepted ? "acceptance" : "a refusal")}, got {verdict}");
        Assert.Contains(expected, verdict.Message ?? string.Empty, StringComparison.Ordinal);
    }
}

/// <summary>A target started once for the tests of a class, and stopped after them.</summary>
public abstract class StartedTarget : IAsyncLifetime
{
    private protected StartedTarget(IFuzzTarget target) => Target = target;

    internal IFuzzTarget Target { get; }

    public Task InitializeAsync() => Target.StartAsync(CancellationToken.None);

    public Task DisposeAsync() => Target.DisposeAsync().AsTask();
}
