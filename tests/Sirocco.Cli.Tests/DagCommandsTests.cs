using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sirocco.Cli.Tests;

/// <summary>The DAG and task commands through the real program, over one home with a good and a broken DAG file.</summary>
public sealed class DagCommandsTests : IDisposable
{
    private const string GoodDag = """
        using System.IO;

        var fail = new Flaky("flaky");
        var dag = new Dag("cli_dag")
        {
            Schedule = "@daily",
            StartDate = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Params = new Dictionary<string, object?> { ["who"] = "world" },
            Tasks = { new EmptyOperator("start"), new Echo("echo") { Text = "hello {{ params.who }} on {{ ds }}" }, fail },
        };
        _ = dag.GetTask("start") >> dag.GetTask("echo") >> fail;
        return dag;

        sealed class Echo(string id) : BaseOperator(id)
        {
            public string Text { get; set; } = "";
            public override IReadOnlyList<string> TemplateFields => ["Text"];
            public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
            {
                context.Log("said: " + Text);
                return Task.FromResult<object?>(Text);
            }
        }

        sealed class Flaky(string id) : BaseOperator(id)
        {
            public override Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken) =>
                context.DagRun.Conf["fail"] is not null ? throw new SiroccoException("asked to fail") : Task.FromResult<object?>(null);
        }
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-dags-").FullName;

    public DagCommandsTests()
    {
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        File.WriteAllText(Path.Combine(_home, "dags", "cli_dag.cs"), GoodDag);
        File.WriteAllText(Path.Combine(_home, "dags", "broken.cs"), "var x = ;\nreturn x;\n");
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private Task<(int Code, string Out, string Err)> Sirocco(params string[] args) => SiroccoWith([], args);

    private async Task<(int Code, string Out, string Err)> SiroccoWith(Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SIROCCO_HOME"] = _home;
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_broken_file_is_an_import_error_while_the_good_dag_lists_shows_and_tests()
    {
        var list = await Sirocco("dags", "list", "-o", "json");
        Assert.Equal(0, list.Code);
        Assert.Equal("cli_dag", Assert.Single(JsonNode.Parse(list.Out)!.AsArray())!["dag_id"]!.ToString());
        Assert.Contains("1 DAG file(s) failed to load", list.Err, StringComparison.Ordinal);

        var errors = await Sirocco("dags", "list-import-errors", "-o", "json");
        var error = Assert.Single(JsonNode.Parse(errors.Out)!.AsArray())!;
        Assert.EndsWith("broken.cs", error["filepath"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("(1,9)", error["error"]!.ToString(), StringComparison.Ordinal); // line and column

        var show = await Sirocco("dags", "show", "cli_dag", "--format", "dot");
        Assert.Contains("\"start\" -> \"echo\";", show.Out, StringComparison.Ordinal);
        Assert.Equal(["start", "echo", "flaky"], (await Sirocco("tasks", "list", "cli_dag", "--tree")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var render = await Sirocco("tasks", "render", "cli_dag", "echo", "2024-03-05");
        Assert.Contains("# property: Text", render.Out, StringComparison.Ordinal);
        Assert.Contains("hello world on 2024-03-05", render.Out, StringComparison.Ordinal);

        var test = await Sirocco("dags", "test", "cli_dag", "2024-03-05");
        Assert.Equal(0, test.Code);
        Assert.Contains("echo: [", test.Out, StringComparison.Ordinal); // task log lines reach the terminal
        Assert.Contains("said: hello world on 2024-03-05", test.Out, StringComparison.Ordinal);
        Assert.Contains("finished: success", test.Out, StringComparison.Ordinal);

        var failing = await Sirocco("dags", "test", "cli_dag", "2024-03-06", "--conf", "{\"fail\": true}");
        Assert.Equal(1, failing.Code);
        Assert.Contains("flaky: failed", failing.Out, StringComparison.Ordinal);

        var one = await Sirocco("tasks", "test", "cli_dag", "echo", "2024-03-07");
        Assert.Equal(0, one.Code);
        Assert.Contains("echo: success", one.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("start: ", one.Out, StringComparison.Ordinal); // dependencies ignored, others not run
        var runs = JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "cli_dag", "-o", "json")).Out)!.AsArray();
        Assert.DoesNotContain(runs, r => r!["run_id"]!.ToString().Contains("temporary", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_process_log_follows_logging_level_and_json_format_on_standard_error()
    {
        // json_format: every line on standard error is one JSON object; the scheduler says what it ran.
        var json = await SiroccoWith(new() { ["SIROCCO__LOGGING__JSON_FORMAT"] = "True" }, "dags", "test", "cli_dag", "2024-04-01");
        Assert.Equal(0, json.Code);
        var entries = json.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Contains(entries, e => e["Category"]!.ToString() == "Sirocco.Scheduler" && e["LogLevel"]!.ToString() == "Information"
            && e["Message"]!.ToString() == "Started try 1 of cli_dag.echo (run manual__2024-04-01T00:00:00+00:00, map index -1)");
        Assert.Contains(entries, e => e["Message"]!.ToString().StartsWith("DAG run cli_dag manual__2024-04-01T00:00:00+00:00 finished: success in ", StringComparison.Ordinal));
        Assert.All(entries, e => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["Timestamp"]!.ToString()));
        Assert.DoesNotContain("Started try", json.Out, StringComparison.Ordinal); // standard out keeps the command's own output

        // The default: one plain line per entry.
        var plain = await Sirocco("dags", "test", "cli_dag", "2024-04-02");
        Assert.Matches(@"(?m)^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] info: Sirocco\.Scheduler\[6\] Try 1 of cli_dag\.echo \(run manual__2024-04-02T00:00:00\+00:00, map index -1\) ended: success$", plain.Err);

        // WARNING and above only: the tries' information lines are gone.
        var quiet = await SiroccoWith(new() { ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING" }, "dags", "test", "cli_dag", "2024-04-03");
        Assert.Equal(0, quiet.Code);
        Assert.DoesNotContain("Sirocco.Scheduler", quiet.Err, StringComparison.Ordinal);
        Assert.Contains("finished: success", quiet.Out, StringComparison.Ordinal);

        var wrong = await SiroccoWith(new() { ["SIROCCO__LOGGING__LOGGING_LEVEL"] = "LOUD" }, "dags", "test", "cli_dag", "2024-04-04");
        Assert.NotEqual(0, wrong.Code);
        Assert.Contains("[logging] logging_level = 'LOUD' is not a level", wrong.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backfill_at_a_terminal_draws_its_progress_and_still_prints_its_results()
    {
        // `script` runs the program on a pseudo-terminal, as at a shell; its output is what the terminal received.
        var command = $"dotnet '{Path.Combine(AppContext.BaseDirectory, "sirocco.dll")}' dags backfill cli_dag -s 2024-02-01 -e 2024-02-03";
        var psi = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-qec", command, "/dev/null" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SIROCCO_HOME"] = _home;
        psi.Environment["TERM"] = "xterm";
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var screen = await stdout;
        Assert.True(p.ExitCode == 0, screen + await stderr);
        Assert.Contains("Backfilling cli_dag", screen, StringComparison.Ordinal);
        Assert.Contains("100%", screen, StringComparison.Ordinal);
        Assert.Contains("\u001b[", screen, StringComparison.Ordinal); // drawn in place with terminal escapes
        Assert.Contains("said: hello world on 2024-02-02", screen, StringComparison.Ordinal); // task log lines above the bar
        Assert.Contains("backfill__2024-02-03T00:00:00+00:00: success", screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backfill_runs_each_interval_then_state_logs_and_clear_work_on_its_runs()
    {
        var backfill = await Sirocco("dags", "backfill", "cli_dag", "-s", "2024-01-01", "-e", "2024-01-03");
        Assert.Equal(0, backfill.Code);
        Assert.DoesNotContain("Backfilling", backfill.Err, StringComparison.Ordinal); // no progress drawn into a pipe
        var runs = JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "cli_dag", "-o", "json")).Out)!.AsArray();
        Assert.Equal(["backfill__2024-01-03T00:00:00+00:00", "backfill__2024-01-02T00:00:00+00:00", "backfill__2024-01-01T00:00:00+00:00"], runs.Select(r => r!["run_id"]!.ToString()));
        Assert.All(runs, r => Assert.Equal("success", r!["state"]!.ToString()));

        Assert.Equal("success\n", (await Sirocco("tasks", "state", "cli_dag", "echo", "2024-01-02")).Out);
        var log = await Sirocco("tasks", "logs", "cli_dag", "echo", "backfill__2024-01-02T00:00:00+00:00");
        Assert.Contains("said: hello world on 2024-01-02", log.Out, StringComparison.Ordinal);
        var noTry = await Sirocco("tasks", "logs", "cli_dag", "echo", "2024-01-02", "--try", "5");
        Assert.NotEqual(0, noTry.Code);
        Assert.Contains("there is no try 5", noTry.Err, StringComparison.Ordinal);

        var clear = await Sirocco("tasks", "clear", "cli_dag", "-t", "^echo$", "-s", "2024-01-02", "-e", "2024-01-02", "-y");
        Assert.Contains("1 task instance(s) cleared", clear.Out, StringComparison.Ordinal);
        Assert.Equal("none\n", (await Sirocco("tasks", "state", "cli_dag", "echo", "2024-01-02")).Out);
        var runsAfter = JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "cli_dag", "-o", "json")).Out)!.AsArray();
        Assert.Equal("queued", runsAfter.Single(r => r!["run_id"]!.ToString().Contains("01-02", StringComparison.Ordinal))!["state"]!.ToString());

        var badRegex = await Sirocco("tasks", "clear", "cli_dag", "-t", "(", "-y");
        Assert.Contains("--task-regex '(' is not a valid regular expression", badRegex.Err, StringComparison.Ordinal);
        var badDate = await Sirocco("dags", "backfill", "cli_dag", "-s", "yesterday", "-e", "2024-01-01");
        Assert.Contains("invalid date 'yesterday'", badDate.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task States_for_a_run_dags_delete_and_user_names_as_airflow_users_type_them()
    {
        Assert.Equal(0, (await Sirocco("dags", "backfill", "cli_dag", "-s", "2024-05-01", "-e", "2024-05-02")).Code);
        var states = JsonNode.Parse((await Sirocco("tasks", "states-for-dag-run", "cli_dag", "backfill__2024-05-01T00:00:00+00:00", "-o", "json")).Out)!.AsArray();
        Assert.Equal(["echo", "flaky", "start"], states.Select(t => t!["task_id"]!.ToString()));
        Assert.All(states, t => Assert.Equal("success", t!["state"]!.ToString()));
        Assert.StartsWith("2024-05-01T00:00:00", states[0]!["logical_date"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(3, JsonNode.Parse((await Sirocco("tasks", "states-for-dag-run", "cli_dag", "2024-05-02", "-o", "json")).Out)!.AsArray().Count);

        // Without --yes it asks; anything but y cancels (stdin is empty here).
        var asked = await Sirocco("dags", "delete", "cli_dag");
        Assert.Equal(1, asked.Code);
        Assert.Contains("Cancelled", asked.Out, StringComparison.Ordinal);
        var deleted = await Sirocco("dags", "delete", "cli_dag", "-y");
        Assert.Equal(0, deleted.Code);
        Assert.Matches(@"^Removed \d+ record\(s\)\n$", deleted.Out);
        Assert.Empty(JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "cli_dag", "-o", "json")).Out)!.AsArray());
        Assert.Contains("Dag id nothing_here not found", (await Sirocco("dags", "delete", "nothing_here", "-y")).Err, StringComparison.Ordinal);

        var created = await Sirocco("users", "create", "--username", "peter", "--firstname", "Peter", "--lastname", "Parker", "--role", "Admin", "--email", "spiderman@superhero.org", "--password", "correct-horse-9");
        Assert.Equal(0, created.Code);
        var user = JsonNode.Parse((await Sirocco("users", "list", "-o", "json")).Out)!.AsArray().Single(u => u!["username"]!.ToString() == "peter")!;
        Assert.Equal(("Peter", "Parker"), (user["first_name"]!.ToString(), user["last_name"]!.ToString()));
    }

    [Fact]
    public async Task Db_clean_purges_old_finished_runs_keeping_each_dags_latest()
    {
        Assert.Equal(0, (await Sirocco("dags", "backfill", "cli_dag", "-s", "2024-06-01", "-e", "2024-06-03")).Code);
        var future = DateTimeOffset.UtcNow.AddDays(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var dry = JsonNode.Parse((await Sirocco("db", "clean", "--clean-before-timestamp", future, "--dry-run", "-o", "json")).Out)!.AsArray();
        int Rows(JsonArray rows, string table, string column) => int.Parse(rows.Single(r => r!["table"]!.ToString() == table)![column]!.ToString(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(2, Rows(dry, "dag_run", "rows_to_purge"));
        Assert.Equal(6, Rows(dry, "task_instance", "rows_to_purge"));
        Assert.True(Rows(dry, "log", "rows_to_purge") > 0);
        Assert.Equal(3, JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "cli_dag", "-o", "json")).Out)!.AsArray().Count);

        var past = JsonNode.Parse((await Sirocco("db", "clean", "--clean-before-timestamp", "2000-01-01", "-y", "-o", "json")).Out)!.AsArray();
        Assert.Equal(0, Rows(past, "dag_run", "rows_purged"));
        var purged = JsonNode.Parse((await Sirocco("db", "clean", "--clean-before-timestamp", future, "--tables", "dag_run", "-y", "-o", "json")).Out)!.AsArray();
        Assert.Equal(2, Rows(purged, "dag_run", "rows_purged"));
        Assert.DoesNotContain(purged, r => r!["table"]!.ToString() == "log");
        var left = JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "cli_dag", "-o", "json")).Out)!.AsArray();
        Assert.Equal("backfill__2024-06-03T00:00:00+00:00", Assert.Single(left)!["run_id"]!.ToString());

        Assert.Contains("table 'sessions' cannot be cleaned", (await Sirocco("db", "clean", "--clean-before-timestamp", future, "--tables", "sessions", "-y")).Err, StringComparison.Ordinal);
        Assert.Contains("invalid date 'soon'", (await Sirocco("db", "clean", "--clean-before-timestamp", "soon", "-y")).Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trigger_checks_conf_against_the_params_schema()
    {
        File.WriteAllText(Path.Combine(_home, "dags", "typed.py"), "from airflow.sdk import DAG, Param\nwith DAG('typed', params={'n': Param(2, type='integer', maximum=5)}):\n    pass\n");
        var refused = await Sirocco("dags", "trigger", "typed", "-c", "{\"n\": 9}");
        Assert.NotEqual(0, refused.Code);
        Assert.Contains("Invalid params for DAG typed: param 'n': 9 is invalid", refused.Err, StringComparison.Ordinal);
        Assert.Empty(JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "typed", "-o", "json")).Out)!.AsArray());
        Assert.Equal(0, (await Sirocco("dags", "trigger", "typed", "-c", "{\"n\": 4}")).Code);
        Assert.Single(JsonNode.Parse((await Sirocco("dags", "list-runs", "-d", "typed", "-o", "json")).Out)!.AsArray());
    }

    [Fact]
    public async Task Trigger_creates_a_queued_manual_run_with_conf_and_bad_conf_is_refused()
    {
        var trigger = await Sirocco("dags", "trigger", "cli_dag", "--conf", "{\"k\": 1}", "--logical-date", "2024-05-01T10:00:00Z");
        Assert.Equal(0, trigger.Code);
        Assert.Contains("manual__2024-05-01T10:00:00+00:00", trigger.Out, StringComparison.Ordinal);
        var run = JsonNode.Parse((await Sirocco("dags", "list-runs", "cli_dag", "-o", "json")).Out)!.AsArray().Single()!;
        Assert.Equal("queued", run["state"]!.ToString());

        var bad = await Sirocco("dags", "trigger", "cli_dag", "--conf", "[1, 2]");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--conf must be a JSON object", bad.Err, StringComparison.Ordinal);
        var unknown = await Sirocco("dags", "trigger", "no_such_dag");
        Assert.Contains("Dag id no_such_dag not found", unknown.Err, StringComparison.Ordinal);
    }
}
