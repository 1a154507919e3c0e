// Issue 17's scale run: thousands of KubernetesPodOperator tries running at once against the reference kube-apiserver
// (scripts/realk8s.sh) and the repository's node simulator, which runs pods by annotation (no processes).
//   dotnet run -c Release --project bench/Sirocco.Bench.Scale [-- options]
// Options: --dags D (100) --tasks T (100): D DAGs of T independent pod tasks; --run-for S (60): each pod runs S seconds;
// --schedulers N (1) schedulers in this process, each with its own store connection and Kubernetes runtime as N
// processes would have; --postgres: a throwaway PostgreSQL server instead of SQLite (needed for N > 1);
// --workers W (16): the node simulator's concurrent requests; --get-logs: tries follow their pods' logs (get_logs=True),
// which the simulated node serves as a kubelet does (three lines from an annotation, the stream open until the pod's
// run time is over); off by default, as in the numbers of docs/BENCHMARKS.md measured before it existed;
// --creations-in-flight C (32, the default of [kubernetes] max_pod_creations_in_flight; 0: no limit);
// --control-plane-only: no scheduler; the same pods created straight through the client, C at a time, to measure what
// the control plane and the simulated node alone take on this machine (the floor under Sirocco's number).
// The pods ask for the scheduler "sirocco-scale", which only the benchmark's own simulated node binds (the reference
// cluster's kube-scheduler would bind at its client's default 50 requests per second).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;
using Sirocco;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Kubernetes;
using Sirocco.Kubernetes.Internal;
using Sirocco.Masking;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Testing;
using Sirocco.Variables;

var dagCount = Option("--dags", 100);
var taskCount = Option("--tasks", 100);
var runFor = Option("--run-for", 60);
var schedulerCount = Option("--schedulers", 1);
var workers = Option("--workers", 16);
var creationsInFlight = Option("--creations-in-flight", 32);
var usePostgres = args.Contains("--postgres");
var getLogs = args.Contains("--get-logs");
var controlPlaneOnly = args.Contains("--control-plane-only");
if (schedulerCount > 1 && !usePostgres)
{
    Console.Error.WriteLine("--schedulers above 1 needs --postgres");
    return 2;
}

