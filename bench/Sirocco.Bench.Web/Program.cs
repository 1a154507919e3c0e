// Web API load check: 50 concurrent API clients list the task instances of a DAG with 10,000 runs for 30 s, over
// real HTTP to the real server (Kestrel on loopback) and a SQLite store; reports p50/p99 latency and errors.
//   dotnet run -c Release --project bench/Sirocco.Bench.Web [-- CLIENTS SECONDS RUNS]
// Each request is GET /api/v1/dags/bench_dag/dagRuns/{a random run}/taskInstances (10 task instances per run),
// authenticated with a bearer token (a basic-auth variant runs for 5 s after it, hitting the verified-password cache).
// Then the same again after adding the index (dag_id, run_id, task_id, map_index) to task_instance: without it SQLite
// answers "task instances of a run ordered by task" through the primary key, reading every task instance of the DAG.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sirocco;
using Sirocco.Configuration;
using Sirocco.Storage;
using Sirocco.Web;
using Sirocco.Web.Security;

var clients = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
var runCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10_000;
const int TasksPerRun = 10;
const string Password = "bench-password";

var home = Directory.CreateTempSubdirectory("sirocco-bench-web-").FullName;
try
{
    var config = SiroccoConfig.Load(home, new Dictionary<string, string>());
    await using var store = MetadataStore.OpenSqlite(Path.Combine(home, "sirocco.db"));
    await store.MigrateAsync();
    await store.UpsertUserAsync(new User("viewer", PasswordHasher.Create(Password), "Viewer"));
    await store.UpsertDagAsync(new DagModel { DagId = "bench_dag", Schedule = "@daily" });

    var fill = Stopwatch.StartNew();
    var start = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    var runIds = new string[runCount];
    var batch = new List<TaskInstance>();
    for (var i = 0; i < runCount; i++)
    {
        var logical = start.AddDays(i);
        var run = new DagRun
        {
            DagId = "bench_dag",
            RunId = DagRun.GenerateRunId(DagRunType.Scheduled, logical),
            RunType = DagRunType.Scheduled,
            LogicalDate = logical,
            DataInterval = new(logical, logical.AddDays(1)),
            State = DagRunState.Success,
            StartDate = logical.AddDays(1),
            EndDate = logical.AddDays(1).AddMinutes(3),
        };
        runIds[i] = run.RunId;
        await store.CreateDagRunAsync(run);
        for (var t = 0; t < TasksPerRun; t++)
        {
            batch.Add(new TaskInstance
            {
                DagId = "bench_dag",
                TaskId = "task_" + t.ToString(CultureInfo.InvariantCulture),
                RunId = run.RunId,
                State = TaskInstanceState.Success,
                TryNumber = 1,
                StartDate = run.StartDate.Value.AddSeconds(t * 10),
                EndDate = run.StartDate.Value.AddSeconds((t * 10) + 8),
                Operator = "EmptyOperator",
                Hostname = "bench",
            });
        }

        if (batch.Count >= 5_000)
        {
            await store.SaveAsync(new StateBatch { TaskInstances = [.. batch.Select(TaskInstanceChange.Insert)] });
            batch = [];
        }
    }

    await store.SaveAsync(new StateBatch { TaskInstances = [.. batch.Select(TaskInstanceChange.Insert)] });
    Console.WriteLine($"store: {runCount:N0} runs x {TasksPerRun} task instances written in {fill.Elapsed.TotalSeconds:F1} s");

    await using var server = await SiroccoWebServer.StartAsync(new WebServerOptions { Config = config, Store = store, Urls = "http://127.0.0.1:0" });
    using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
    using var http = new HttpClient(handler) { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };
    using var tokenResponse = await http.PostAsync("/auth/token", new StringContent($$"""{"username":"viewer","password":"{{Password}}"}""", Encoding.UTF8, "application/json"));
    tokenResponse.EnsureSuccessStatusCode();
    var token = JsonNode.Parse(await tokenResponse.Content.ReadAsStringAsync())!["access_token"]!.GetValue<string>();

    // Warm-up: JIT, connection pool, SQLite pages.
    await RunAsync(http, new AuthenticationHeaderValue("Bearer", token), runIds, clients, TimeSpan.FromSeconds(3), check: true);
    var bearer = await RunAsync(http, new AuthenticationHeaderValue("Bearer", token), runIds, clients, TimeSpan.FromSeconds(seconds), check: false);
    Report($"bearer token, {clients} clients, {seconds} s", bearer);
    var basic = await RunAsync(http, new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("viewer:" + Password))), runIds, clients, TimeSpan.FromSeconds(5), check: false);
    Report($"basic auth, {clients} clients, 5 s", basic);

    await using (var sqlite = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + Path.Combine(home, "sirocco.db")))
    {
        await sqlite.OpenAsync();
        await using var cmd = sqlite.CreateCommand();
        cmd.CommandText = "CREATE INDEX IF NOT EXISTS ix_task_instance_run_task ON task_instance (dag_id, run_id, task_id, map_index)";
        await cmd.ExecuteNonQueryAsync();
    }

    await RunAsync(http, new AuthenticationHeaderValue("Bearer", token), runIds, clients, TimeSpan.FromSeconds(3), check: true);
    var indexed = await RunAsync(http, new AuthenticationHeaderValue("Bearer", token), runIds, clients, TimeSpan.FromSeconds(seconds), check: false);
    Report($"with the (dag_id, run_id, task_id) index: bearer token, {clients} clients, {seconds} s", indexed);
}
finally
{
    Directory.Delete(home, recursive: true);
}

static async Task<(List<double> Latencies, int Errors, TimeSpan Elapsed)> RunAsync(HttpClient http, AuthenticationHeaderValue auth, string[] runIds, int clients, TimeSpan duration, bool check)
{
    var latencies = new List<double>[clients];
    var errors = 0;
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
    {
        var mine = latencies[c] = new List<double>(100_000);
        var random = new Random(c);
        while (clock.Elapsed < duration)
        {
            var runId = runIds[random.Next(runIds.Length)];
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/dags/bench_dag/dagRuns/{Uri.EscapeDataString(runId)}/taskInstances");
            request.Headers.Authorization = auth;
            var t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (!response.IsSuccessStatusCode || (check && JsonNode.Parse(body)!["total_entries"]!.GetValue<int>() != 10))
                {
                    Interlocked.Increment(ref errors);
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref errors);
            }
        }
    })).ToArray();
    await Task.WhenAll(workers);
    return ([.. latencies.SelectMany(l => l)], errors, clock.Elapsed);
}

static void Report(string what, (List<double> Latencies, int Errors, TimeSpan Elapsed) r)
{
    var sorted = r.Latencies.Order().ToArray();
    double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    Console.WriteLine(
        $"{what}: {sorted.Length:N0} requests, {sorted.Length / r.Elapsed.TotalSeconds:N0}/s, p50 {P(0.50):F1} ms, p90 {P(0.90):F1} ms, p99 {P(0.99):F1} ms, max {sorted[^1]:F1} ms, errors {r.Errors}");
}
