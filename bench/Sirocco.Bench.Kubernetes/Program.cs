using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using Sirocco;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Kubernetes;
using Sirocco.Kubernetes.Internal;
using Sirocco.LocalCluster;
using Sirocco.Masking;
using Sirocco.Scheduling;
using Sirocco.Variables;

// Issue 5's benchmark: N concurrent KubernetesPodOperator tries of `true` and of `sleep 5` on the local cluster,
// which runs in a child process so that the orchestrator's memory is measured alone.
//   serve HOME            run a cluster until stdin closes
//   [--tries N]           run the benchmark (default 200)
//   [--gke]               the same tries as GKEStartPodOperator behind a fake Google on loopback (issue 16): Google
//                         calls per try, then the cost of uploading task logs to the fake's Cloud Storage
if (args is ["serve", var home])
{
    await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = home });
    Console.WriteLine($"ready {cluster.KubeconfigPath}");
    await Task.Run(() => Console.In.ReadToEnd());
    return 0;
}

var tries = args.SkipWhile(a => a != "--tries").Skip(1).FirstOrDefault() is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 200;
var gke = args.Contains("--gke");
var clusterHome = Path.Combine(Path.GetTempPath(), "sirocco-bench-kpo-" + Guid.NewGuid().ToString("n")[..8]);
using var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["serve", clusterHome])
{
    RedirectStandardInput = true,
    RedirectStandardOutput = true,
})!;
var ready = await child.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the cluster did not start");
var kubeconfig = ready["ready ".Length..];
try
{
    var requests = new ConcurrentQueue<string>();
    await using var runtime = new KubernetesRuntime(new KubernetesRuntimeOptions { Handlers = () => [new Counting(requests)] });
    using var admin = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
    await admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "bench" } });
    await using var google = gke ? await Sirocco.Testing.FakeGoogle.StartAsync() : null;
    var services = new RuntimeServices();
    if (google is not null)
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        google.AccessToken = config.AccessToken;
        google.AddCluster(Sirocco.Testing.FakeGoogle.Project, "us-central1", "bench", new Uri(config.Host).Authority, string.Concat(config.SslCaCerts.Select(c => c.ExportCertificatePem() + "\n")));
        services.Add(new Sirocco.Google.GoogleCloud(new Sirocco.Google.GoogleCloudOptions
        {
            ContainerApiEndpoint = google.Url,
            StorageApiEndpoint = google.Url,
            Environment = new Dictionary<string, string> { ["GCE_METADATA_HOST"] = google.MetadataHost },
        }));
    }

    var env = new Env(services);

    // A separate watch records when each pod's termination becomes visible, to split the latency into the
    // cluster's part (container exit -> status on the watch) and Sirocco's (status on the watch -> try success).
    var seen = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
    using var watchStop = new CancellationTokenSource();
    var observer = Task.Run(async () =>
    {
        try
        {
            await foreach (var (_, pod) in admin.CoreV1.WatchListNamespacedPodAsync("bench", cancellationToken: watchStop.Token))
            {
                if (pod.Status?.ContainerStatuses?.Any(c => c.State?.Terminated is not null) == true)
                {
                    seen.TryAdd(pod.Metadata.Name, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    });

    // Warm-up: JIT, the client, the namespace's shared watches.
    await RunTryAsync(env, runtime, kubeconfig, "warmup", 1, "date +%s.%N");
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var baseline = GC.GetTotalMemory(forceFullCollection: true);
    var baselineWs = Environment.WorkingSet;

    Console.WriteLine($"Sirocco {(gke ? "GKEStartPodOperator" : "KubernetesPodOperator")} benchmark: {tries} concurrent tries per scenario, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
    var googleBefore = GoogleCalls(google);
    foreach (var (label, script) in new[] { ("true", "date +%s.%N"), ("sleep 5", "sleep 5; date +%s.%N") })
    {
        requests.Clear();
        var running = 0;
        long peakManaged = 0, peakWs = 0;
        var allRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, tries).Select(i => RunTryAsync(env, runtime, kubeconfig, $"t{i}-{label.Replace(' ', '-')}", 1, script, onRunning: () =>
        {
            if (Interlocked.Increment(ref running) == tries)
            {
                allRunning.TrySetResult();
            }
        })).ToList();
        var sampler = label == "sleep 5"
            ? Task.Run(async () =>
            {
                await allRunning.Task.WaitAsync(TimeSpan.FromMinutes(5));
                peakManaged = GC.GetTotalMemory(forceFullCollection: true);
                peakWs = Environment.WorkingSet;
            })
            : Task.CompletedTask;
        var results = await Task.WhenAll(tasks);
        await sampler;
        var wall = sw.Elapsed;
        var perTry = requests.Where(r => !IsSharedWatch(r)).GroupBy(r => r.Split(' ')[0]).ToDictionary(g => g.Key, g => g.Count());
        var latencies = results.Select(r => (r.Done - r.Exit) * 1000).Order().ToArray();
        var clusterPart = results.Select(r => (seen.GetValueOrDefault(r.Pod, double.NaN) - r.Exit) * 1000).Where(double.IsFinite).Order().ToArray();
        var ourPart = results.Select(r => (r.Done - seen.GetValueOrDefault(r.Pod, double.NaN)) * 1000).Where(double.IsFinite).Order().ToArray();
        Console.WriteLine();
        Console.WriteLine($"## {tries} × `{label}` (wall {wall.TotalSeconds:0.0} s, failures {results.Count(r => !r.Ok)})");
        Console.WriteLine($"API requests per try (besides the shared watches): {requests.Count(r => !IsSharedWatch(r)) / (double)tries:0.00} ({string.Join(", ", perTry.Select(kv => $"{kv.Key} {kv.Value / (double)tries:0.00}"))}); shared watch requests in the run: {requests.Count(IsSharedWatch)}");
        Console.WriteLine($"Container exit → try success: {Summary(latencies)}");
        Console.WriteLine($"  of which container exit → terminated status on a watch (cluster): {Summary(clusterPart)}");
        Console.WriteLine($"  of which terminated status on a watch → try success (Sirocco): {Summary(ourPart)}");
        if (peakManaged > 0)
        {
            Console.WriteLine($"Memory with {tries} tries running: managed heap +{(peakManaged - baseline) / 1024.0 / tries:0.0} KiB per try; working set +{(peakWs - baselineWs) / 1024.0 / tries:0.0} KiB per try");
        }

        if (google is not null)
        {
            var now = GoogleCalls(google);
            Console.WriteLine($"Google calls in this scenario: {now - googleBefore} ({string.Join(", ", new[] { "token", "metadata-token", "cluster-get" }.Select(r => $"{r} {google.Requests(r)} so far"))})");
            googleBefore = now;
        }
    }

    if (google is not null)
    {
        await LogUploads.RunAsync(google, (Sirocco.Google.GoogleCloud)services.GetService(typeof(Sirocco.Google.GoogleCloud))!, tries, env);
    }

    await watchStop.CancelAsync();
    await observer;
}
finally
{
    child.StandardInput.Close();
    await child.WaitForExitAsync();
    Directory.Delete(clusterHome, recursive: true);
}

return 0;

static int GoogleCalls(Sirocco.Testing.FakeGoogle? google) =>
    google is null ? 0 : new[] { "token", "metadata-token", "cluster-get" }.Sum(google.Requests);

static bool IsSharedWatch(string r) =>
    r.StartsWith("GET", StringComparison.Ordinal) && (r.Contains("/pods?", StringComparison.Ordinal) || r.Contains("/events", StringComparison.Ordinal));

static string Summary(double[] sorted) => sorted.Length == 0
    ? "n/a"
    : $"p50 {Percentile(sorted, 0.50):0} ms, p90 {Percentile(sorted, 0.90):0} ms, p99 {Percentile(sorted, 0.99):0} ms, max {sorted[^1]:0} ms";

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static async Task<(bool Ok, string Pod, double Exit, double Done)> RunTryAsync(Env env, KubernetesRuntime runtime, string kubeconfig, string taskId, int tryNumber, string script, Action? onRunning = null)
{
    var op = env.Gke
        ? new GKEStartPodOperator(taskId) { ProjectId = Sirocco.Testing.FakeGoogle.Project, Location = "us-central1", ClusterName = "bench" }
        : new KubernetesPodOperator(taskId) { ConfigFile = kubeconfig };
    op.Namespace = "bench";
    op.Image = "busybox";
    op.Cmds = ["sh", "-c", script];
    string? exitStamp = null;
    var pod = string.Empty;
    var context = env.Context(taskId, tryNumber, line =>
    {
        if (line.Length > 10 && char.IsAsciiDigit(line[0]) && line.Contains('.', StringComparison.Ordinal))
        {
            exitStamp = line;
        }
        else if (line.StartsWith("Creating pod bench/", StringComparison.Ordinal))
        {
            pod = line["Creating pod bench/".Length..];
        }
        else if (line.EndsWith(" is Running", StringComparison.Ordinal))
        {
            onRunning?.Invoke();
        }
    });
    try
    {
        await PodRun.ExecuteAsync(op, context, runtime, CancellationToken.None);
        var done = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var exit = double.Parse(exitStamp!, CultureInfo.InvariantCulture);
        return (true, pod, exit, done);
    }
    catch (SiroccoException e)
    {
        Console.Error.WriteLine($"{taskId}: {e.Message}");
        return (false, pod, double.NaN, double.NaN);
    }
}

/// <summary>Counts the requests of the runtime's clients.</summary>
internal sealed class Counting(ConcurrentQueue<string> sink) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        sink.Enqueue($"{request.Method} {request.RequestUri?.PathAndQuery}");
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>The little a try needs besides the cluster: empty stores, a recorder that drops what it gets.</summary>
internal sealed class Env(RuntimeServices services) : IConnectionStore, IVariableStore, ITaskTryRecorder
{
    private readonly SecretMasker _masker = new();

    /// <summary>Whether tries are GKEStartPodOperator's (Google access among the services).</summary>
    public bool Gke => services.GetService(typeof(Sirocco.Google.GoogleCloud)) is not null;
    private readonly SiroccoConfig _config = SiroccoConfig.Load(Path.GetTempPath(), new Dictionary<string, string>());

    public TaskExecutionContext Context(string taskId, int tryNumber, Action<string> log) => new()
    {
        DagRun = new DagRun
        {
            DagId = "bench",
            RunId = "manual__bench",
            RunType = DagRunType.Manual,
            LogicalDate = DateTimeOffset.UnixEpoch,
            DataInterval = DataInterval.Exact(DateTimeOffset.UnixEpoch),
        },
        TaskInstance = new TaskInstance { DagId = "bench", TaskId = taskId, RunId = "manual__bench", TryNumber = tryNumber },
        Log = log,
        Recorder = this,
        Config = _config,
        Connections = new ConnectionAccessor(this, new Dictionary<string, string>(), _masker),
        Variables = new VariableAccessor(this, new Dictionary<string, string>(), _masker),
        Masker = _masker,
        Services = services,
    };

    public Connection? GetConnection(string connId) => null;

    public IReadOnlyList<Connection> ListConnections() => [];

    public void SetConnection(Connection connection)
    {
    }

    public bool DeleteConnection(string connId) => false;

    public Variable? GetVariable(string key) => null;

    public IReadOnlyList<Variable> ListVariables() => [];

    public void SetVariable(Variable variable)
    {
    }

    public bool DeleteVariable(string key) => false;

    public Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<JsonElement?> PullXComAsync(string taskId, string key, CancellationToken cancellationToken) => Task.FromResult<JsonElement?>(null);

    public Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken) => Task.CompletedTask;
}
