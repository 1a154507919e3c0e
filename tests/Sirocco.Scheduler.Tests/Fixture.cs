using Microsoft.Extensions.Time.Testing;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Storage;
using Sirocco.Variables;

namespace Sirocco.Scheduler.Tests;

/// <summary>A scheduler on fake time over a fresh SQLite store.</summary>
internal sealed class Fixture : IAsyncDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-sched-").FullName;

    public Fixture(DateTimeOffset now)
    {
        Time = new FakeTimeProvider(now);
        Store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        Store.MigrateAsync().GetAwaiter().GetResult();
        var config = SiroccoConfig.Load(_home, new Dictionary<string, string>());
        var masker = new SecretMasker();
        var env = new Dictionary<string, string>();
        Services = new SchedulerServices(config, new VariableAccessor(Store, env, masker), new ConnectionAccessor(Store, env, masker), masker);
        Options = new SchedulerOptions { LogFolder = Path.Combine(_home, "logs"), DagsArePausedAtCreation = false };
    }

    public FakeTimeProvider Time { get; }

    public IMetadataStore Store { get; }

    public SchedulerServices Services { get; }

    public SchedulerOptions Options { get; set; }

    public string LogFolder => Options.LogFolder;

    public SiroccoScheduler Create(params Dag[] dags) => new(Store, new StaticDagSource(dags), Services, Options, renderer: null, time: Time);

    public async Task<IReadOnlyList<DagRun>> RunsAsync(string dagId) =>
        await Store.ListDagRunsAsync(new DagRunQuery { DagId = dagId, Descending = false });

    public async Task<Dictionary<string, TaskInstance>> TisAsync(DagRun run) =>
        (await Store.ListTaskInstancesAsync(run.DagId, run.RunId)).ToDictionary(t => t.TaskId);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }
}

/// <summary>A task whose behaviour a test scripts.</summary>
internal sealed class ScriptedOperator(string taskId, Func<TaskExecutionContext, CancellationToken, Task<object?>> body) : BaseOperator(taskId)
{
    public static readonly List<string> Calls = [];

    public int Executions { get; private set; }

    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        Executions++;
        lock (Calls)
        {
            Calls.Add(TaskId);
        }

        return await body(context, cancellationToken);
    }

    public static ScriptedOperator Ok(string id, object? result = null) => new(id, (_, _) => Task.FromResult(result));

    public static ScriptedOperator Fail(string id) => new(id, (_, _) => throw new SiroccoException($"{id} failed on purpose"));
}
