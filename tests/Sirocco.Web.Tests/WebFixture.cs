using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Variables;
using Sirocco.Web.Security;

namespace Sirocco.Web.Tests;

/// <summary>
/// One real web server on a loopback port over a fresh SQLite store, with a real scheduler running test DAGs, and a
/// user per role. Shared by every test (one collection, so tests run one after another).
/// </summary>
public sealed class WebFixture : IAsyncLifetime
{
    public const string Password = "correct-horse-battery";
    private readonly CancellationTokenSource _stop = new();
    private Task? _schedulerTask;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public string Home { get; } = Directory.CreateTempSubdirectory("sirocco-web-").FullName;

    public IMetadataStore Store { get; private set; } = null!;

    public SiroccoConfig Config { get; private set; } = null!;

    public SecretMasker Masker { get; } = new();

    public SiroccoScheduler Scheduler { get; private set; } = null!;

    public SiroccoWebServer Server { get; private set; } = null!;

    public Uri Address => Server.Address;

    public string LogFolder => Config.Get("logging", "base_log_folder");

    public IReadOnlyDictionary<string, Dag> Dags { get; private set; } = null!;

    /// <summary>When set, the DAG provider throws (to check that a server error shows no internals).</summary>
    public static volatile bool BreakDagProvider;

    public async Task InitializeAsync()
    {
        // Many tests sign in from 127.0.0.1 against this one server: a loose sign-in rate limit (its own test checks the default),
        // and the connection Test button on (it is off by default).
        Config = SiroccoConfig.Load(Home, new Dictionary<string, string>
        {
            ["SIROCCO__WEBSERVER__AUTH_RATE_LIMIT"] = "1000 per 1 second",
            ["SIROCCO__CORE__TEST_CONNECTION"] = "Enabled",
        });
        Store = MetadataStore.OpenSqlite(Path.Combine(Home, "sirocco.db"));
        await Store.MigrateAsync();
        foreach (var role in new[] { "Admin", "Op", "User", "Viewer" })
        {
            await Store.UpsertUserAsync(new User(role.ToLowerInvariant(), PasswordHasher.Create(Password), role));
        }

        Dags = TestDags.All().ToDictionary(d => d.DagId, StringComparer.Ordinal);
        var env = new Dictionary<string, string>();
        var services = new SchedulerServices(Config, new VariableAccessor(Store, env, Masker), new ConnectionAccessor(Store, env, Masker), Masker);
        var options = SchedulerOptions.FromConfig(Config) with { SweepInterval = TimeSpan.FromMilliseconds(300), DagsArePausedAtCreation = true };
        var source = new StaticDagSource([.. Dags.Values]);
        await SiroccoScheduler.SyncDagsAsync(Store, await source.CollectAsync(default), options, DateTimeOffset.UtcNow, default);
        Scheduler = new SiroccoScheduler(Store, source, services, options, new AirflowTaskRenderer());
        _schedulerTask = Task.Run(() => Scheduler.RunAsync(_stop.Token));
        Server = await SiroccoWebServer.StartAsync(new WebServerOptions
        {
            Config = Config,
            Store = Store,
            Masker = Masker,
            Dags = () => BreakDagProvider ? throw new InvalidOperationException("secret internal detail at Sirocco.Internal") : Dags,
            Scheduler = Scheduler,
            Renderer = new AirflowTaskRenderer(),
            Urls = "http://127.0.0.1:0",
            Environment = env,
            MaxRequestBodySize = 256 * 1024,
            ConnectionTesters = [new Kubernetes.KubernetesConnectionTester(Config, env), new Google.GoogleConnectionTester(Google)],
        });
    }

    /// <summary>Google access for the Google connection tester (endpoints of real Google; tests point keys at a fake).</summary>
    public Google.GoogleCloud Google { get; } = new(new Google.GoogleCloudOptions());

    /// <summary>The one Chromium every browser test shares (Debian's package; a missing browser fails the test).</summary>
    public async Task<IBrowser> BrowserAsync()
    {
        if (_browser is null)
        {
            Assertions.SetDefaultExpectTimeout(30_000); // bounded waits, generous for a loaded CI machine
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Environment.GetEnvironmentVariable("SIROCCO_CHROMIUM") ?? "/usr/lib/chromium/chromium",
                Headless = true,
                Args = ["--no-sandbox"],
            });
        }

        return _browser;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await Server.DisposeAsync();
        Google.Dispose();
        await _stop.CancelAsync();
        if (_schedulerTask is not null)
        {
            await _schedulerTask;
        }

        await Store.DisposeAsync();
        _stop.Dispose();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
            // A browser or the scheduler may still hold a file for a moment; the temp folder is cleaned by the OS.
        }
    }

    /// <summary>A client for the API, with basic credentials of <paramref name="user"/> (none when null).</summary>
    public HttpClient Client(string? user)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + Password)));
        }

        return client;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking as tries finish (bounded).</summary>
    public async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? what = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var signal = new SemaphoreSlim(0);
        void OnFinished(TaskInstance _) => signal.Release();
        Scheduler.TaskInstanceFinished += OnFinished;
        try
        {
            while (!await condition())
            {
                try
                {
                    // Woken by a finished try; the short cap covers changes made by the API rather than by a try.
                    await signal.WaitAsync(TimeSpan.FromMilliseconds(100), cts.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException("timed out waiting for " + (what ?? "a condition"));
                }
            }
        }
        finally
        {
            Scheduler.TaskInstanceFinished -= OnFinished;
        }
    }

    public async Task<DagRun> WaitForRunAsync(string dagId, string runId, DagRunState state, TimeSpan? timeout = null)
    {
        await WaitForAsync(async () => (await Store.GetDagRunAsync(dagId, runId))?.State == state, timeout, $"run {dagId}/{runId} to be {state.ToName()}");
        return (await Store.GetDagRunAsync(dagId, runId))!;
    }

    public static async Task<JsonObject> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException("not a JSON object: " + text);
    }
}

[CollectionDefinition("web")]
public sealed class WebCollection : ICollectionFixture<WebFixture>;
