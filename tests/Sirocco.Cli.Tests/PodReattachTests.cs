using k8s;
using Sirocco.LocalCluster;
using Sirocco.Storage;

namespace Sirocco.Cli.Tests;

/// <summary>
/// A scheduler process killed while its pod runs: the restarted scheduler re-attaches to that pod (same try, no second
/// pod) and the task succeeds with the pod's output in its log.
/// </summary>
public sealed class PodReattachTests : IDisposable
{
    private const string Dag = """
        var dag = new Dag("reattach")
        {
            Schedule = "@once",
            StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            IsPausedUponCreation = false,
            Tasks =
            {
                new KubernetesPodOperator("slow_pod")
                {
                    Name = "slow-pod",
                    Namespace = "default",
                    Image = "busybox",
                    Cmds = ["sh", "-c", "echo started; sleep 6; echo finished"],
                    OnFinishAction = OnFinishAction.KeepPod,
                },
            },
        };
        return dag;
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-reattach-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task A_killed_scheduler_reattaches_to_the_running_pod_instead_of_starting_another()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "reattach.cs"), Dag);

        async Task<IList<k8s.Models.V1Pod>> PodsAsync() =>
            (await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "task_id=slow_pod")).Items;

        using (var first = SchedulerProcess.Start(_home, new Dictionary<string, string> { ["SIROCCO_CONN_KUBERNETES_DEFAULT"] = SchedulerProcess.KubernetesConnection(cluster.KubeconfigPath) }))
        {
            await SchedulerProcess.WaitForAsync(async () => (await PodsAsync()).Any(p => p.Status?.Phase == "Running"), TimeSpan.FromSeconds(90));
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        await using var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        using (var second = SchedulerProcess.Start(_home, new Dictionary<string, string> { ["SIROCCO_CONN_KUBERNETES_DEFAULT"] = SchedulerProcess.KubernetesConnection(cluster.KubeconfigPath) }))
        {
            try
            {
                await SchedulerProcess.WaitForAsync(
                    async () => (await store.ListDagRunsAsync(new DagRunQuery { DagId = "reattach" })).SingleOrDefault()?.State is DagRunState.Success or DagRunState.Failed,
                    TimeSpan.FromSeconds(120));
            }
            finally
            {
                second.Kill(entireProcessTree: true);
                await second.WaitForExitAsync();
            }
        }

        var run = (await store.ListDagRunsAsync(new DagRunQuery { DagId = "reattach" })).Single();
        var ti = (await store.GetTaskInstanceAsync("reattach", "slow_pod", run.RunId))!;
        Assert.Equal(TaskInstanceState.Success, ti.State);
        Assert.Equal(1, ti.TryNumber); // the same try, resumed
        Assert.Single(await PodsAsync()); // one pod for the try, kept by keep_pod
        var log = await File.ReadAllTextAsync(Scheduler.TaskLogPaths.For(Path.Combine(_home, "logs"), "reattach", "slow_pod", run.LogicalDate, 1));
        Assert.Contains("Resuming attempt 1", log, StringComparison.Ordinal);
        Assert.Contains("finished", log, StringComparison.Ordinal);
    }
}
