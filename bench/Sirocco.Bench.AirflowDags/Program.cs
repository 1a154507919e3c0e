// Benchmark of issue 7: parse time of 1,000 seed-sized Airflow DAG files (.py), cold and cached.
// dotnet run -c Release --project bench/Sirocco.Bench.AirflowDags [-- FILES]
// Phases: cold (fresh process, through a DagBag) -> unchanged re-collect -> full rescan (syntax trees from the
// parser's cache, files run again) -> the parser alone on one thread, without and with its syntax-tree cache.
using System.Diagnostics;
using System.Globalization;
using Sirocco.DagFiles;
using Sirocco.DagFiles.Airflow;

var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
var seed = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "tests", "Sirocco.DagFiles.Airflow.Tests", "fixtures", "seed_kubernetes_pod_operator.py"));
var root = Path.Combine(Path.GetTempPath(), "sirocco-bench-airflow", Guid.NewGuid().ToString("N"));
var dags = Path.Combine(root, "dags");
Directory.CreateDirectory(dags);
var texts = new string[count];
for (var i = 0; i < count; i++)
{
    // Each file is the seed with its own dag_id, so 1,000 different texts.
    texts[i] = seed.Replace("composer_sample_kubernetes_pod", $"composer_sample_kubernetes_pod_{i:0000}", StringComparison.Ordinal);
    await File.WriteAllTextAsync(Path.Combine(dags, $"dag_{i:0000}.py"), texts[i]);
}

Console.WriteLine($"{count} Airflow DAG files ({seed.Length:N0} chars, 4 KubernetesPodOperator tasks each), {Environment.ProcessorCount} cores, " +
    $".NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");
try
{
    var parser = new AirflowDagFileParser(new AirflowDagFileParserOptions { Environment = new Dictionary<string, string>() });
    using (var bag = new DagBag(new DagBagOptions { DagsFolder = dags, Watch = false, AdditionalParsers = [parser] }))
    {
        var watch = Stopwatch.StartNew();
        var cold = await bag.CollectAsync();
        Console.WriteLine(Line("cold, fresh process, DagBag (includes JIT)", cold, watch.Elapsed));
        watch.Restart();
        var unchanged = await bag.CollectAsync();
        Console.WriteLine(Line("unchanged, same DagBag (stat only)", unchanged, watch.Elapsed));
        watch.Restart();
        var rescan = await bag.RescanAsync();
        Console.WriteLine(Line("full rescan (read, hash, run; syntax trees cached)", rescan, watch.Elapsed));
    }

    // The parser alone, one thread: every file tokenized, parsed and run (no cache), then run from cached trees.
    foreach (var cached in new[] { false, true })
    {
        var rounds = new List<double>();
        var local = new AirflowDagFileParser(new AirflowDagFileParserOptions { Environment = new Dictionary<string, string>() });
        for (var round = 0; round < 7; round++)
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                var request = new DagFileParseRequest($"/dags/dag_{i:0000}.py", texts[i], cached ? $"h{i}" : Guid.NewGuid().ToString("N"), TimeSpan.FromSeconds(30));
                var r = await local.ParseAsync(request, CancellationToken.None);
                if (r.Dags.Count != 1)
                {
                    throw new InvalidOperationException(r.Errors[0].Message);
                }
            }

            rounds.Add(watch.Elapsed.TotalMilliseconds);
        }

        rounds.Sort();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"parser alone, 1 thread, {(cached ? "syntax trees cached" : "no cache")}: best {rounds[0]:0} ms, median {rounds[3]:0} ms for {count} files " +
            $"({rounds[3] * 1000 / count:0} µs per file)"));
    }
}
finally
{
    Directory.Delete(root, recursive: true);
}

return 0;

static string Line(string what, DagBagResult r, TimeSpan elapsed) => string.Create(
    CultureInfo.InvariantCulture,
    $"{what}: {elapsed.TotalMilliseconds:0} ms for {r.Stats.Files} files ({elapsed.TotalMilliseconds * 1000 / Math.Max(1, r.Stats.Files):0} µs per file), " +
    $"{r.Dags.Count} DAGs, {r.ImportErrors.Count} errors, parsed {r.Stats.FilesParsed}, unchanged {r.Stats.FilesUnchanged}");

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run from the repository");
}
