using System.Text.RegularExpressions;
using Sirocco.LocalCluster;

namespace Sirocco.Cli.Tests;

/// <summary>The embedded local cluster shared by the run corpus: one cluster for every file.</summary>
public sealed class CorpusCluster : IAsyncLifetime
{
    public string Home { get; } = Directory.CreateTempSubdirectory("sirocco-corpus-").FullName;

    public LocalCluster.LocalCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(Home, "cluster") });

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Directory.Delete(Home, recursive: true);
    }
}

/// <summary>
/// DAG files in public styles (tutorials, Composer samples, the providers' examples), each run unchanged by
/// <c>sirocco dags test</c> on the local cluster and compared with the run its header says it must produce:
/// <c># expect-run: dag_id | run=state | task=state, mapped[0]=state …</c> and <c># expect-log: text</c>.
/// </summary>
public sealed partial class RunCorpusTests(CorpusCluster fixture) : IClassFixture<CorpusCluster>
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus"), "*.py").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Fact]
    public void The_corpus_has_its_files() => Assert.True(Files().Count >= 40, $"{Files().Count} files");

    [Theory]
    [MemberData(nameof(Files))]
    public async Task The_file_runs_as_its_header_says(string file)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "corpus", file));
        var headers = text.Split('\n').TakeWhile(l => l.StartsWith('#')).ToList();
        var run = Assert.Single(headers, h => h.StartsWith("# expect-run: ", StringComparison.Ordinal))["# expect-run: ".Length..].Split('|', StringSplitOptions.TrimEntries);
        var (dagId, runState, expected) = (run[0], run[1]["run=".Length..], run[2].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

        var home = Directory.CreateDirectory(Path.Combine(fixture.Home, Path.GetFileNameWithoutExtension(file))).FullName;
        Directory.CreateDirectory(Path.Combine(home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(home, "dags", file), text);
        var (_, output) = await SiroccoProcess.RunAsync(home, fixture.Cluster.KubeconfigPath, "dags", "test", dagId, "2024-01-06");

        // The summary dags test prints: one "task[index]: state" line per task instance, then the run's state.
        var states = StateLine().Matches(output).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
        Assert.True(output.Contains($"finished: {runState}", StringComparison.Ordinal), output);
        Assert.Equal(expected.Order(StringComparer.Ordinal), states.Select(kv => $"{kv.Key}={kv.Value}").Order(StringComparer.Ordinal));
        foreach (var log in headers.Where(h => h.StartsWith("# expect-log: ", StringComparison.Ordinal)))
        {
            Assert.True(output.Contains(log["# expect-log: ".Length..], StringComparison.Ordinal), $"{log}\n{output}");
        }
    }

    [Fact]
    public async Task Dags_list_warnings_names_each_wrong_model_value_by_file_line_and_column()
    {
        const string file = "kpo_affinity_lenient_models.py";
        var home = Directory.CreateDirectory(Path.Combine(fixture.Home, "list-warnings")).FullName;
        Directory.CreateDirectory(Path.Combine(home, "dags"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "corpus", file), Path.Combine(home, "dags", file));

        var (code, listed) = await SiroccoProcess.RunAsync(home, null, "dags", "list");
        Assert.Equal(0, code);
        Assert.Contains("warning: 2 DAG warning(s); see `sirocco dags list-warnings`", listed, StringComparison.Ordinal);

        (code, var json) = await SiroccoProcess.RunAsync(home, null, "dags", "list-warnings", "-d", "kpo_affinity_lenient_models", "-o", "json");
        Assert.Equal(0, code);
        var rows = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsArray();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal("kubernetes model", r!["warning_type"]!.ToString()));
        var places = rows.Select(r => Regex.Match(r!["message"]!.ToString(), @"^\S+/dags/" + Regex.Escape(file) + @":(\d+):\d+: ").Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["17", "30"], places);

        (code, json) = await SiroccoProcess.RunAsync(home, null, "dags", "list-warnings", "-d", "no_such_dag", "-o", "json");
        Assert.Equal(0, code);
        Assert.Empty(System.Text.Json.Nodes.JsonNode.Parse(json)!.AsArray());
    }

    [GeneratedRegex(@"^([A-Za-z0-9_.\-]+(?:\[\d+\])?): (success|failed|skipped|upstream_failed|removed|none|up_for_retry)$", RegexOptions.Multiline)]
    private static partial Regex StateLine();
}
