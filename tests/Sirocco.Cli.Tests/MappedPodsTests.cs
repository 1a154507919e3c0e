using k8s;
using Sirocco.LocalCluster;

namespace Sirocco.Cli.Tests;

/// <summary>A KubernetesPodOperator mapped over an upstream pod's output, run by <c>sirocco dags test</c> on the local cluster.</summary>
public sealed class MappedPodsTests : IDisposable
{
    private const string DagFile = """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        def command(pair):
            return ["echo item=" + pair[0] + " index={{ ti.map_index }}; mkdir -p /airflow/xcom; echo " + pair[1] + " > /airflow/xcom/return.json"]

        with DAG("mapped_pods", start_date=datetime(2024, 1, 1), schedule=None) as dag:
            make = KubernetesPodOperator(
                task_id="make", name="make", image="busybox", cmds=["sh", "-c"], do_xcom_push=True,
                arguments=["mkdir -p /airflow/xcom && echo '{\"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}' > /airflow/xcom/return.json"],
            )
            each = KubernetesPodOperator.partial(
                task_id="each", name="each", image="busybox", cmds=["sh", "-c"], do_xcom_push=True,
                on_finish_action="keep_pod", map_index_template="{{ task.arguments[0][:11] }}",
            ).expand(arguments=make.output.map(command))
            nothing = BashOperator.partial(task_id="nothing").expand(bash_command=[])
            total = BashOperator(task_id="total", bash_command="echo total={{ ti.xcom_pull(task_ids='each') }}")
            each >> total
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-mapped-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Dags_test_maps_a_pod_over_an_upstream_dict_and_the_downstream_pulls_every_result()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "mapped_pods.py"), DagFile);

        var (code, output) = await SiroccoAsync(cluster, "dags", "test", "mapped_pods", "2024-01-01");
        Assert.True(code == 0, output);
        Assert.Contains("item=b index=1", output, StringComparison.Ordinal);
        Assert.Contains("total=[1, 2, 3]", output, StringComparison.Ordinal);
        Assert.Contains("Rendered map_index_template: echo item=c", output, StringComparison.Ordinal);
        foreach (var line in new[] { "each[0]: success", "each[1]: success", "each[2]: success", "nothing: skipped", "total: success", "finished: success" })
        {
            Assert.Contains(line, output, StringComparison.Ordinal);
        }

        // Each instance's pod carries its map index, as the provider labels it.
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        var pods = await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "task_id=each");
        Assert.Equal(["0", "1", "2"], pods.Items.Select(x => x.Metadata.Labels["map_index"]).Order(StringComparer.Ordinal));

        // The CLI addresses one instance by --map-index, as Airflow's does.
        var (stateCode, state) = await SiroccoAsync(cluster, "tasks", "state", "mapped_pods", "each", "2024-01-01", "--map-index", "2");
        Assert.Equal((0, "success"), (stateCode, state.Trim()));
        var (noIndexCode, noIndex) = await SiroccoAsync(cluster, "tasks", "state", "mapped_pods", "each", "2024-01-01");
        Assert.NotEqual(0, noIndexCode);
        Assert.Contains("is mapped into 3 instances: give --map-index 0 to 2", noIndex, StringComparison.Ordinal);
        var (_, log) = await SiroccoAsync(cluster, "tasks", "logs", "mapped_pods", "each", "2024-01-01", "--map-index", "1");
        Assert.Contains("item=b index=1", log, StringComparison.Ordinal);
    }

    private Task<(int Code, string Output)> SiroccoAsync(LocalCluster.LocalCluster cluster, params string[] args) =>
        SiroccoProcess.RunAsync(_home, cluster.KubeconfigPath, args);
}
