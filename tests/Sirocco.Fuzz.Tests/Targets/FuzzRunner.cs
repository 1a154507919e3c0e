using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Sirocco.Fuzz;

/// <summary>A case that failed: its number, what went wrong and its input.</summary>
internal sealed record FuzzFailure(int Index, string Problem, string Input);

/// <summary>What one run of a target found.</summary>
internal sealed class FuzzReport(string target, int seed)
{
    /// <summary>The target's name.</summary>
    public string Target { get; } = target;

    /// <summary>The seed of the run.</summary>
    public int Seed { get; } = seed;

    /// <summary>Cases run.</summary>
    public int Cases { get; set; }

    /// <summary>Cases the target took.</summary>
    public int Accepted { get; set; }

    /// <summary>Cases the target refused cleanly.</summary>
    public int Refused { get; set; }

    /// <summary>Cases that broke a rule (crash, hang, 5xx, unclear refusal).</summary>
    public List<FuzzFailure> Failures { get; } = [];

    /// <summary>A few refusal messages, to see what users would read.</summary>
    public List<string> SampleRefusals { get; } = [];

    /// <summary>The whole run.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>The slowest case and its number.</summary>
    public (TimeSpan Time, int Index) Slowest { get; set; }

    /// <summary>Cases per second over the run.</summary>
    public double CasesPerSecond => Elapsed > TimeSpan.Zero ? Cases / Elapsed.TotalSeconds : 0;

    /// <summary>One line: counts, speed and the slowest case.</summary>
    public string Summary() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Target}: {Cases} cases (seed {Seed}) in {Elapsed.TotalSeconds:0.0} s, {CasesPerSecond:0.0} cases/s; {Accepted} accepted, {Refused} refused, " +
        $"{Failures.Count} failures; slowest case {Slowest.Index} ({Slowest.Time.TotalMilliseconds:0} ms)");

    /// <summary>The failures, each with its case number and input, for an assertion message.</summary>
    /// <param name="most">How many failures to print.</param>
    public string Describe(int most = 5)
    {
        var text = new StringBuilder(Summary()).AppendLine();
        foreach (var failure in Failures.Take(most))
        {
            var rerun = $"SIROCCO_FUZZ_SEED={Seed}; bench: --target {Target} --case {failure.Index}";
            text.AppendLine(CultureInfo.InvariantCulture, $"--- {Target} case {failure.Index} ({rerun}): {failure.Problem}")
                .AppendLine("--- input:")
                .AppendLine(Printable(failure.Input));
        }

        if (Failures.Count > most)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"... and {Failures.Count - most} more failures");
        }

        return text.ToString();
    }

    /// <summary>Text made printable: control and unpaired surrogate characters escaped, a huge text cut in the middle.</summary>
    public static string Printable(string text, int most = 3_000)
    {
        var shown = text.Length <= most
            ? text
            : string.Concat(text.AsSpan(0, most * 2 / 3), $"\n[... {text.Length - most:N0} characters left out ...]\n", text.AsSpan(text.Length - most / 3));
        var result = new StringBuilder(shown.Length);
        for (var i = 0; i < shown.Length; i++)
        {
            var c = shown[i];
            var paired = char.IsHighSurrogate(c) && i + 1 < shown.Length && char.IsLowSurrogate(shown[i + 1]);
            if (paired)
            {
                result.Append(c).Append(shown[++i]);
            }
            else if ((char.IsControl(c) && c is not '\n' and not '\t') || char.IsSurrogate(c))
            {
                result.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }
}

/// <summary>Runs generated cases against a target, each under the target's time limit.</summary>
internal static class FuzzRunner
{
    /// <summary>After this many cases that do not end, the run stops: their threads may still be busy.</summary>
    private const int MaxHangs = 3;

    /// <summary>Runs cases <paramref name="first"/> to <paramref name="first"/> + <paramref name="cases"/> - 1.</summary>
    /// <param name="target">A started target.</param>
    /// <param name="seed">The seed of the run.</param>
    /// <param name="cases">How many cases.</param>
    /// <param name="first">The first case's number.</param>
    /// <param name="beforeCase">Called with each case's number and input before it runs (to trace a crash).</param>
    /// <param name="afterCase">Called with each case's number, time and input after it ran.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>The report.</returns>
    public static async Task<FuzzReport> RunAsync(
        IFuzzTarget target,
        int seed,
        int cases,
        int first = 0,
        Action<int, string>? beforeCase = null,
        Action<int, TimeSpan, string>? afterCase = null,
        CancellationToken cancellationToken = default)
    {
        var report = new FuzzReport(target.Name, seed);
        var total = Stopwatch.StartNew();
        var hangs = 0;
        for (var index = first; index < first + cases && hangs < MaxHangs; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PreparedCase prepared;
            try
            {
                prepared = target.Prepare(FuzzSettings.CaseRandom(seed, target.Name, index), index);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A generator bug is a bug of this suite, reported like a product failure so it is not missed.
                report.Failures.Add(new FuzzFailure(index, "the generator threw " + e, string.Empty));
                continue;
            }

            beforeCase?.Invoke(index, prepared.Input);
            report.Cases++;
            var watch = Stopwatch.StartNew();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var run = Task.Run(() => prepared.Run(limit.Token), CancellationToken.None);
            try
            {
                var verdict = await run.WaitAsync(target.CaseTimeLimit, cancellationToken).ConfigureAwait(false);
                Count(report, verdict);
            }
            catch (TimeoutException) when (!run.IsCompleted)
            {
                hangs++;
                await limit.CancelAsync().ConfigureAwait(false);
                _ = run.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                report.Failures.Add(new FuzzFailure(index, $"no answer within {target.CaseTimeLimit.TotalSeconds:0.#} s (a hang)", prepared.Input));
            }
            catch (FuzzFailureException e)
            {
                report.Failures.Add(new FuzzFailure(index, e.Message, prepared.Input));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                report.Failures.Add(new FuzzFailure(index, "crashed: " + e, prepared.Input));
            }

            if (watch.Elapsed > report.Slowest.Time)
            {
                report.Slowest = (watch.Elapsed, index);
            }

            afterCase?.Invoke(index, watch.Elapsed, prepared.Input);
        }

        report.Elapsed = total.Elapsed;
        return report;
    }

    private static void Count(FuzzReport report, Verdict verdict)
    {
        if (verdict.Accepted)
        {
            report.Accepted++;
            return;
        }

        report.Refused++;
        if (report.SampleRefusals.Count < 12 && report.Refused % 7 == 1)
        {
            report.SampleRefusals.Add(verdict.Message ?? string.Empty);
        }
    }
}
