using Sirocco.Variables;

namespace Sirocco.Scheduler.Tests;

/// <summary>Template fields rendered with the Airflow context before each try.</summary>
public class RenderingTests
{
    private sealed class EchoOperator(string taskId) : BaseOperator(taskId)
    {
        public static readonly List<string> Seen = [];

        public string Command { get; set; } = string.Empty;

        public List<string> Arguments { get; set; } = [];

        public override IReadOnlyList<string> TemplateFields => ["Command", "Arguments"];

        public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
        {
            lock (Seen)
            {
                Seen.Add(Command + "|" + string.Join(",", Arguments));
            }

            context.Log("echo " + Command);
            return Task.FromResult<object?>(null);
        }
    }

    [Fact]
    public async Task Fields_render_with_ds_variables_and_config_and_the_dags_task_stays_unrendered()
    {
        await using var f = new Fixture(new DateTimeOffset(2024, 1, 3, 10, 0, 0, TimeSpan.Zero));
        f.Store.SetVariable(new Variable("my_value", "example_value"));
        f.Store.SetVariable(new Variable("db_password", "hunter2-very-secret"));
        var task = new EchoOperator("echo") { Command = "{{ ds }} {{ var.value.my_value }}", Arguments = ["{{ ds_nodash }}", "{{ var.value.db_password }}"] };
        var dag = new Dag("render") { Schedule = TimeSpan.FromDays(1), StartDate = new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), Tasks = { task } };
        var scheduler = new SiroccoScheduler(f.Store, new StaticDagSource(dag), f.Services, f.Options, new AirflowTaskRenderer(), f.Time);
        await scheduler.StepAsync();

        Assert.Contains("2024-01-02 example_value|20240102,hunter2-very-secret", EchoOperator.Seen);
        Assert.Equal("{{ ds }} {{ var.value.my_value }}", task.Command);
        var run = Assert.Single(await f.RunsAsync("render"));
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "render", "echo", run.LogicalDate, 1));
        Assert.Contains("Rendered Command: 2024-01-02 example_value", log, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-very-secret", log, StringComparison.Ordinal); // a sensitive variable is masked
        Assert.Contains("***", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_variable_fails_the_try_naming_the_variable_and_the_field()
    {
        await using var f = new Fixture(new DateTimeOffset(2024, 1, 3, 10, 0, 0, TimeSpan.Zero));
        var task = new EchoOperator("needs_var") { Command = "value is {{ var.value.my_value }}" };
        var dag = new Dag("missing_var") { Schedule = TimeSpan.FromDays(1), StartDate = new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), Tasks = { task } };
        var scheduler = new SiroccoScheduler(f.Store, new StaticDagSource(dag), f.Services, f.Options, new AirflowTaskRenderer(), f.Time);
        await scheduler.StepAsync();
        var run = Assert.Single(await f.RunsAsync("missing_var"));
        Assert.Equal(TaskInstanceState.Failed, (await f.TisAsync(run))["needs_var"].State);
        var log = await File.ReadAllTextAsync(TaskLogPaths.For(f.LogFolder, "missing_var", "needs_var", run.LogicalDate, 1));
        Assert.Contains("Variable my_value does not exist", log, StringComparison.Ordinal);
        Assert.Contains("Command", log, StringComparison.Ordinal);
        Assert.Contains("{{ var.value.my_value }}", log, StringComparison.Ordinal);
    }
}
