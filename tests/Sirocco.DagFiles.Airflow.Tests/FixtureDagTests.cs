using System.Text.RegularExpressions;
using k8s;
using Sirocco.Kubernetes;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>
/// Scenario tests from DAG files written in the styles of public Airflow repositories (fixtures/dags). Each file says
/// in its header what it must give: <c># expect-dag: id | tasks: a, b | edges: a&gt;&gt;b</c>, <c># expect-pod: task
/// json-fragment</c> (the task's built pod contains it), or <c># expect-error: line:column: text</c>.
/// </summary>
public sealed partial class FixtureDagTests
{
    private static readonly Dictionary<string, string> Environment = new() { ["SIROCCO_TEST_NAMESPACE"] = "from-env" };

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(Support.Fixtures, "dags"), "*.py").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Fact]
    public void There_are_at_least_25_more_fixture_files_besides_the_seed() =>
        Assert.True(Files().Count >= 25, $"{Files().Count} fixture files");

    [Theory]
    [MemberData(nameof(Files))]
    public void Fixture_loads_as_its_header_says(string file)
    {
        var path = Path.Combine(Support.Fixtures, "dags", file);
        var text = File.ReadAllText(path);
        var headers = text.Split('\n').TakeWhile(l => l.StartsWith('#')).ToList();
        var result = Support.NewParser(Environment).Parse(path, text, null, TimeSpan.FromSeconds(30), CancellationToken.None);

        var expectedError = headers.FirstOrDefault(h => h.StartsWith("# expect-error: ", StringComparison.Ordinal));
        if (expectedError is not null)
        {
            var m = ErrorHeader().Match(expectedError);
            Assert.True(m.Success, expectedError);
            Assert.Empty(result.Dags);
            var error = Assert.Single(result.Errors);
            Assert.Contains(m.Groups[3].Value, error.Message, StringComparison.Ordinal);
            Assert.Equal((int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)), (error.Line!.Value, error.Column!.Value));
            Assert.StartsWith($"{path}:{m.Groups[1].Value}:{m.Groups[2].Value}: ", error.Message, StringComparison.Ordinal);
            return;
        }

        Assert.True(result.Errors.Count == 0, result.Errors.Count == 0 ? string.Empty : result.Errors[0].Message);
        var dagHeaders = headers.Where(h => h.StartsWith("# expect-dag: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(dagHeaders);
        Assert.Equal(dagHeaders.Count, result.Dags.Count);
        foreach (var header in dagHeaders)
        {
            var parts = header["# expect-dag: ".Length..].Split('|', StringSplitOptions.TrimEntries);
            var dag = Assert.Single(result.Dags, d => d.DagId == parts[0]);
            dag.Validate();
            var tasks = Field(parts, "tasks");
            Assert.Equal(tasks, dag.Tasks.Select(t => t.TaskId));
            var edges = Field(parts, "edges").Order(StringComparer.Ordinal);
            var actual = dag.Tasks.SelectMany(t => t.DownstreamTaskIds.Select(d => $"{t.TaskId}>>{d}")).Order(StringComparer.Ordinal);
            Assert.Equal(edges, actual);
        }

        foreach (var header in headers.Where(h => h.StartsWith("# expect-pod: ", StringComparison.Ordinal)))
        {
            var rest = header["# expect-pod: ".Length..];
            var taskId = rest[..rest.IndexOf(' ', StringComparison.Ordinal)];
            var fragment = rest[(taskId.Length + 1)..];
            var dag = result.Dags.First(d => d.HasTask(taskId));
            var pod = PodBuilder.Build((KubernetesPodOperator)dag.GetTask(taskId), new PodBuildContext { DagId = dag.DagId, TaskId = taskId, RunId = "r1", TryNumber = 1 });
            var json = KubernetesJson.Serialize(pod);
            Assert.True(json.Contains(fragment, StringComparison.Ordinal), $"{taskId}: {fragment}\nnot in\n{json}");
        }
    }

    private static string[] Field(string[] parts, string name) =>
        parts.FirstOrDefault(p => p.StartsWith(name + ":", StringComparison.Ordinal)) is { } p
            ? p[(name.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : [];

    [GeneratedRegex(@"^# expect-error: (\d+):(\d+): (.+)$")]
    private static partial Regex ErrorHeader();
}
