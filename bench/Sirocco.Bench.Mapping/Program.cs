// Issue 15's benchmark: one task mapped over N items, expanded from an upstream task's XCom (a list of N argument
// lists), run to the end by the real scheduler loop.
//   dotnet run -c Release --project bench/Sirocco.Bench.Mapping [-- --items N --mode pods|noop --parallelism P]
// --mode pods (default): a KubernetesPodOperator (busybox `sh -c "echo item i"`, logs followed) on the embedded local
// cluster, which runs each container as a host process; --mode noop: an in-process operator that returns at once,
// so the numbers are the scheduler's and the store's alone. Reported: the time from the upstream's success to the N
// instances stored (the expansion), instances per second from the first start to the last end, and the benchmark
// process's memory (managed heap and working set) at its peak and per instance.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sirocco;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Kubernetes;
using Sirocco.LocalCluster;
using Sirocco.Masking;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Variables;

var items = Option("--items", 1000);
var parallelism = Option("--parallelism", 64);
var mode = args.SkipWhile(a => a != "--mode").Skip(1).FirstOrDefault() ?? "pods";
var work = Directory.CreateTempSubdirectory("sirocco-bench-mapping-").FullName;
try
{
    await using var cluster = mode == "pods" ? await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(work, "cluster") }) : null;
    await using var store = MetadataStore.Open($"sqlite:///{Path.Combine(work, "sirocco.db")}");
    await store.MigrateAsync();
    await store.SetPoolAsync(new Pool(Pool.DefaultName, parallelism));

    var environment = new Dictionary<string, string>();
    if (cluster is not null)
    {
        environment["SIROCCO_CONN_KUBERNETES_DEFAULT"] = new JsonObject { ["conn_type"] = "kubernetes", ["extra"] = new JsonObject { ["kube_config_path"] = cluster.KubeconfigPath } }.ToJsonString();
    }

    var dag = new Dag("mapped_bench") { Schedule = Sirocco.Scheduling.Schedule.None };
    var make = new ListOperator("make", items);
    dag.Add(make);
    BaseOperator each = mode == "pods"
        ? new KubernetesPodOperator("each") { Image = "busybox", Name = "each", Cmds = ["sh", "-c"], GetLogs = true }.Expand(p => p.Arguments, make)
        : new NoopOperator("each").Expand(p => p.Arguments, make);
    dag.Add(each);

    var masker = new SecretMasker();
    var config = SiroccoConfig.Load(Path.Combine(work, "home"), environment);
    var runtime = new RuntimeServices().AddKubernetes(environment, config);
    var services = new SchedulerServices(config, new VariableAccessor(store, environment, masker), new ConnectionAccessor(store, environment, masker), masker, runtime);
    var events = new EventTimes();
    using var loggers = LoggerFactory.Create(b => b.AddProvider(events));
    var options = new SchedulerOptions
    {
        LogFolder = Path.Combine(work, "logs"),
        Parallelism = parallelism,
        MaxActiveTasksPerDag = parallelism,
        MaxMapLength = Math.Max(items, 1024),
        DagsArePausedAtCreation = false,
        LoggerFactory = loggers,
    };
    var scheduler = new SiroccoScheduler(store, new StaticDagSource([dag]), services, options, new AirflowTaskRenderer());
    var done = 0;
    var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var clock = Stopwatch.StartNew();
    double firstEachStart = double.NaN, makeEnd = double.NaN, lastEnd = 0;
    var failed = 0;
    scheduler.TaskInstanceFinished += ti =>
    {
        var now = clock.Elapsed.TotalSeconds;
        if (ti.TaskId == "make")
        {
            makeEnd = now;
            return;
        }

        if (ti.State != TaskInstanceState.Success)
        {
            Interlocked.Increment(ref failed);
        }

        lastEnd = now;
        if (Interlocked.Increment(ref done) == items)
        {
            finished.TrySetResult();
        }
    };
    events.OnStarted = (taskId, t) =>
    {
        if (taskId == "each" && double.IsNaN(firstEachStart))
        {
            firstEachStart = t;
        }
    };
    events.Clock = clock;

    long peakManaged = 0, peakWorkingSet = 0;
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(async () =>
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        while (await timer.WaitForNextTickAsync(sampling.Token).ConfigureAwait(false))
        {
            peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
            peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
        }
    });
    GC.Collect();
    var baseManaged = GC.GetTotalMemory(true);
    var baseWorkingSet = Environment.WorkingSet;

    using var stop = new CancellationTokenSource();
    var loop = scheduler.RunAsync(stop.Token);
    await scheduler.TriggerAsync("mapped_bench");
    try
    {
        await finished.Task.WaitAsync(TimeSpan.FromMinutes(30));
    }
    catch (TimeoutException)
    {
        Console.Error.WriteLine($"timed out: {done} of {items} instances finished");
    }

    await stop.CancelAsync();
    await loop.WaitAsync(TimeSpan.FromMinutes(1)).ContinueWith(_ => { }, TaskScheduler.Default);
    await sampling.CancelAsync();
    await sampler.ContinueWith(_ => { }, TaskScheduler.Default);

    var expansion = events.ExpandedAt - makeEnd;
    var span = lastEnd - firstEachStart;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mode {mode}, {items} items, parallelism {parallelism}, {Environment.ProcessorCount} cores"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"instances: {done} finished, {failed} not successful"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"expansion (upstream success seen -> {items} instances made and scheduled): {expansion * 1000:0} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first instance start -> last instance end: {span:0.00} s = {done / span:0.0} instances/s"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run start -> last instance end: {lastEnd:0.00} s"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory: peak managed {peakManaged / 1048576.0:0.0} MiB (+{(peakManaged - baseManaged) / 1024.0 / items:0.0} KiB per instance), peak working set {peakWorkingSet / 1048576.0:0} MiB (+{(peakWorkingSet - baseWorkingSet) / 1024.0 / items:0.0} KiB per instance)"));
    return failed == 0 && done == items ? 0 : 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>Returns N argument lists, one per item.</summary>
internal sealed class ListOperator(string taskId, int count) : BaseOperator(taskId)
{
    public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken) =>
        Task.FromResult<object?>(Enumerable.Range(0, count).Select(i => new[] { $"echo item {i}" }).ToList());
}

/// <summary>Takes its mapped arguments and returns at once.</summary>
internal sealed class NoopOperator(string taskId) : BaseOperator(taskId)
{
    public IList<string> Arguments { get; set; } = [];

    public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken) => Task.FromResult<object?>(null);
}

/// <summary>When the scheduler logged the expansion (event 15) and each try's start (event 5).</summary>
internal sealed class EventTimes : ILoggerProvider, ILogger
{
    public Stopwatch Clock { get; set; } = Stopwatch.StartNew();

    public double ExpandedAt { get; private set; } = double.NaN;

    public Action<string, double>? OnStarted { get; set; }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == 15)
        {
            ExpandedAt = Clock.Elapsed.TotalSeconds;
        }
        else if (eventId.Id == 5 && state is IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            OnStarted?.Invoke(values.FirstOrDefault(v => v.Key == "TaskId").Value?.ToString() ?? string.Empty, Clock.Elapsed.TotalSeconds);
        }
    }

    public void Dispose()
    {
    }
}
