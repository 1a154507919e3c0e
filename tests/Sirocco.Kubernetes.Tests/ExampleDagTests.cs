using System.Text.Json.Nodes;
using k8s;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// examples/dags/composer_sample.cs, loaded by the real DAG-file loader, rendered by the real template engine and built
/// by the pod builder, gives the seed's four expected pods.
/// </summary>
public sealed class ExampleDagTests
{
    [Fact]
    public void Composer_sample_dag_file_builds_the_four_expected_pods()
    {
        var dag = SeedDag.Dag;
        Assert.Equal(["pod-ex-minimum", "ex-kube-templates", "ex-kube-secrets", "ex-all-configs"], dag.Tasks.Select(t => t.TaskId));

        var harness = new TryHarness(dag.DagId, "scheduled__2024-01-01T00:00:00+00:00");
        harness.SetVariable("my_value", "example_value");
        harness.Config.Set("core", "kube_config", "/home/airflow/composer_kube_config");
        foreach (var task in dag.Tasks.Cast<KubernetesPodOperator>())
        {
            var rendered = harness.Render(task);
            var pod = PodBuilder.Build(rendered, BuildContexts.Fixed with
            {
                DagId = dag.DagId,
                TaskId = task.TaskId,
                RunId = harness.RunId,
                RandomSuffix = () => "abc12345",
                SiroccoVersion = "1.0.0",
            });
            var actual = JsonNode.Parse(KubernetesJson.Serialize(pod))!;
            var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Expected", task.TaskId + ".json")))!;
            Assert.True(JsonNode.DeepEquals(expected, actual), $"{task.TaskId}: expected\n{expected}\nactual\n{actual}");
            Assert.Equal("/home/airflow/composer_kube_config", rendered.ConfigFile);
        }
    }
}
