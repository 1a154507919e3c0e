using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Variables;
using Sirocco.Web;
using Sirocco.Web.Security;

namespace Sirocco.Fuzz;

/// <summary>
/// Generated JSON bodies sent to every POST/PATCH/PUT operation of the web server's OpenAPI document, on a server of
/// its own (a temp SQLite store, one DAG with a run, a Variable, a Connection, a user). Rules: never a 5xx; a 4xx is
/// problem JSON with a non-empty <c>detail</c>; the server logs no unexpected error.
/// </summary>
internal sealed class WebApiTarget : IFuzzTarget
{
    private const string Admin = "fuzz_admin"; // never named by a generated body, so its password is never locked out
    private const string Password = "long-enough-password";
    private const int MaxBody = 256 * 1024;

    private readonly string _home = FuzzFolders.Create("web");
    private readonly ConcurrentQueue<string> _serverLog = new();
    private IMetadataStore? _store;
    private SiroccoWebServer? _server;
    private HttpClient? _client;
    private ApiRequestGenerator? _generator;

    /// <inheritdoc/>
    public string Name => "web-api";

    /// <inheritdoc/>
    public TimeSpan CaseTimeLimit => TimeSpan.FromSeconds(10);

    /// <summary>The API's JSON operations, from its OpenAPI document (known once started).</summary>
    public IReadOnlyList<ApiOperation> Operations { get; private set; } = [];

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var config = SiroccoConfig.Load(_home, new Dictionary<string, string>
        {
            ["SIROCCO__WEBSERVER__AUTH_RATE_LIMIT"] = "100000 per 1 second",
        });
        _store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        await _store.UpsertUserAsync(new User(Admin, PasswordHasher.Create(Password), "Admin"), cancellationToken).ConfigureAwait(false);
        await _store.UpsertUserAsync(new User("fuzz_user", PasswordHasher.Create(Password), "User"), cancellationToken).ConfigureAwait(false);
        var dags = await SeedAsync(_store, config, cancellationToken).ConfigureAwait(false);
        _server = await SiroccoWebServer.StartAsync(
            new WebServerOptions
            {
                Config = config,
                Store = _store,
                Dags = () => dags,
                Urls = "http://127.0.0.1:0",
                Environment = environment,
                MaxRequestBodySize = MaxBody,
                Log = _serverLog.Enqueue,
            },
            cancellationToken).ConfigureAwait(false);
        _client = new HttpClient { BaseAddress = _server.Address, Timeout = CaseTimeLimit };
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Admin + ":" + Password)));
        var document = JsonNode.Parse(await _client.GetStringAsync(new Uri("/api/v1/openapi.json", UriKind.Relative), cancellationToken).ConfigureAwait(false))!;
        Operations = ApiOperation.FromOpenApi(document);
        _generator = new ApiRequestGenerator(Operations);
    }

    /// <inheritdoc/>
    public PreparedCase Prepare(Random random, int index)
    {
        var request = (_generator ?? throw new InvalidOperationException("not started")).Generate(random);
        return new PreparedCase(request.ToString(), ct => CheckAsync(request, ct));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        FuzzFolders.Delete(_home);
    }

    /// <summary>Sends one request; throws <see cref="FuzzFailureException"/> when the answer breaks a rule.</summary>
    public async Task<Verdict> CheckAsync(ApiRequest request, CancellationToken cancellationToken)
    {
        _serverLog.Clear();

        // The server closes the connection after refusing a body over its limit: not reused, the next case starts clean.
        var body = Encoding.UTF8.GetBytes(request.Body);
        var answer = await HttpAnswer.SendAsync(_client!, request.Method, request.Path, request.ContentType, body, body.Length > MaxBody, cancellationToken)
            .ConfigureAwait(false);
        var (status, text) = (answer.Status, answer.Text);
        if (_serverLog.TryPeek(out var logged))
        {
            throw new FuzzFailureException($"{status}; the server logged an error: {logged}");
        }

        if (status >= 500)
        {
            throw new FuzzFailureException($"answered {status}: {text}");
        }

        if (status < 400)
        {
            return Verdict.Accept;
        }

        if (IsKestrelRejection(request, status, text))
        {
            return Verdict.Refuse($"{status} from Kestrel, before the application");
        }

        return Verdict.Refuse($"{status} {ProblemDetail(answer)}");
    }

    /// <summary>
    /// A request Kestrel refuses while reading its request line, before any middleware runs, with an empty body: a path
    /// holding an encoded NUL (400) or a request line over Kestrel's 8 KB limit (414). The application cannot answer
    /// those with problem JSON; anything else without problem JSON is a failure.
    /// </summary>
    private static bool IsKestrelRejection(ApiRequest request, int status, string text) =>
        text.Length == 0 && ((status == 400 && request.Path.Contains("%00", StringComparison.Ordinal)) || (status == 414 && request.Path.Length > 8 * 1024));

    /// <summary>The detail of a problem JSON answer; a failure when the answer is not one.</summary>
    private static string ProblemDetail(HttpAnswer answer)
    {
        if (answer.MediaType != "application/problem+json")
        {
            throw new FuzzFailureException($"answered {answer.Status} with {answer.MediaType ?? "no content type"}, not problem JSON: {answer.Text}");
        }

        var detail = HttpAnswer.Member(answer.Json(), "detail");
        return !string.IsNullOrWhiteSpace(detail) ? detail : throw new FuzzFailureException($"answered {answer.Status} with problem JSON without a detail: {answer.Text}");
    }

    /// <summary>The objects the generated requests name: a DAG and its run with task instances, a Variable, a Connection.</summary>
    private static async Task<IReadOnlyDictionary<string, Dag>> SeedAsync(IMetadataStore store, SiroccoConfig config, CancellationToken cancellationToken)
    {
        var extract = new EmptyOperator("extract");
        var load = new EmptyOperator("load");
        var dag = new Dag("fuzz_dag") { Schedule = Scheduling.Schedule.None, FileLoc = "/dags/fuzz_dag.cs" };
        dag.Add(extract);
        dag.Add(load);
        _ = extract >> load;
        var dags = new Dictionary<string, Dag>(StringComparer.Ordinal) { [dag.DagId] = dag };
        var options = SchedulerOptions.FromConfig(config) with { DagsArePausedAtCreation = true };
        var source = new StaticDagSource(dag);
        var collection = await source.CollectAsync(cancellationToken).ConfigureAwait(false);
        await SiroccoScheduler.SyncDagsAsync(store, collection, options, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);

        var when = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await store.CreateDagRunAsync(
            new DagRun { DagId = dag.DagId, RunId = "fuzz_run", RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Success },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await store.SaveAsync(
            new StateBatch
            {
                TaskInstances =
                [
                    TaskInstanceChange.Insert(new TaskInstance { DagId = dag.DagId, TaskId = "extract", RunId = "fuzz_run", State = TaskInstanceState.Success, TryNumber = 1 }),
                    TaskInstanceChange.Insert(new TaskInstance { DagId = dag.DagId, TaskId = "load", RunId = "fuzz_run", State = TaskInstanceState.Failed, TryNumber = 1 }),
                ],
            },
            cancellationToken).ConfigureAwait(false);
        store.SetVariable(new Variable("fuzz_var", "v"));
        store.SetConnection(new Connection { ConnId = "fuzz_conn", ConnType = "http", Host = "example.com" });
        return dags;
    }
}
