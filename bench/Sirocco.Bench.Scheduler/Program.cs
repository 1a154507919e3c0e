// Scheduler benchmark: no-op tasks through the real scheduler loop and a SQLite store on the real clock.
//   dotnet run -c Release --project bench/Sirocco.Bench.Scheduler
// (a) 1,000 tasks as 10 files x 10 DAGs x 10-task trees, and as 10 DAGs x 100 linear tasks: time from unpausing the
//     DAGs to every task done (the tasks do nothing, so this is the scheduling lag), plus the mean lag per task
//     between its upstream finishing and it starting. Each shape twice: with a no-op operator that runs a try (a log,
//     a slot, a try record), and with EmptyOperator, which the scheduler ends without a try, as Airflow's does.
// (b) one DAG of 10,000 independent no-op tasks: tries per second through the state machine.
// Options: --postgres runs on a throwaway PostgreSQL server (initdb into a temporary folder) instead of SQLite;
// --schedulers N runs N schedulers on that database (each its own store and connection pool, as N processes would
// have), for the scaling ratio; --only a|b runs one case; --rounds R (default 1) runs each case R times in the same
// process, each on a fresh database: the first round runs partly in the JIT's first-tier code, later rounds show a
// scheduler that has been up for a while.
using System.Diagnostics;
using Sirocco;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Testing;
using Sirocco.Variables;

var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

static Dag Tree(string id, DateTimeOffset start, int tasks, Func<string, BaseOperator> make)
{
    // A binary tree: task i depends on task (i-1)/2.
    var dag = new Dag(id) { Schedule = "@once", StartDate = start, IsPausedUponCreation = false };
    var ops = Enumerable.Range(0, tasks).Select(i => make($"t{i}")).ToArray();
    foreach (var o in ops)
    {
        dag.Add(o);
    }

    for (var i = 1; i < tasks; i++)
    {
        _ = ops[(i - 1) / 2] >> ops[i];
    }

    return dag;
}

static Dag Linear(string id, DateTimeOffset start, int tasks, Func<string, BaseOperator> make)
{
    var dag = new Dag(id) { Schedule = "@once", StartDate = start, IsPausedUponCreation = false };
    BaseOperator? previous = null;
    for (var i = 0; i < tasks; i++)
    {
        var o = make($"t{i}");
        dag.Add(o);
        if (previous is not null)
        {
            _ = previous >> o;
        }

        previous = o;
    }

    return dag;
}

static Dag Wide(string id, DateTimeOffset start, int tasks)
{
    var dag = new Dag(id) { Schedule = "@once", StartDate = start, IsPausedUponCreation = false, MaxActiveTasks = 10_000 };
    for (var i = 0; i < tasks; i++)
    {
        dag.Add(new NoopOperator($"t{i}"));
    }

    return dag;
}

static async Task<(TimeSpan Total, int Tasks, TimeSpan MeanLag)> RunAsync(Dag[] dags, int parallelism, int schedulerCount, PostgresServer? pg)
{
    var home = Directory.CreateTempSubdirectory("sirocco-bench-").FullName;
    var stores = new List<IMetadataStore>();
    try
    {
        var url = pg is null ? $"sqlite:///{Path.Combine(home, "sirocco.db")}" : await pg.CreateDatabaseAsync();
        for (var i = 0; i < schedulerCount; i++)
        {
            stores.Add(MetadataStore.Open(url));
        }

        var store = stores[0];
        await store.MigrateAsync();
        var total = dags.Sum(d => d.Tasks.Count);
        var done = 0;
        var finished = new TaskCompletionSource();
        var schedulers = stores.Select(st =>
        {
            var masker = new SecretMasker();
            var env = new Dictionary<string, string>();
            var services = new SchedulerServices(SiroccoConfig.Load(home, env), new VariableAccessor(st, env, masker), new ConnectionAccessor(st, env, masker), masker);
            var options = new SchedulerOptions { LogFolder = Path.Combine(home, "logs"), Parallelism = parallelism, MaxActiveTasksPerDag = 100_000, DagsArePausedAtCreation = false, MaxRunsToClaimPerLoop = 20 };
            var scheduler = new SiroccoScheduler(st, new StaticDagSource(dags), services, options);
            scheduler.TaskInstanceFinished += _ =>
            {
                if (Interlocked.Increment(ref done) == total)
                {
                    finished.TrySetResult();
                }
            };
            return scheduler;
        }).ToList();
        using var cts = new CancellationTokenSource();
        var sw = Stopwatch.StartNew();
        var loops = schedulers.Select(sc => sc.RunAsync(cts.Token)).ToList();
        await finished.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var elapsed = sw.Elapsed;
        await cts.CancelAsync();
        await Task.WhenAll(loops);
        var perScheduler = string.Join(" / ", schedulers.Select(sc => sc.TriesStarted));
        if (schedulers.Count > 1)
        {
            Console.WriteLine($"    tries per scheduler: {perScheduler}");
        }

        // Lag per task: its start minus the latest end of its upstream tasks (or the run's start for roots).
        double lagSum = 0;
        var lagCount = 0;
        foreach (var dag in dags)
        {
            var run = (await store.ListDagRunsAsync(new DagRunQuery { DagId = dag.DagId })).Single();
            var tis = (await store.ListTaskInstancesAsync(dag.DagId, run.RunId)).ToDictionary(t => t.TaskId);
            foreach (var task in dag.Tasks)
            {
                var ready = task.UpstreamTaskIds.Count == 0 ? run.StartDate!.Value : task.UpstreamTaskIds.Max(u => tis[u].EndDate!.Value);
                lagSum += (tis[task.TaskId].StartDate!.Value - ready).TotalMilliseconds;
                lagCount++;
            }
        }

        return (elapsed, total, TimeSpan.FromMilliseconds(lagSum / lagCount));
    }
    finally
    {
        foreach (var st in stores)
        {
            await st.DisposeAsync();
        }

        Directory.Delete(home, recursive: true);
    }
}