var total = dagCount * taskCount;
var repo = FindRepository();
var work = Directory.CreateTempSubdirectory("sirocco-bench-scale-").FullName;
var ns = "scale-" + Guid.NewGuid().ToString("n")[..6];
const string NodeName = "sirocco-scale-node";
const string SchedulerName = "sirocco-scale";
Process? simulator = null;
Kubernetes? admin = null;
var stopCluster = false;
try
{
    var wasRunning = await Shell(repo, "bash", "scripts/realk8s.sh", "env") is var env && File.Exists(env.Trim()["KUBECONFIG=".Length..])
        && (await Shell2(repo, "kubectl", ["--kubeconfig", env.Trim()["KUBECONFIG=".Length..], "get", "--raw", "/readyz", "--request-timeout=2s"], allowFailure: true)).Trim() == "ok";
    var kubeconfig = (await Shell(repo, "bash", "scripts/realk8s.sh", "start")).Trim()["KUBECONFIG=".Length..];
    Console.WriteLine($"reference kube-apiserver: {kubeconfig} (already running: {wasRunning})");

    await Shell(repo, "dotnet", "build", "tests/Sirocco.NodeSimulator/Sirocco.NodeSimulator.csproj", "-c", "Release", "-nologo", "-v", "q", "-o", Path.Combine(work, "sim"));
    simulator = Process.Start(new ProcessStartInfo("dotnet",
        [Path.Combine(work, "sim", "Sirocco.NodeSimulator.dll"), "--kubeconfig", kubeconfig, "--node-name", NodeName, "--bind", "true",
            "--scheduler-name", SchedulerName, "--workers", workers.ToString(CultureInfo.InvariantCulture), "--pods", (total * 2).ToString(CultureInfo.InvariantCulture),
            "--serve-logs", getLogs ? "true" : "false"])
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    })!;
    var simulatorLog = new ConcurrentQueue<string>();
    simulator.OutputDataReceived += (_, e) => simulatorLog.Enqueue(e.Data ?? string.Empty);
    simulator.ErrorDataReceived += (_, e) => simulatorLog.Enqueue(e.Data ?? string.Empty);
    simulator.BeginOutputReadLine();
    simulator.BeginErrorReadLine();
    var simulatorPid = simulator.Id;

    admin = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
    await admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = ns } });
    await WaitForAsync(async () => (await admin.CoreV1.ListNamespacedServiceAccountAsync(ns)).Items.Any(a => a.Metadata.Name == "default"), "the namespace's default ServiceAccount");
    await WaitForAsync(async () => (await admin.CoreV1.ListNodeAsync()).Items.Any(n => n.Metadata.Name == NodeName), "the simulated node " + NodeName);

    // An outside watch: when each pod is first seen running and first seen terminated.
    var running = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
    var exited = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
    var clock = Stopwatch.StartNew();
    var allRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var mainPrefix = "scale-";
    var mainRunning = 0;
    using var watchStop = new CancellationTokenSource();
    var observer = Task.Run(async () =>
    {
        while (!watchStop.IsCancellationRequested)
        {
            try
            {
                await foreach (var (_, pod) in admin.CoreV1.WatchListNamespacedPodAsync(ns, timeoutSeconds: 3600, cancellationToken: watchStop.Token))
                {
                    var name = pod.Metadata.Name;
                    var at = clock.Elapsed.TotalSeconds;
                    if (pod.Status?.Phase == "Running" && running.TryAdd(name, at) && name.StartsWith(mainPrefix, StringComparison.Ordinal)
                        && Interlocked.Increment(ref mainRunning) == total)
                    {
                        allRunning.TrySetResult();
                    }

                    if (pod.Status?.ContainerStatuses?.Any(c => c.State?.Terminated is not null) == true)
                    {
                        exited.TryAdd(name, at);
                    }
                }
            }
            catch (Exception) when (watchStop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"observer watch: {e.Message} (watching again)");
            }
        }
    });

    await using var pg = usePostgres ? new PostgresServer() : null;
    if (pg is not null)
    {
        await pg.InitializeAsync();
    }

    var url = pg is null ? $"sqlite:///{Path.Combine(work, "sirocco.db")}" : await pg.CreateDatabaseAsync();
    var activity = pg is null ? Task.CompletedTask : SamplePostgresAsync(pg, url[(url.LastIndexOf('/') + 1)..], watchStop.Token);
    var requests = new Counter();
    var stores = Enumerable.Range(0, schedulerCount).Select(_ => MetadataStore.Open(url)).ToList();
    var runtimes = Enumerable.Range(0, schedulerCount)
        .Select(_ => new RuntimeServices().Add(new KubernetesRuntime(new KubernetesRuntimeOptions { Handlers = () => [new Counting(requests)], CreationsInFlight = creationsInFlight })))
        .ToList();
    await stores[0].MigrateAsync();
    await stores[0].SetPoolAsync(new Pool("default_pool", total + 100));
    var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    if (controlPlaneOnly)
    {
        // The floor: the same pods, created by one client with the same number in flight, no scheduler, no store.
        using var slots = new SemaphoreSlim(Math.Max(1, creationsInFlight == 0 ? total : creationsInFlight));
        var began = clock.Elapsed.TotalSeconds;
        var creates = Enumerable.Range(0, total).Select(async i =>
        {
            await slots.WaitAsync();
            try
            {
                await admin.CoreV1.CreateNamespacedPodAsync(
                    new V1Pod
                    {
                        Metadata = new V1ObjectMeta
                        {
                            Name = $"scale-{i:00000}",
                            Annotations = new Dictionary<string, string> { ["fake-kubelet/run-for"] = $"{runFor}s" },
                            Labels = new Dictionary<string, string> { ["kubernetes_pod_operator"] = "True" },
                        },
                        Spec = new V1PodSpec
                        {
                            SchedulerName = SchedulerName,
                            RestartPolicy = "Never",
                            Containers = [new V1Container { Name = "base", Image = "busybox", Command = ["sleep", runFor.ToString(CultureInfo.InvariantCulture)] }],
                        },
                    },
                    ns);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(creates);
        var createdAt = clock.Elapsed.TotalSeconds;
        await allRunning.Task.WaitAsync(TimeSpan.FromMinutes(15));
        var times = running.Where(kv => kv.Key.StartsWith(mainPrefix, StringComparison.Ordinal)).Select(kv => kv.Value - began).Order().ToArray();
        Console.WriteLine($"control plane only: {total} pods created in {createdAt - began:0.0} s ({creationsInFlight} in flight); "
            + $"all seen Running after {times[^1]:0.0} s (half by {times[total / 2]:0.0} s, the first at {times[0]:0.0} s)");
        await watchStop.CancelAsync();
        await observer;
        stopCluster = !wasRunning;
        return 0;
    }

    // Warm-up: one DAG of 100 one-second pods through the first scheduler (JIT, the runtime's shared pod watch). A try's
    // methods run once per try, and the runtime compiles a method again, optimized, after about 30 calls: with fewer
    // warm-up tries than that, the measured run paid for those compilations (about 4 s of CPU when it had 20).
    await RunSchedulersAsync([Dags("warmup", 1, 100, 1)[0]], 1, TimeSpan.FromMinutes(3), onStarted: null);
    var warmupRequests = requests.Total;
    requests.Reset();

    var dags = Dags("scale", dagCount, taskCount, runFor);
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var baseManaged = GC.GetTotalMemory(forceFullCollection: true);
    var baseWorkingSet = Process.GetCurrentProcess().WorkingSet64;
    var metricsBefore = await ApiServerMetricsAsync(repo, kubeconfig);
    Console.WriteLine($"Sirocco scale run: {dagCount} DAGs x {taskCount} pod tasks = {total} tries of {runFor} s, {schedulerCount} scheduler(s) on {(usePostgres ? "PostgreSQL" : "SQLite")}, get_logs {(getLogs ? "on" : "off")}, {Environment.ProcessorCount} cores, .NET {Environment.Version}; warm-up used {warmupRequests} requests");

    double startedAt = 0, allRunningAt = 0;
    var cpuAtStart = new Dictionary<string, double>();
    var cpuAtAllRunning = new Dictionary<string, double>();
    long peakManaged = 0, peakWorkingSet = 0, requestsAtAllRunning = 0;
    double watchers = 0;
    int threads = 0;
    var sample = allRunning.Task.ContinueWith(
        async _ =>
        {
            allRunningAt = clock.Elapsed.TotalSeconds;
            cpuAtAllRunning = CpuSeconds(simulatorPid);
            requestsAtAllRunning = requests.Total;
            peakManaged = GC.GetTotalMemory(forceFullCollection: true);
            using var self = Process.GetCurrentProcess();
            peakWorkingSet = self.WorkingSet64;
            threads = self.Threads.Count;
            watchers = (await ApiServerMetricsAsync(repo, kubeconfig)).Watchers;
        },
        TaskScheduler.Default).Unwrap();
    var (finishedAt, states, perScheduler) = await RunSchedulersAsync(dags, schedulerCount, TimeSpan.FromSeconds(runFor) + TimeSpan.FromMinutes(15), onStarted: () =>
    {
        startedAt = clock.Elapsed.TotalSeconds;
        cpuAtStart = CpuSeconds(simulatorPid);
    });
    await sample.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
    var metricsAfter = await ApiServerMetricsAsync(repo, kubeconfig);
    var elapsed = finishedAt - startedAt;
    var lastExit = exited.Where(kv => kv.Key.StartsWith(mainPrefix, StringComparison.Ordinal)).Select(kv => kv.Value).DefaultIfEmpty(double.NaN).Max();
    var runningTimes = running.Where(kv => kv.Key.StartsWith(mainPrefix, StringComparison.Ordinal)).Select(kv => kv.Value - startedAt).Order().ToArray();

    Console.WriteLine();
    Console.WriteLine($"tries: {string.Join(", ", states.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}; started per scheduler: {perScheduler}");
    Console.WriteLine(runningTimes.Length == total
        ? $"time to start all {total} (scheduler start -> last pod seen Running): {allRunningAt - startedAt:0.0} s (half of them by {runningTimes[total / 2]:0.0} s, the first at {runningTimes[0]:0.0} s)"
        : $"only {runningTimes.Length} of {total} pods were seen running");
    if (cpuAtAllRunning.Count > 0)
    {
        // CPU seconds each part of the machine spent while the pods were being started (scheduler start to all Running).
        Console.WriteLine("CPU while starting them: " + string.Join(", ", cpuAtAllRunning.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key} {kv.Value - cpuAtStart.GetValueOrDefault(kv.Key):0.0} s")) + $" (this process: {(cpuAtAllRunning["benchmark process"] - cpuAtStart["benchmark process"]) * 1000 / total:0.00} ms per try)");
    }

    Console.WriteLine($"last pod exit -> last try success: {finishedAt - lastExit:0.00} s (whole run {elapsed:0.0} s)");
    Console.WriteLine($"Sirocco's API requests: {requests.Total} in all, {requests.Total / (double)total:0.00} per try ({requests.Describe(total)}); watch requests: {requests.Watches}; by the time all ran: {requestsAtAllRunning / (double)total:0.00} per try");
    Console.WriteLine($"API server: {metricsAfter.Requests - metricsBefore.Requests:0} requests from every client in {elapsed:0.0} s = {(metricsAfter.Requests - metricsBefore.Requests) / elapsed:0} requests/s (Sirocco's own: {requests.Total / elapsed:0}/s); registered watchers with all running: {watchers:0}");
    if (peakManaged > 0)
    {
        Console.WriteLine($"memory with {total} tries running: managed heap +{(peakManaged - baseManaged) / 1024.0 / total:0.0} KiB per try, working set +{(peakWorkingSet - baseWorkingSet) / 1024.0 / total:0.0} KiB per try (process {peakWorkingSet / 1048576} MB, {threads} threads)");
    }

    Console.WriteLine($"peak working set of the process: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MB");
    if (getLogs)
    {
        // Each try's log holds the pod's output, streamed through the API server from the simulated kubelet.
        var withOutput = Directory.EnumerateDirectories(Path.Combine(work, "logs"), "scale_*")
            .SelectMany(d => Directory.EnumerateFiles(d, "*.log", SearchOption.AllDirectories))
            .Count(f => File.ReadAllText(f).Contains("done", StringComparison.Ordinal));
        Console.WriteLine($"task logs with the pod's output: {withOutput} of {total}");
    }

    foreach (var line in simulatorLog.Where(l => l.Contains("attempt", StringComparison.Ordinal)).Take(5))
    {
        Console.WriteLine("simulator: " + line);
    }

    await watchStop.CancelAsync();
    await observer;
    await activity;
    foreach (var r in runtimes)
    {
        await r.DisposeAsync();
    }

    foreach (var s in stores)
    {
        await s.DisposeAsync();
    }

    stopCluster = !wasRunning;
    return states.GetValueOrDefault("Success") == total ? 0 : 1;

    // Every 5 s with --postgres: the benchmark database's server connections by state, and what the longest-open
    // transaction runs (where a pool's connections go).
    static async Task SamplePostgresAsync(PostgresServer server, string database, CancellationToken stop)
    {
        var cs = $"Host=127.0.0.1;Port={server.Port};Username=sirocco;Password={server.Password};Database=postgres;Pooling=false";
        try
        {
            await using var conn = new Npgsql.NpgsqlConnection(cs);
            await conn.OpenAsync(stop);
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), stop);
                await using var cmd = new Npgsql.NpgsqlCommand(
                    """
                    SELECT coalesce(state, '?') || coalesce('/' || wait_event, ''), count(*),
                           max(extract(epoch FROM now() - xact_start))::int, (array_agg(left(query, 70) ORDER BY xact_start))[1]
                    FROM pg_stat_activity WHERE datname = @db GROUP BY 1 ORDER BY 2 DESC
                    """,
                    conn);
                cmd.Parameters.AddWithValue("db", database);
                var parts = new List<string>();
                await using (var r = await cmd.ExecuteReaderAsync(stop))
                {
                    while (await r.ReadAsync(stop))
                    {
                        parts.Add($"{r.GetString(0)} {r.GetInt64(1)} (oldest tx {(r.IsDBNull(2) ? "-" : r.GetInt32(2) + " s")}: {(r.IsDBNull(3) ? "" : r.GetString(3).ReplaceLineEndings(" "))})");
                    }
                }

                Console.Error.WriteLine($"pg {DateTime.UtcNow:HH:mm:ss}: " + string.Join("; ", parts));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    List<Dag> Dags(string prefix, int count, int tasks, int seconds)
    {
        var list = new List<Dag>();
        for (var d = 0; d < count; d++)
        {
            var dag = new Dag($"{prefix}_{d:000}") { Schedule = "@once", StartDate = start, IsPausedUponCreation = false, MaxActiveTasks = tasks };
            for (var t = 0; t < tasks; t++)
            {
                dag.Add(new KubernetesPodOperator($"pod_{t:000}")
                {
                    Namespace = ns,
                    Name = prefix,
                    Image = "busybox",
                    Cmds = ["sleep", seconds.ToString(CultureInfo.InvariantCulture)],
                    Annotations = new Dictionary<string, string> { ["fake-kubelet/run-for"] = $"{seconds}s", ["fake-kubelet/log"] = "starting\nworking\ndone\n" },
                    SchedulerName = SchedulerName,
                    GetLogs = getLogs,
                    ConfigFile = kubeconfig,
                    StartupTimeoutSeconds = 900,
                });
            }

            list.Add(dag);
        }

        return list;
    }

    async Task<(double FinishedAt, Dictionary<string, int> States, string PerScheduler)> RunSchedulersAsync(List<Dag> dagList, int count, TimeSpan timeout, Action? onStarted)
    {
        var expected = dagList.Sum(d => d.Tasks.Count);
        var failedTries = new ConcurrentQueue<(string DagId, string TaskId)>();
        var done = 0;
        var states = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishedAt = 0.0;
        var schedulers = Enumerable.Range(0, count).Select(i =>
        {
            var masker = new SecretMasker();
            var environment = new Dictionary<string, string>();
            var home = Path.Combine(work, "home");
            var services = new SchedulerServices(
                SiroccoConfig.Load(home, environment), new VariableAccessor(stores[i], environment, masker), new ConnectionAccessor(stores[i], environment, masker), masker, runtimes[i]);
            var options = new SchedulerOptions
            {
                LogFolder = Path.Combine(work, "logs"),
                Parallelism = total + 100,
                MaxActiveTasksPerDag = taskCount,
                DagsArePausedAtCreation = false,
                MaxRunsToClaimPerLoop = dagCount,
                Hostname = "scale-" + i,
            };
            var scheduler = new SiroccoScheduler(stores[i], new StaticDagSource([.. dagList]), services, options);
            scheduler.TaskInstanceFinished += ti =>
            {
                states.AddOrUpdate(ti.State.ToString(), 1, (_, n) => n + 1);
                if (ti.State != TaskInstanceState.Success)
                {
                    failedTries.Enqueue((ti.DagId, ti.TaskId));
                }

                if (Interlocked.Increment(ref done) == expected)
                {
                    finishedAt = clock.Elapsed.TotalSeconds;
                    finished.TrySetResult();
                }
            };
            return scheduler;
        }).ToList();
        using var cts = new CancellationTokenSource();
        onStarted?.Invoke();
        var loops = schedulers.Select(s => s.RunAsync(cts.Token)).ToList();
        try
        {
            await finished.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"timed out after {timeout}: {done} of {expected} tries finished");
            finishedAt = clock.Elapsed.TotalSeconds;
        }

        await cts.CancelAsync();
        await Task.WhenAll(loops);
        foreach (var (dagId, taskId) in failedTries.Take(3))
        {
            // Why a try failed: the end of its log.
            var folder = Path.Combine(work, "logs", dagId, taskId);
            var log = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.log", SearchOption.AllDirectories).Order(StringComparer.Ordinal).LastOrDefault() : null;
            Console.Error.WriteLine($"failed try {dagId}.{taskId}: " + (log is null ? "no log" : string.Join(" | ", File.ReadLines(log).TakeLast(6))));
        }

        return (finishedAt, new Dictionary<string, int>(states), string.Join(" / ", schedulers.Select(s => s.TriesStarted)));
    }
}
finally
{
    if (admin is not null)
    {
        try
        {
            await admin.CoreV1.DeleteNamespaceAsync(ns);
            await admin.CoreV1.DeleteNodeAsync(NodeName);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"clean-up: {e.Message}");
        }

        admin.Dispose();
    }

    if (simulator is not null)
    {
        simulator.Kill(entireProcessTree: true);
        await simulator.WaitForExitAsync();
        simulator.Dispose();
    }

    if (stopCluster)
    {
        await Shell(repo, "bash", "scripts/realk8s.sh", "stop");
    }

    Directory.Delete(work, recursive: true);
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static string FindRepository()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run the benchmark from inside the repository");
}

static async Task<string> Shell(string cwd, string file, params string[] arguments) => await Shell2(cwd, file, arguments, allowFailure: false);

static async Task<string> Shell2(string cwd, string file, string[] arguments, bool allowFailure)
{
    using var p = Process.Start(new ProcessStartInfo(file, arguments) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true })!;
    var output = p.StandardOutput.ReadToEndAsync();
    var error = p.StandardError.ReadToEndAsync();
    await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
    if (p.ExitCode != 0 && !allowFailure)
    {
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {p.ExitCode}: {await error}");
    }

    return await output;
}

