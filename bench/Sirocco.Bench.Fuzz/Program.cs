// The fuzz suite with a large budget: the generators and targets of tests/Sirocco.Fuzz.Tests, 10,000 cases per target
// (C# DAG snippets: 1,000, each is a Roslyn compilation), printing cases/s and failures per target.
// dotnet run -c Release --project bench/Sirocco.Bench.Fuzz [-- --cases N] [--csharp-cases N] [--seed S] [--target NAME]...
//     [--case I] [--trace] [--slow MS]
// --case I runs only case I (of each chosen target) and prints its input: how a failure of the test suite is reproduced.
// --trace prints each case's number before it runs (to find the case that takes the process down), --slow MS prints
// every case that took longer than MS milliseconds.
using System.Diagnostics;
using System.Globalization;
using Sirocco.Fuzz;

var options = BenchOptions.Parse(args);
var targets = new (string Name, Func<IFuzzTarget> Create, bool Slow)[]
{
    ("airflow-dag", () => new AirflowDagTarget(), false),
    ("template", () => new TemplateTarget(), false),
    ("csharp-dag", () => new CSharpDagTarget(), true),
    ("web-api", () => new WebApiTarget(), false),
    ("kubernetes", () => new KubernetesTarget(), false),
};

Console.WriteLine($"Fuzz bench: seed {options.Seed}, {options.Cases} cases per target ({options.CSharpCases} for C# snippets), " +
    $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
var failed = 0;
foreach (var (name, create, slow) in targets)
{
    if (options.Targets.Count > 0 && !options.Targets.Contains(name))
    {
        continue;
    }

    await using var target = create();
    var started = Stopwatch.StartNew();
    await target.StartAsync(CancellationToken.None);
    var startup = started.Elapsed;
    var cases = options.Case is not null ? 1 : slow ? options.CSharpCases : options.Cases;
    var report = await FuzzRunner.RunAsync(target, options.Seed, cases, options.Case ?? 0, (index, input) =>
    {
        if (options.Trace || options.Case is not null)
        {
            Console.Error.WriteLine($"[{name} case {index}] {(options.Case is not null ? FuzzReport.Printable(input) : string.Empty)}");
        }
    }, options.SlowCase is null ? null : (index, time, input) =>
    {
        if (time >= options.SlowCase)
        {
            Console.WriteLine($"  slow: {name} case {index} took {time.TotalMilliseconds:0} ms: {FuzzReport.Printable(input, 160).ReplaceLineEndings(" ")}");
        }
    });
    Console.WriteLine(report.Summary() + $" (start-up {startup.TotalSeconds:0.0} s)");
    if (report.Failures.Count > 0 || options.Case is not null)
    {
        Console.WriteLine(report.Describe(most: 5));
        foreach (var failure in report.Failures)
        {
            Console.WriteLine($"  failed: {name} case {failure.Index}: {FuzzReport.Printable(failure.Problem, 240).ReplaceLineEndings(" ")}");
        }

        foreach (var refusal in report.SampleRefusals.Take(options.Case is not null ? 1 : 0))
        {
            Console.WriteLine("refused: " + refusal);
        }
    }

    failed += report.Failures.Count;
}

Console.WriteLine(failed == 0 ? "no failures" : $"{failed} failures");
return failed == 0 ? 0 : 1;

/// <summary>The command line.</summary>
internal sealed record BenchOptions(int Seed, int Cases, int CSharpCases, HashSet<string> Targets, int? Case, bool Trace, TimeSpan? SlowCase)
{
    public static BenchOptions Parse(string[] args)
    {
        var seed = FuzzSettings.Seed;
        var cases = FuzzSettings.Cases(10_000);
        var csharp = FuzzSettings.Cases(1_000);
        var targets = new HashSet<string>(StringComparer.Ordinal);
        int? single = null;
        var trace = false;
        TimeSpan? slow = null;
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--seed": seed = Next(); break;
                case "--cases": cases = Next(); break;
                case "--csharp-cases": csharp = Next(); break;
                case "--target": targets.Add(args[++i]); break;
                case "--case": single = Next(); break;
                case "--trace": trace = true; break;
                case "--slow": slow = TimeSpan.FromMilliseconds(Next()); break;
                default: throw new ArgumentException($"unknown option {args[i]}; see the comment at the top of Program.cs");
            }
        }

        return new BenchOptions(seed, cases, csharp, targets, single, trace, slow);
    }
}