var usePostgres = args.Contains("--postgres");
var count = args.SkipWhile(a => a != "--schedulers").Skip(1).Select(int.Parse).FirstOrDefault(1);
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
var rounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(1);
await using var pg = usePostgres ? new PostgresServer() : null;
if (pg is not null)
{
    await pg.InitializeAsync();
    if (Environment.GetEnvironmentVariable("BENCH_PGLOG") is { } slowMs)
    {
        await using var c = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = pg.Port, Username = "sirocco", Password = pg.Password, Database = "postgres" }.ToString());
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        foreach (var q in new[] { $"ALTER SYSTEM SET log_min_duration_statement = {slowMs}", "SELECT pg_reload_conf()" })
        {
            cmd.CommandText = q;
            await cmd.ExecuteNonQueryAsync();
        }

        Console.WriteLine("pg folder: " + pg.Folder);
    }
}

Console.WriteLine($"store: {(usePostgres ? "PostgreSQL" : "SQLite")}, schedulers: {count}");

// Warm up the JIT and the database once.
await RunAsync([Linear("warmup", start, 20, id => new NoopOperator(id)), Linear("warmup_empty", start, 20, id => new EmptyOperator(id))], 32, count, pg);

for (var round = 1; round <= rounds && (only is null or "a"); round++)
{
    var label = rounds > 1 ? $" [round {round}]" : string.Empty;
    foreach (var (kind, make) in new (string, Func<string, BaseOperator>)[] { ("no-op tries", id => new NoopOperator(id)), ("EmptyOperator", id => new EmptyOperator(id)) })
    {
        var trees = Enumerable.Range(0, 100).Select(i => Tree($"tree_{i / 10}_{i % 10}", start, 10, make)).ToArray();
        var (treeTotal, treeTasks, treeLag) = await RunAsync(trees, 32, count, pg);
        Console.WriteLine($"(a) 10 files x 10 DAGs x 10-task trees, {kind}{label}: {treeTasks} tasks in {treeTotal.TotalSeconds:F3} s; mean lag per task {treeLag.TotalMilliseconds:F2} ms");

        var linear = Enumerable.Range(0, 10).Select(i => Linear($"linear_{i}", start, 100, make)).ToArray();
        var (linTotal, linTasks, linLag) = await RunAsync(linear, 32, count, pg);
        Console.WriteLine($"(a) 10 DAGs x 100 linear tasks, {kind}{label}: {linTasks} tasks in {linTotal.TotalSeconds:F3} s; mean lag per task {linLag.TotalMilliseconds:F2} ms");
    }
}

if (only is null or "b")
{
    var (wideTotal, wideTasks, _) = await RunAsync([Wide("wide", start, 10_000)], 32, count, pg);
    Console.WriteLine($"(b) one DAG of 10,000 no-op tasks (parallelism 32 per scheduler): {wideTasks / wideTotal.TotalSeconds:F0} tries/s ({wideTotal.TotalSeconds:F2} s)");

    var split = Enumerable.Range(0, 10).Select(i => Wide($"wide_{i}", start, 1_000)).ToArray();
    var (splitTotal, splitTasks, _) = await RunAsync(split, 32, count, pg);
    Console.WriteLine($"(b') 10 DAGs of 1,000 no-op tasks (parallelism 32 per scheduler): {splitTasks / splitTotal.TotalSeconds:F0} tries/s ({splitTotal.TotalSeconds:F2} s)");
}

Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MB");

/// <summary>A task that does nothing but, unlike EmptyOperator, runs as a try (the scheduler's full path for a task).</summary>
internal sealed class NoopOperator(string taskId) : BaseOperator(taskId)
{
    public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken) => Task.FromResult<object?>(null);
}