static async Task WaitForAsync(Func<Task<bool>> check, string what)
{
    var deadline = DateTime.UtcNow.AddSeconds(60);
    while (!await check())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"waited 60 s for {what}");
        }

        await Task.Delay(200);
    }
}

// CPU seconds (user + system) used so far by this process, the simulated node and the control plane's processes, read
// from /proc (clock ticks of 1/100 s).
static Dictionary<string, double> CpuSeconds(int simulatorPid)
{
    var result = new Dictionary<string, double>(StringComparer.Ordinal);
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out var pid))
        {
            continue;
        }

        try
        {
            var stat = File.ReadAllText(Path.Combine(dir, "stat"));
            var comm = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
            var name = pid == Environment.ProcessId ? "benchmark process" : pid == simulatorPid ? "simulated node" : comm is "etcd" or "kube-apiserver" or "postgres" or "kube-controller" or "kube-scheduler" ? comm : null;
            if (name is null)
            {
                continue;
            }

            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var seconds = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100;
            result[name] = result.GetValueOrDefault(name) + seconds;
        }
        catch (IOException)
        {
        }
    }

    return result;
}

// The API server's request counter (every client) and its registered pod watchers, from its /metrics.
static async Task<(double Requests, double Watchers)> ApiServerMetricsAsync(string repo, string kubeconfig)
{
    var text = await Shell2(repo, "kubectl", ["--kubeconfig", kubeconfig, "get", "--raw", "/metrics", "--request-timeout=20s"], allowFailure: false);
    double requests = 0, watchers = 0;
    foreach (var line in text.Split('\n'))
    {
        var space = line.LastIndexOf(' ');
        if (space < 0 || line.StartsWith('#') || !double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            continue;
        }

        if (line.StartsWith("apiserver_request_total{", StringComparison.Ordinal))
        {
            requests += value;
        }
        else if (line.StartsWith("apiserver_registered_watchers{", StringComparison.Ordinal) && line.Contains("kind=\"Pod\"", StringComparison.Ordinal))
        {
            watchers += value;
        }
    }

    return (requests, watchers);
}

