using System.Text.Json;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Masking;
using Sirocco.Variables;

namespace Sirocco.Templating.Tests;

public class AirflowContextTests
{
    private static readonly string[] SeedFields = ["{{ ds }}", "{{ var.value.my_value }}", "{{ conf.get('core', 'kube_config') }}"];

    private static (TemplateContext Context, MemoryVariables Variables, SecretMasker Masker) Seed(Dictionary<string, string> env)
    {
        var masker = new SecretMasker();
        var variables = new MemoryVariables();
        var services = new AirflowServices
        {
            Config = SiroccoConfig.Load(Path.Combine(Path.GetTempPath(), "sirocco-tpl-seed-" + Guid.NewGuid().ToString("N")), env),
            Variables = new VariableAccessor(variables, new Dictionary<string, string>(), masker),
            Connections = new ConnectionAccessor(new MemoryConnections(), new Dictionary<string, string>(), masker),
        };
        var input = new AirflowContextInput
        {
            DagId = "composer_sample_kubernetes_pod",
            TaskId = "ex-kube-templates",
            RunId = "scheduled__2026-11-25T00:00:00+00:00",
            LogicalDate = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero),
        };
        return (AirflowContext.Build(input, services), variables, masker);
    }

    [Fact]
    public void Seed_walkthrough_fails_on_the_variable_then_the_option_then_succeeds()
    {
        var env = new Dictionary<string, string>();
        var (context, variables, _) = Seed(env);
        var engine = new TemplateEngine();

        var e = Assert.Throws<TemplateException>(() => engine.Render(SeedFields[1], context, "env_vars[MY_VALUE]"));
        Assert.Equal("Variable my_value does not exist", e.Reason);
        Assert.IsType<VariableNotFoundException>(e.InnerException);
        Assert.Equal("env_vars[MY_VALUE]", e.Field);
        Assert.Contains("env_vars[MY_VALUE]", e.Message, StringComparison.Ordinal);

        variables.SetVariable(new Variable("my_value", "example_value"));
        Assert.Equal("example_value", engine.Render(SeedFields[1], context));

        var c = Assert.Throws<TemplateException>(() => engine.Render(SeedFields[2], context, "config_file"));
        Assert.Equal("section/key [core/kube_config] not found in config", c.Reason);
        Assert.IsType<ConfigOptionNotFoundException>(c.InnerException);

        env["SIROCCO__CORE__KUBE_CONFIG"] = "/home/airflow/composer_kube_config";
        var (context2, variables2, _) = Seed(env);
        variables2.SetVariable(new Variable("my_value", "example_value"));
        Assert.Equal(["2026-11-25", "example_value", "/home/airflow/composer_kube_config"], SeedFields.Select(f => engine.Render(f, context2)));
    }

    [Fact]
    public void Missing_connection_names_the_conn_id()
    {
        var (context, _, _) = Seed([]);
        var e = Assert.Throws<TemplateException>(() => new TemplateEngine().Render("x{{ conn.warehouse.host }}", context));
        Assert.Equal("The conn_id `warehouse` isn't defined", e.Reason);
        Assert.IsType<ConnectionNotFoundException>(e.InnerException);
        Assert.Equal(1, e.Line);
        Assert.Equal(9, e.Column);
    }

    [Fact]
    public void Secrets_read_from_var_and_conn_are_registered_with_the_masker()
    {
        var world = TestWorld.FromFixture();
        Assert.Equal("x hunter2-secret", world.Masker.Redact("x hunter2-secret"));
        var engine = new TemplateEngine();
        var rendered = engine.Render("--password={{ var.value.db_password }} --db={{ conn.my_db.password }}", world.Context);
        Assert.Equal("--password=hunter2-secret --db=pw-12345", rendered);
        Assert.Equal("--password=*** --db=***", world.Masker.Redact(rendered));
    }

    [Fact]
    public void Xcom_pull_reads_through_the_reader_with_dag_run_and_key()
    {
        var world = TestWorld.FromFixture();
        var engine = new TemplateEngine();
        Assert.Equal("a.csv", engine.Render("{{ ti.xcom_pull(task_ids='push').files[0] }}", world.Context));
        Assert.Equal("None", engine.Render("{{ ti.xcom_pull(task_ids='push', key='nothing') }}", world.Context));
        Assert.Equal("42", engine.Render("{{ ti.xcom_pull(task_ids='push', dag_id='other', key='count') }}", world.Context));
        Assert.Equal("42 fallback", engine.Render("{{ ti.xcom_pull(key='count') }} {{ ti.xcom_pull(task_ids='nobody', default='fallback') }}", world.Context));
        Assert.Contains(world.XComs.Calls, c => c == (world.Input.DagId, world.Input.RunId, null, "count"));
        Assert.Contains(world.XComs.Calls, c => c == (world.Input.DagId, world.Input.RunId, "push", "return_value"));
        Assert.Contains(world.XComs.Calls, c => c == ("other", world.Input.RunId, "push", "count"));
    }

    [Fact]
    public void Data_interval_defaults_to_the_logical_date_and_dates_respect_offsets()
    {
        var input = new AirflowContextInput
        {
            DagId = "d",
            TaskId = "t",
            RunId = "manual__x",
            RunType = "manual",
            LogicalDate = new DateTimeOffset(2024, 1, 1, 1, 30, 0, TimeSpan.FromHours(2)),
        };
        var context = AirflowContext.Build(input, new AirflowServices());
        var engine = new TemplateEngine();
        Assert.Equal("2023-12-31 2023-12-31T23:30:00+00:00 20231231T233000+0000", engine.Render("{{ ds }} {{ ts }} {{ ts_nodash_with_tz }}", context));
        Assert.Equal("True None", engine.Render("{{ data_interval_start == data_interval_end }} {{ prev_ds }}", context));
        Assert.Equal("manual d__t__20231231", engine.Render("{{ dag_run.run_type }} {{ task_instance_key_str }}", context));
    }

    [Fact]
    public void Services_left_out_fail_clearly()
    {
        var context = AirflowContext.Build(new AirflowContextInput { DagId = "d", TaskId = "t", RunId = "r", LogicalDate = DateTimeOffset.UnixEpoch }, new AirflowServices());
        var e = Assert.Throws<TemplateException>(() => new TemplateEngine().Render("{{ var.value.x }}", context));
        Assert.Contains("not available", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Params_and_conf_accept_json_and_plain_values()
    {
        using var doc = JsonDocument.Parse("""{"list": [1, 2], "flag": true}""");
        var input = new AirflowContextInput
        {
            DagId = "d",
            TaskId = "t",
            RunId = "r",
            LogicalDate = DateTimeOffset.UnixEpoch,
            Params = new Dictionary<string, object?> { ["json"] = doc.RootElement.Clone(), ["n"] = 5, ["names"] = new[] { "a", "b" } },
            DagRunConf = new Dictionary<string, object?> { ["when"] = new DateTimeOffset(2020, 2, 3, 0, 0, 0, TimeSpan.Zero) },
        };
        var context = AirflowContext.Build(input, new AirflowServices());
        Assert.Equal("[1, 2] True 6 a|b 2020-02-03", new TemplateEngine().Render(
            "{{ params.json.list }} {{ params.json.flag }} {{ params.n + 1 }} {{ params.names | join('|') }} {{ dag_run.conf.when | ds }}", context));
    }
}
