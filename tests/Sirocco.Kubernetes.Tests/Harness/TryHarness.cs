using System.Collections.Concurrent;
using System.Text.Json;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Scheduling;
using Sirocco.Variables;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>Runs single task tries the way the scheduler will: a context, a recorder, a log, a rendered copy.</summary>
internal sealed class TryHarness : IConnectionStore, IVariableStore
{
    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Variable> _variables = new(StringComparer.Ordinal);
    private TaskCompletionSource _logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly RuntimeServices? _services;

    public TryHarness(string dagId = "kpo_tests", string runId = "manual__2024-01-01T00:00:00+00:00", RuntimeServices? services = null)
    {
        _services = services;
        DagId = dagId;
        RunId = runId;
        Home = Path.Combine(Path.GetTempPath(), "sirocco-kpo-home-" + Guid.NewGuid().ToString("n")[..8]);
        Homes.Add(Home);
        Config = SiroccoConfig.Load(Home, new Dictionary<string, string>());
        Connections = new ConnectionAccessor(this, new Dictionary<string, string>(), Masker);
        Variables = new VariableAccessor(this, new Dictionary<string, string>(), Masker);
    }

    /// <summary>Every harness's home, removed when the test process ends (tests write kubeconfigs and proxy files there).</summary>
    private static readonly ConcurrentBag<string> Homes = Removed();

    private static ConcurrentBag<string> Removed()
    {
        var homes = new ConcurrentBag<string>();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var home in homes.Where(Directory.Exists))
            {
                try
                {
                    Directory.Delete(home, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A file still held open: the folder stays; nothing else depends on it.
                }
            }
        };
        return homes;
    }

    public string DagId { get; }

    public string RunId { get; }

    public string Home { get; }

    public SiroccoConfig Config { get; }

    public SecretMasker Masker { get; } = new();

    public ConnectionAccessor Connections { get; }

    public VariableAccessor Variables { get; }

    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>XComs pushed by tries, keyed by (task, key).</summary>
    public ConcurrentDictionary<(string Task, string Key), JsonElement> XComs { get; } = new();

    public ConcurrentDictionary<string, string> ExternalIds { get; } = new(StringComparer.Ordinal);

    public string LogText => string.Join('\n', Log);

    /// <summary>When set, recording the external id fails (a metadata store that went away).</summary>
    public bool FailRecording { get; set; }

    public TaskExecutionContext Context(string taskId, int tryNumber = 1, string? resumedExternalId = null, CancellationToken shutdown = default) => new()
    {
        DagRun = new DagRun
        {
            DagId = DagId,
            RunId = RunId,
            RunType = DagRunType.Manual,
            LogicalDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            DataInterval = DataInterval.Exact(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero)),
        },
        TaskInstance = new TaskInstance { DagId = DagId, TaskId = taskId, RunId = RunId, TryNumber = tryNumber },
        Log = line =>
        {
            Log.Enqueue(line);
            Interlocked.Exchange(ref _logged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        },
        Recorder = new Recorder(this, taskId),
        Config = Config,
        Connections = Connections,
        Variables = Variables,
        Masker = Masker,
        ResumedExternalId = resumedExternalId,
        Shutdown = shutdown,
        Services = _services ?? ProcessRuntime,
    };

    /// <summary>The process environment, read once.</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment { get; } =
        Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => e.Value?.ToString() ?? string.Empty, StringComparer.Ordinal);

    /// <summary>The runtime tries of this test process share, as the CLI's composition root builds it.</summary>
    private static readonly RuntimeServices ProcessRuntime = new RuntimeServices().AddKubernetes(ProcessEnvironment);

    /// <summary>Runs one try of <paramref name="op"/> on a per-try copy; pushes the result as the scheduler does.</summary>
    public async Task<object?> RunAsync(
        KubernetesPodOperator op,
        int tryNumber = 1,
        string? resumedExternalId = null,
        CancellationToken kill = default,
        CancellationToken shutdown = default,
        Internal.KubernetesRuntime? runtime = null)
    {
        var copy = (KubernetesPodOperator)op.CloneForTry();
        var context = Context(op.TaskId, tryNumber, resumedExternalId, shutdown);
        var result = runtime is null
            ? await copy.ExecuteAsync(context, kill)
            : await Internal.PodRun.ExecuteAsync(copy, context, runtime, kill);
        if (result is not null && op.DoXcomPush)
        {
            XComs[(op.TaskId, XComEntry.ReturnValueKey)] = JsonSerializer.SerializeToElement(result);
        }

        return result;
    }

    /// <summary>Waits (woken by each log line, never polling) until a line matches.</summary>
    public async Task WaitForLogAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var next = Volatile.Read(ref _logged).Task;
            if (Log.Any(match))
            {
                return;
            }

            await next.WaitAsync(cts.Token);
        }
    }

    /// <summary>Renders a per-try copy of <paramref name="op"/> with the real template engine, as the scheduler will.</summary>
    public KubernetesPodOperator Render(KubernetesPodOperator op)
    {
        var copy = (KubernetesPodOperator)op.CloneForTry();
        var context = Templating.AirflowContext.Build(
            new Templating.AirflowContextInput
            {
                DagId = DagId,
                TaskId = op.TaskId,
                RunId = RunId,
                LogicalDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            },
            new Templating.AirflowServices { Config = Config, Variables = Variables, Connections = Connections });
        return new Templating.TemplateFieldRenderer(new Templating.TemplateEngine()).RenderFields(copy, copy.TemplateFields, context);
    }

    public void SetVariable(string key, string value) => _variables[key] = new Variable(key, value);

    public void AddConnection(Connection connection) => _connections[connection.ConnId] = connection;

    Connection? IConnectionStore.GetConnection(string connId) => _connections.GetValueOrDefault(connId);

    IReadOnlyList<Connection> IConnectionStore.ListConnections() => [.. _connections.Values];

    void IConnectionStore.SetConnection(Connection connection) => _connections[connection.ConnId] = connection;

    bool IConnectionStore.DeleteConnection(string connId) => _connections.TryRemove(connId, out _);

    Variable? IVariableStore.GetVariable(string key) => _variables.GetValueOrDefault(key);

    IReadOnlyList<Variable> IVariableStore.ListVariables() => [.. _variables.Values];

    void IVariableStore.SetVariable(Variable variable) => _variables[variable.Key] = variable;

    bool IVariableStore.DeleteVariable(string key) => _variables.TryRemove(key, out _);

    private sealed class Recorder(TryHarness harness, string taskId) : ITaskTryRecorder
    {
        public Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken)
        {
            harness.XComs[(taskId, key)] = value;
            return Task.CompletedTask;
        }

        public Task<JsonElement?> PullXComAsync(string taskId2, string key, CancellationToken cancellationToken) =>
            Task.FromResult<JsonElement?>(harness.XComs.TryGetValue((taskId2, key), out var v) ? v : null);

        public Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken)
        {
            if (harness.FailRecording)
            {
                throw new InvalidOperationException("the metadata store is unavailable");
            }

            harness.ExternalIds[taskId] = externalId;
            return Task.CompletedTask;
        }
    }
}