/// <summary>Counts the requests of the schedulers' Kubernetes clients, by verb and kind.</summary>
internal sealed class Counter
{
    private readonly ConcurrentDictionary<string, int> _byKind = new(StringComparer.Ordinal);
    private long _total;
    private long _watches;

    public long Total => Interlocked.Read(ref _total);

    public long Watches => Interlocked.Read(ref _watches);

    public void Add(HttpRequestMessage request)
    {
        Interlocked.Increment(ref _total);
        var query = request.RequestUri?.Query ?? string.Empty;
        var path = request.RequestUri?.AbsolutePath ?? string.Empty;
        if (query.Contains("watch=true", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _watches);
        }

        var kind = query.Contains("watch=true", StringComparison.Ordinal) ? "watch" : path.EndsWith("/pods", StringComparison.Ordinal) || path.EndsWith("/events", StringComparison.Ordinal) ? "list/create" : "one";
        _byKind.AddOrUpdate($"{request.Method} {kind}", 1, (_, n) => n + 1);
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _watches, 0);
        _byKind.Clear();
    }

    public string Describe(int tries) =>
        string.Join(", ", _byKind.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value / (double)tries:0.00}"));
}

/// <summary>Hands each request of a runtime's client to the counter.</summary>
internal sealed class Counting(Counter counter) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        counter.Add(request);
        return base.SendAsync(request, cancellationToken);
    }
}
