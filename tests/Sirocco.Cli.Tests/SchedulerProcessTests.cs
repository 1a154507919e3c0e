using Sirocco.Storage;

namespace Sirocco.Cli.Tests;

/// <summary>The scheduler as a real process: killed mid-run and restarted, every task ends exactly once.</summary>
public sealed class SchedulerProcessTests : IDisposable
{
    private const string CrashDag = """
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;

        var marks = Environment.GetEnvironmentVariable("SIROCCO_TEST_MARKS")!;
        var dag = new Dag("crash_test")
        {
            Schedule = "@once",
            StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            IsPausedUponCreation = false,
            DefaultArgs = new() { ["retries"] = 2, ["retry_delay"] = TimeSpan.Zero },
        };
        for (var chain = 0; chain < 3; chain++)
        {
            BaseOperator? previous = null;
            for (var step = 0; step < 4; step++)
            {
                var task = new Mark($"c{chain}_s{step}", marks);
                dag.Add(task);
                if (previous is not null)
                {
                    _ = previous >> task;
                }

                previous = task;
            }
        }

        return dag;

        sealed class Mark(string id, string file) : BaseOperator(id)
        {
            public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
            {
                lock (typeof(Mark)) { File.AppendAllText(file, $"start {TaskId} {context.TaskInstance.TryNumber}\n"); }
                await Task.Delay(400, cancellationToken);
                lock (typeof(Mark)) { File.AppendAllText(file, $"end {TaskId}\n"); }
                return null;
            }
        }
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-crash-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);



    private static bool InFlight(string[] lines) =>
        lines.Count(l => l.StartsWith("end ", StringComparison.Ordinal)) >= 3
        && lines.Any(l => l.StartsWith("start ", StringComparison.Ordinal) && !lines.Contains("end " + l.Split(' ')[1]));

    [Fact]
    public async Task A_killed_scheduler_resumes_and_every_task_ends_exactly_once()
    {
        var dags = Path.Combine(_home, "dags");
        Directory.CreateDirectory(dags);
        await File.WriteAllTextAsync(Path.Combine(dags, "crash_test.cs"), CrashDag);
        var marks = Path.Combine(_home, "marks.txt");
        await File.WriteAllTextAsync(marks, string.Empty);

        using (var first = SchedulerProcess.Start(_home, new Dictionary<string, string> { ["SIROCCO_TEST_MARKS"] = marks, ["SIROCCO__SCHEDULER__CATCHUP_BY_DEFAULT"] = "True" }))
        {
            // Kill it hard while tasks are in flight: some ended, others started but not ended.
            // Wait for a moment with three tasks ended and one in flight (a loaded machine can leave gaps between tasks).
            await SchedulerProcess.WaitForAsync(() => Task.FromResult(InFlight(File.ReadAllLines(marks))), TimeSpan.FromSeconds(60));
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        var beforeRestart = File.ReadAllLines(marks);
        Assert.Contains(beforeRestart, l => l.StartsWith("start ", StringComparison.Ordinal) && !beforeRestart.Contains("end " + l.Split(' ')[1]));

        await using var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        int metricsPort;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            metricsPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var settings = new Dictionary<string, string>
        {
            ["SIROCCO_TEST_MARKS"] = marks,
            ["SIROCCO__SCHEDULER__CATCHUP_BY_DEFAULT"] = "True",
            ["SIROCCO__METRICS__PROMETHEUS_PORT"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        string metrics;
        using (var second = SchedulerProcess.Start(_home, settings))
        {
            try
            {
                await SchedulerProcess.WaitForAsync(
                    async () => (await store.ListDagRunsAsync(new DagRunQuery { DagId = "crash_test" })).SingleOrDefault()?.State == DagRunState.Success,
                    TimeSpan.FromSeconds(90));

                // A scheduler without a web server serves its metrics on [metrics] prometheus_port.
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            }
            finally
            {
                second.Kill(entireProcessTree: true);
                await second.WaitForExitAsync();
            }
        }

        Assert.Matches(@"(?m)^airflow_ti_successes_total\{[^}]*dag_id=""crash_test""[^}]*\} [1-9]", metrics);
        Assert.Matches(@"(?m)^airflow_scheduler_heartbeat_total(\{[^}]*\})? [1-9]", metrics);

        var lines = File.ReadAllLines(marks);
        for (var chain = 0; chain < 3; chain++)
        {
            for (var step = 0; step < 4; step++)
            {
                Assert.Single(lines, l => l == $"end c{chain}_s{step}");
            }
        }

        var run = (await store.ListDagRunsAsync(new DagRunQuery { DagId = "crash_test" })).Single();
        var tis = await store.ListTaskInstancesAsync("crash_test", run.RunId);
        Assert.Equal(12, tis.Count);
        Assert.All(tis, t => Assert.Equal(TaskInstanceState.Success, t.State));
        Assert.Contains(tis, t => t.TryNumber == 2); // an interrupted try counted as a failed attempt and was retried
    }
}
