using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;
using Sirocco.LocalCluster;
using Sirocco.Storage;
using Sirocco.Testing;
using Xunit.Abstractions;

namespace Sirocco.Cli.Tests;

/// <summary>
/// Three <c>sirocco scheduler</c> processes on one PostgreSQL database run a DAG of many pod tasks; the scheduler that
/// holds the run is killed (SIGKILL) while pods run. A survivor adopts the run once the dead scheduler's heartbeat is
/// older than the health-check threshold and re-attaches to its pods: every task succeeds on its first try with one pod.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class HaSchedulersTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    private const int TaskCount = 300;
    private const string DagId = "ha_many";

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-ha-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private static readonly string Dag = $$"""
        var dag = new Dag("{{DagId}}")
        {
            Schedule = "@once",
            StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            IsPausedUponCreation = false,
            MaxActiveTasks = {{TaskCount}},
        };
        for (var i = 0; i < {{TaskCount}}; i++)
        {
            dag.Tasks.Add(new KubernetesPodOperator($"t{i:000}")
            {
                Name = $"t{i:000}",
                Namespace = "default",
                Image = "busybox",
                Cmds = ["sh", "-c", "sleep 2"],
                OnFinishAction = OnFinishAction.KeepPod,
            });
        }

        return dag;
        """;

    /// <summary>The running scheduler job that holds a run, and that run.</summary>
    private static async Task<(JobRecord Job, string RunId)?> HolderAsync(IMetadataStore store)
    {
        foreach (var job in await store.ListJobsAsync("SchedulerJob", runningOnly: true))
        {
            var run = (await store.ListClaimedRunsAsync(job.Id)).FirstOrDefault(r => r.DagId == DagId);
            if (run is not null)
            {
                return (job, run.RunId);
            }
        }

        return null;
    }

    [Fact]
    public async Task A_killed_scheduler_s_run_is_adopted_and_every_pod_task_succeeds_once_with_one_pod()
    {
        var url = await server.CreateDatabaseAsync();
        await using var store = MetadataStore.Open(url);
        await store.MigrateAsync(); // as `sirocco db migrate` before the schedulers start

        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", $"{DagId}.cs"), Dag);

        var env = new Dictionary<string, string>
        {
            ["SIROCCO__DATABASE__SQL_CONN"] = url,
            ["SIROCCO__CORE__LOAD_EXAMPLES"] = "False",
            ["SIROCCO__CORE__PARALLELISM"] = TaskCount.ToString(CultureInfo.InvariantCulture),
            ["SIROCCO__CORE__MAX_ACTIVE_TASKS_PER_DAG"] = TaskCount.ToString(CultureInfo.InvariantCulture),
            // Short, so that the test is quick: the heartbeat has its own timer, so a long first pass (compiling the
            // DAG file, starting 128 tries on two busy cores) does not make a live scheduler look dead.
            ["SIROCCO__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD"] = "10",
            ["SIROCCO__SCHEDULER__SCHEDULER_HEARTBEAT_SEC"] = "1",
            ["SIROCCO_CONN_KUBERNETES_DEFAULT"] = SchedulerProcess.KubernetesConnection(cluster.KubeconfigPath),
        };

        async Task<IList<V1Pod>> PodsAsync() => (await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"dag_id={DagId}")).Items;

        var clock = Stopwatch.StartNew();
        var logs = new ConcurrentQueue<string>();
        var schedulers = Enumerable.Range(0, 3)
            .Select(n => SchedulerProcess.Start(_home, env, line => logs.Enqueue($"[{clock.Elapsed.TotalSeconds,6:0.0}s s{n}] {line}")))
            .ToList();
        try
        {
            // Wait for a holder and for pods that run, then kill the holder.
            (JobRecord Job, string RunId)? holder = null;
            await SchedulerProcess.WaitForAsync(
                async () => (holder = await HolderAsync(store)) is not null && (await PodsAsync()).Count(p => p.Status?.Phase == "Running") >= 20,
                TimeSpan.FromSeconds(120));
            var (killedJob, runId) = holder!.Value;
            var victim = schedulers.Single(p => p.Id == killedJob.Pid);

            // No live scheduler may have been taken for dead before the kill (its heartbeat must not lapse while it works).
            Assert.Equal(3, (await store.ListJobsAsync("SchedulerJob", runningOnly: true)).Count);
            var runningAtKill = (await PodsAsync()).Count(p => p.Status?.Phase == "Running");
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync();
            var killedAt = clock.Elapsed;
            var orphaned = (await store.ListTaskInstancesAsync(DagId, runId)).Where(t => t.State == TaskInstanceState.Running).Select(t => t.TaskId).ToList();
            output.WriteLine($"killed holder {killedJob.Id} (pid {killedJob.Pid}) at {killedAt.TotalSeconds:0.0} s with {runningAtKill} pods running and {orphaned.Count} tasks running");

            // Adoption: the dead job is marked failed and another running job holds the run (or the run finished).
            string? adopter = null;
            await SchedulerProcess.WaitForAsync(
                async () =>
                {
                    var dead = (await store.ListJobsAsync("SchedulerJob")).Single(j => j.Id == killedJob.Id);
                    adopter = (await HolderAsync(store))?.Job.Id;
                    return dead.State == "failed" && adopter is not null && adopter != killedJob.Id;
                },
                TimeSpan.FromSeconds(60));
            output.WriteLine($"run adopted by {adopter} {(clock.Elapsed - killedAt).TotalSeconds:0.0} s after the kill");

            await SchedulerProcess.WaitForAsync(
                async () => (await store.ListDagRunsAsync(new DagRunQuery { DagId = DagId })).SingleOrDefault()?.State is DagRunState.Success or DagRunState.Failed,
                TimeSpan.FromSeconds(180));
            output.WriteLine($"run finished at {clock.Elapsed.TotalSeconds:0.0} s");

            var run = (await store.ListDagRunsAsync(new DagRunQuery { DagId = DagId })).Single();
            Assert.Equal(runId, run.RunId);
            Assert.Equal(DagRunState.Success, run.State);
            var tis = await store.ListTaskInstancesAsync(DagId, runId);
            Assert.Equal(TaskCount, tis.Count);
            Assert.All(tis, ti => Assert.Equal((TaskInstanceState.Success, 1), (ti.State, ti.TryNumber)));
            foreach (var ti in tis)
            {
                Assert.Single(await store.ListTriesAsync(DagId, ti.TaskId, runId));
            }

            var pods = await PodsAsync();
            Assert.Equal(TaskCount, pods.Count);
            Assert.Equal(tis.Select(t => t.TaskId).Order(StringComparer.Ordinal), pods.Select(p => p.Metadata.Labels["task_id"]).Order(StringComparer.Ordinal));
            Assert.All(pods, p => Assert.Equal("1", p.Metadata.Labels["try_number"]));
            Assert.DoesNotContain(pods, p => p.Status?.Phase is "Running" or "Pending");

            // The tries the killed scheduler left running were resumed by the adopter, not started again.
            Assert.NotEmpty(orphaned);
            foreach (var taskId in orphaned)
            {
                var log = await File.ReadAllTextAsync(Scheduler.TaskLogPaths.For(Path.Combine(_home, "logs"), DagId, taskId, run.LogicalDate, 1));
                Assert.Contains("Resuming attempt 1", log, StringComparison.Ordinal);
            }

            Assert.Equal([killedJob.Id], (await store.ListJobsAsync("SchedulerJob")).Where(j => j.State == "failed").Select(j => j.Id));
            output.WriteLine($"{pods.Count} pods, {tis.Count} tries, total {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var p in schedulers)
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync();
                }

                p.Dispose();
            }

            foreach (var line in logs.Take(60))
            {
                output.WriteLine(line);
            }
        }
    }
}
