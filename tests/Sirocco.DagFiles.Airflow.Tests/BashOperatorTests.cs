using System.Collections.Concurrent;
using System.Text.Json;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Scheduling;
using Sirocco.Templating;
using Sirocco.Variables;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>BashOperator runs its command as a local process, as Airflow's does.</summary>
public sealed class BashOperatorTests : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("sirocco-bash-test-");

    public void Dispose() => _home.Delete(recursive: true);

    private sealed class Stores : IVariableStore, IConnectionStore, ITaskTryRecorder
    {
        public Variable? GetVariable(string key) => null;

        public IReadOnlyList<Variable> ListVariables() => [];

        public void SetVariable(Variable variable)
        {
        }

        public bool DeleteVariable(string key) => false;

        public Connection? GetConnection(string connId) => null;

        public IReadOnlyList<Connection> ListConnections() => [];

        public void SetConnection(Connection connection)
        {
        }

        public bool DeleteConnection(string connId) => false;

        public Task PushXComAsync(string key, JsonElement value, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<JsonElement?> PullXComAsync(string taskId, string key, CancellationToken cancellationToken) => Task.FromResult<JsonElement?>(null);

        public Task RecordExternalIdAsync(string externalId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private (TaskExecutionContext Context, ConcurrentQueue<string> Log) Context()
    {
        var stores = new Stores();
        var masker = new SecretMasker();
        var log = new ConcurrentQueue<string>();
        var date = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);
        return (new TaskExecutionContext
        {
            DagRun = new DagRun { DagId = "d", RunId = "manual__1", RunType = DagRunType.Manual, LogicalDate = date, DataInterval = new DataInterval(date, date) },
            TaskInstance = new TaskInstance { DagId = "d", TaskId = "b", RunId = "manual__1", TryNumber = 1 },
            Log = log.Enqueue,
            Recorder = stores,
            Config = SiroccoConfig.Load(_home.FullName, new Dictionary<string, string>()),
            Connections = new ConnectionAccessor(stores, new Dictionary<string, string>(), masker),
            Variables = new VariableAccessor(stores, new Dictionary<string, string>(), masker),
            Masker = masker,
        }, log);
    }

    [Fact]
    public async Task Output_goes_to_the_log_and_the_last_line_is_the_xcom()
    {
        var (context, log) = Context();
        var op = new BashOperator("b") { BashCommand = "echo one; echo two >&2; echo \"$GREETING $AIRFLOW_CTX_DAG_ID\"", Env = new Dictionary<string, string> { ["GREETING"] = "hello" }, AppendEnv = true };
        var result = await op.ExecuteAsync(context, CancellationToken.None);
        Assert.Equal("hello d", result);
        Assert.Contains("one", log);
        Assert.Contains("two", log);
        Assert.Contains("Command exited with return code 0", log);
    }

    [Fact]
    public async Task Env_without_append_replaces_the_environment()
    {
        var (context, _) = Context();
        var op = new BashOperator("b") { BashCommand = "echo \"[${HOME:-unset}]\"", Env = new Dictionary<string, string> { ["X"] = "1" } };
        Assert.Equal("[unset]", await op.ExecuteAsync(context, CancellationToken.None));
    }

    [Fact]
    public async Task Exit_99_skips_and_other_codes_fail()
    {
        var (context, _) = Context();
        await Assert.ThrowsAsync<TaskSkippedException>(() => new BashOperator("b") { BashCommand = "exit 99" }.ExecuteAsync(context, CancellationToken.None));
        var e = await Assert.ThrowsAsync<SiroccoException>(() => new BashOperator("b") { BashCommand = "exit 3" }.ExecuteAsync(context, CancellationToken.None));
        Assert.Equal("Bash command failed. The command returned a non-zero exit code 3.", e.Message);
    }

    [Fact]
    public async Task Cancellation_kills_the_process()
    {
        var (context, _) = Context();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new BashOperator("b") { BashCommand = "sleep 30" }.ExecuteAsync(context, cts.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_py_bash_task_renders_its_templates_and_runs()
    {
        var dag = Support.One("from airflow import DAG\nfrom airflow.operators.bash import BashOperator\nwith DAG('d'):\n"
            + "    BashOperator(task_id='b', bash_command='echo \"$DAY {{ ds_nodash }} {{ params.who }}\"', env={'DAY': '{{ ds }}'}, append_env=True)\n");
        var op = (BashOperator)dag.GetTask("b");
        var (context, log) = Context();
        var templates = AirflowContext.Build(
            new AirflowContextInput { DagId = "d", TaskId = "b", RunId = "manual__1", LogicalDate = context.DagRun.LogicalDate, Params = new Dictionary<string, object?> { ["who"] = "py" } },
            new AirflowServices());
        var rendered = new TemplateFieldRenderer(new TemplateEngine()).RenderFields((BashOperator)op.CloneForTry(), op.TemplateFields, templates);
        Assert.Equal("echo \"$DAY {{ ds_nodash }} {{ params.who }}\"", op.BashCommand); // the DAG's own task is untouched
        Assert.Equal("2026-11-26 20261126 py", await rendered.ExecuteAsync(context, CancellationToken.None));
        Assert.Contains("2026-11-26 20261126 py", log);
    }

    [Fact]
    public void Bash_command_and_env_are_the_template_fields()
    {
        var dag = Support.One("from airflow import DAG\nfrom airflow.operators.bash import BashOperator\nwith DAG('d'):\n    BashOperator(task_id='b', bash_command='echo {{ ds }}', env={'A': '{{ ds }}'}, append_env=True, cwd='/tmp', skip_exit_code=42)\n");
        var op = Assert.IsType<BashOperator>(dag.GetTask("b"));
        Assert.Equal(["BashCommand", "Env"], op.TemplateFields);
        Assert.Equal(("echo {{ ds }}", "{{ ds }}", true, "/tmp"), (op.BashCommand, op.Env!["A"], op.AppendEnv, op.Cwd));
        Assert.Equal([42], op.SkipOnExitCode);
    }
}
