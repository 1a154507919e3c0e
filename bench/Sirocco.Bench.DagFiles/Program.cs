// Benchmark (c) of issue 6: parse time of 1,000 C# DAG files, cold and cached.
// dotnet run -c Release --project bench/Sirocco.Bench.DagFiles [-- FILES]
// Phases: cold (fresh process, empty disk cache) -> unchanged re-collect -> full rescan (compiled forms from memory)
// -> a fresh process over the same disk cache -> a fresh process compiling on one thread (MaxParallelism = 1).
using System.Diagnostics;
using System.Globalization;
using Sirocco.DagFiles;

if (args.Length == 4 && args[0] == "--child")
{
    // A fresh process: args = --child MODE DAGS CACHE.
    var childResult = await CollectOnceAsync(args[2], args[3], args[1] == "serial" ? 1 : Environment.ProcessorCount);
    GC.Collect();
    var memory = string.Create(
        CultureInfo.InvariantCulture,
        $" | managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1e6:0} MB, working set {Environment.WorkingSet / 1e6:0} MB");
    Console.WriteLine(Line(args[1] == "serial" ? "cold, fresh process, 1 thread" : "disk cache, fresh process", childResult) + memory);
    return 0;
}

var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
var root = Path.Combine(Path.GetTempPath(), "sirocco-bench-dagfiles", Guid.NewGuid().ToString("N"));
var dags = Path.Combine(root, "dags");
var cache = Path.Combine(root, "cache");
Directory.CreateDirectory(dags);
for (var i = 0; i < count; i++)
{
    File.WriteAllText(Path.Combine(dags, $"dag_{i:0000}.cs"), DagFile(i));
}

Console.WriteLine($"{count} C# DAG files (5 tasks each), {Environment.ProcessorCount} cores, .NET {Environment.Version}, " +
    $"{DateTime.UtcNow:yyyy-MM-dd}");
try
{
    using (var bag = new DagBag(new DagBagOptions { DagsFolder = dags, CacheFolder = cache, Watch = false }))
    {
        var watch = Stopwatch.StartNew();
        var cold = await bag.CollectAsync();
        Console.WriteLine(Line("cold, fresh process (includes Roslyn warm-up)", (cold, watch.Elapsed)));
        watch.Restart();
        var unchanged = await bag.CollectAsync();
        Console.WriteLine(Line("unchanged, same DagBag (stat only)", (unchanged, watch.Elapsed)));
        watch.Restart();
        var rescan = await bag.RescanAsync();
        Console.WriteLine(Line("full rescan, compiled forms in memory", (rescan, watch.Elapsed)));
    }

    Console.WriteLine(await RunChildAsync("disk", dags, cache));
    Console.WriteLine(await RunChildAsync("serial", dags, Path.Combine(root, "cache-serial")));
}
finally
{
    Directory.Delete(root, recursive: true);
}

return 0;

static async Task<(DagBagResult Result, TimeSpan Elapsed)> CollectOnceAsync(string dags, string cache, int parallelism)
{
    // Not disposed: the process ends right after, and the memory figures are taken with the DAGs loaded.
    var watch = Stopwatch.StartNew();
    var bag = new DagBag(new DagBagOptions { DagsFolder = dags, CacheFolder = cache, Watch = false, MaxParallelism = parallelism });
    var result = await bag.CollectAsync();
    return (result, watch.Elapsed);
}

static async Task<string> RunChildAsync(string mode, string dags, string cache)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
    {
        start.ArgumentList.Add(typeof(DagBagOptions).Assembly.Location.Replace("Sirocco.DagFiles.dll", "Sirocco.Bench.DagFiles.dll", StringComparison.Ordinal));
    }

    foreach (var arg in new[] { "--child", mode, dags, cache })
    {
        start.ArgumentList.Add(arg);
    }

    var watch = Stopwatch.StartNew();
    using var process = Process.Start(start)!;
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    return $"{output.TrimEnd()} | process wall {watch.Elapsed.TotalMilliseconds:0} ms";
}

static string Line(string name, (DagBagResult Result, TimeSpan Elapsed) run)
{
    var (r, elapsed) = run;
    var s = r.Stats;
    var perFile = elapsed.TotalMilliseconds / Math.Max(1, s.Files);
    return string.Create(
        CultureInfo.InvariantCulture,
        $"{name}: {elapsed.TotalMilliseconds:0} ms total, {perFile:0.00} ms/file | dags {r.Dags.Count}, errors {r.ImportErrors.Count}, " +
        $"compiled {s.Compiled}, memory hits {s.MemoryCacheHits}, disk hits {s.DiskCacheHits}, unchanged {s.FilesUnchanged}, " +
        $"compile time summed {s.CompileDuration.TotalMilliseconds:0} ms ({s.CompileDuration.TotalMilliseconds / Math.Max(1, s.Compiled):0.0} ms/compiled file)");
}

static string DagFile(int i) => $$"""
    // Generated benchmark DAG {{i}}.
    var start = new EmptyOperator("start");
    var extract = new EmptyOperator("extract") { Retries = {{i % 4}} };
    var transform = new EmptyOperator("transform");
    var load = new EmptyOperator("load");
    var end = new EmptyOperator("end") { TriggerRule = TriggerRule.AllDone };

    var dag = new Dag("bench_{{i:0000}}")
    {
        Description = "Benchmark DAG {{i}}",
        Schedule = TimeSpan.FromHours({{1 + (i % 24)}}),
        StartDate = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Catchup = false,
        Tags = ["bench"],
        DefaultArgs = new() { ["owner"] = "bench", ["retry_delay"] = TimeSpan.FromMinutes(1) },
        Tasks = { start, extract, transform, load, end },
    };

    _ = start >> extract >> transform >> load >> end;

    return dag;
    """;
