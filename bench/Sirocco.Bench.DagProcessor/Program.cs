// Benchmark of issue 14, item 2: the cost of the DAG-processor boundary. 1,000 C# and 1,000 Airflow (.py) DAG files,
// collected cold (empty disk cache) and cached (a restarted host over the filled cache), in-process against
// isolated (each file first run in a sirocco dag-processor-child process). Each measurement runs in a fresh process.
// dotnet run -c Release --project bench/Sirocco.Bench.DagProcessor [-- FILES [cs|py]]
using System.Diagnostics;
using System.Globalization;
using Sirocco.DagFiles;
using Sirocco.DagFiles.Airflow;

if (args.Length == 4 && args[0] == "--measure")
{
    // A fresh process: args = --measure in-process|isolated DAGS HOME.
    var home = args[3];
    var isolated = args[1] == "isolated";
    var watch = Stopwatch.StartNew();
    using var bag = new DagBag(new DagBagOptions
    {
        DagsFolder = args[2],
        CacheFolder = Path.Combine(home, "cache", "dags"),
        Watch = false,
        MaxParallelism = int.TryParse(Environment.GetEnvironmentVariable("BENCH_PARALLELISM"), out var lanes) ? lanes : Environment.ProcessorCount,
        AdditionalParsers = [new AirflowDagFileParser(new AirflowDagFileParserOptions { Environment = new Dictionary<string, string>() })],
        Processor = isolated
            ? new DagProcessorOptions
            {
                FileName = Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet",
                Arguments = [Path.Combine(AppContext.BaseDirectory, "sirocco.dll"), "dag-processor-child"],
                Environment = new Dictionary<string, string> { ["SIROCCO_HOME"] = home },
                MemoryLimitMegabytes = 2048,
            }
            : null,
    });
    var result = await bag.CollectAsync();
    var elapsed = watch.Elapsed;
    var children = ChildrenResidentMegabytes();
    GC.Collect();
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"{elapsed.TotalMilliseconds:0} ms ({elapsed.TotalMilliseconds / result.Stats.Files:0.00} ms/file), dags {result.Dags.Count}, errors {result.ImportErrors.Count}, " +
        $"compiled {result.Stats.Compiled}, disk hits {result.Stats.DiskCacheHits}, host working set {Environment.WorkingSet / 1e6:0} MB, " +
        $"children {children.Count} resident {string.Join("+", children.Select(c => c.ToString("0", CultureInfo.InvariantCulture)))} MB, " +
        $"cache entries {(Directory.Exists(Path.Combine(home, "cache", "dags")) ? Directory.GetFiles(Path.Combine(home, "cache", "dags"), "*.dll").Length : 0)}"));
    return result.ImportErrors.Count == 0 ? 0 : 1;
}

var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
var root = Path.Combine(Path.GetTempPath(), "sirocco-bench-dagprocessor", Guid.NewGuid().ToString("N"));
var seed = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "tests", "Sirocco.DagFiles.Airflow.Tests", "fixtures", "seed_kubernetes_pod_operator.py"));
var csharp = Path.Combine(root, "cs");
var python = Path.Combine(root, "py");
Directory.CreateDirectory(csharp);
Directory.CreateDirectory(python);
for (var i = 0; i < count; i++)
{
    File.WriteAllText(Path.Combine(csharp, $"dag_{i:0000}.cs"), CSharpDag(i));
    File.WriteAllText(Path.Combine(python, $"dag_{i:0000}.py"), seed.Replace("composer_sample_kubernetes_pod", $"composer_sample_kubernetes_pod_{i:0000}", StringComparison.Ordinal));
}

Console.WriteLine($"{count} files per kind, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
try
{
    var only = args.Length > 1 ? args[1] : null;
    foreach (var (kind, folder) in new[] { ("C#", csharp), (".py", python) }.Where(k => only is null || Path.GetFileName(k.Item2) == only))
    {
        foreach (var mode in new[] { "in-process", "isolated" })
        {
            var home = Path.Combine(root, "home-" + Path.GetFileName(folder) + "-" + mode);
            Directory.CreateDirectory(home);
            Console.WriteLine($"{kind,-4} {mode,-10} cold:   {await MeasureAsync(mode, folder, home)}");
            Console.WriteLine($"{kind,-4} {mode,-10} cached: {await MeasureAsync(mode, folder, home)}");
        }
    }
}
finally
{
    Directory.Delete(root, recursive: true);
}

return 0;

static async Task<string> MeasureAsync(string mode, string dags, string home)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
    {
        start.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()!.Location);
    }

    foreach (var arg in new[] { "--measure", mode, dags, home })
    {
        start.ArgumentList.Add(arg);
    }

    var watch = Stopwatch.StartNew();
    using var process = Process.Start(start)!;
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    return $"{output.TrimEnd()} | process wall {watch.Elapsed.TotalMilliseconds:0} ms{(process.ExitCode == 0 ? string.Empty : " (import errors!)")}";
}

// The resident memory of this process's DAG-processor children, in MB.
static List<double> ChildrenResidentMegabytes()
{
    var found = new List<double>();
    foreach (var folder in Directory.EnumerateDirectories("/proc"))
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(folder, "stat"));
            var parent = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
            if (parent == Environment.ProcessId.ToString(CultureInfo.InvariantCulture)
                && File.ReadAllText(Path.Combine(folder, "cmdline")).Contains("dag-processor-child", StringComparison.Ordinal))
            {
                var rss = File.ReadLines(Path.Combine(folder, "status")).First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                found.Add(double.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Not ours, or gone.
        }
    }

    return found;
}

static string RepositoryRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
}

static string CSharpDag(int i) => $$"""
    // Generated benchmark DAG {{i}}.
    var start = new EmptyOperator("start");
    var extract = new EmptyOperator("extract") { Retries = {{i % 4}} };
    var transform = new EmptyOperator("transform");
    var load = new EmptyOperator("load");
    var end = new EmptyOperator("end") { TriggerRule = TriggerRule.AllDone };

    var dag = new Dag("bench_{{i:0000}}")
    {
        Schedule = TimeSpan.FromHours({{1 + (i % 24)}}),
        StartDate = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Catchup = false,
        Tags = ["bench"],
        Tasks = { start, extract, transform, load, end },
    };

    _ = start >> extract >> transform >> load >> end;

    return dag;
    """;
