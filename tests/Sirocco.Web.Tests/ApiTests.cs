using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Sirocco.Scheduler;

namespace Sirocco.Web.Tests;

/// <summary>What each endpoint does, through a real socket, a real store and a real scheduler.</summary>
[Collection("web")]
public sealed class ApiTests(WebFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Dags_list_pages_filters_and_orders()
    {
        using var client = fixture.Client("viewer");
        var all = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags"));
        Assert.Equal(fixture.Dags.Count, all["total_entries"]!.GetValue<int>());
        var page = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags?limit=2&offset=1&order_by=-dag_id"));
        var ids = page["dags"]!.AsArray().Select(d => d!["dag_id"]!.GetValue<string>()).ToList();
        var expected = fixture.Dags.Keys.Order(StringComparer.Ordinal).Reverse().Skip(1).Take(2).ToList();
        Assert.Equal(expected, ids);
        var tagged = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags?tags=example"));
        Assert.Equal("example_empty", Assert.Single(tagged["dags"]!.AsArray())!["dag_id"]!.GetValue<string>());
        var pattern = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags?dag_id_pattern=paging"));
        Assert.Equal(3, pattern["total_entries"]!.GetValue<int>());
    }

    [Fact]
    public async Task Dag_details_and_tasks_come_from_the_parsed_dag()
    {
        using var client = fixture.Client("viewer");
        var details = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags/example_empty/details"));
        Assert.Equal(4, details["task_count"]!.GetValue<int>());
        Assert.Equal("Four empty tasks", details["description"]!.GetValue<string>());
        var tasks = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags/example_empty/tasks"));
        Assert.Equal(["extract", "load", "transform_a", "transform_b"], tasks["tasks"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));
        var extract = await WebFixture.JsonAsync(await client.GetAsync("/api/v1/dags/example_empty/tasks/extract"));
        Assert.Equal(["transform_a", "transform_b"], extract["downstream_task_ids"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("EmptyOperator", extract["class_ref"]!["class_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pause_trigger_run_task_instances_xcom_and_clear()
    {
        using var user = fixture.Client("user");
        var patched = await WebFixture.JsonAsync(await user.PatchAsync("/api/v1/dags/templated?update_mask=is_paused", Json("""{"is_paused":false}""")));
        Assert.False(patched["is_paused"]!.GetValue<bool>());
        Assert.False((await fixture.Store.GetDagAsync("templated"))!.IsPaused);

        using var triggered = await user.PostAsync("/api/v1/dags/templated/dagRuns", Json("""{"dag_run_id":"api_run_1","logical_date":"2024-03-05T00:00:00+00:00","conf":{"x":1,"password":"hunter2-secret"}}"""));
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        var run = await WebFixture.JsonAsync(triggered);
        Assert.Equal("api_run_1", run["dag_run_id"]!.GetValue<string>());
        Assert.Equal("***", run["conf"]!["password"]!.GetValue<string>());
        Assert.Equal("manual", run["run_type"]!.GetValue<string>());

        using var duplicate = await user.PostAsync("/api/v1/dags/templated/dagRuns", Json("""{"dag_run_id":"api_run_1"}"""));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        using var sameDate = await user.PostAsync("/api/v1/dags/templated/dagRuns", Json("""{"dag_run_id":"api_run_other","logical_date":"2024-03-05T00:00:00Z"}"""));
        Assert.Equal(HttpStatusCode.Conflict, sameDate.StatusCode);
        Assert.Contains("logical date 2024-03-05T00:00:00+00:00 already exists", (await WebFixture.JsonAsync(sameDate))["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        await fixture.WaitForRunAsync("templated", "api_run_1", DagRunState.Success);
        var got = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/templated/dagRuns/api_run_1"));
        Assert.Equal("success", got["state"]!.GetValue<string>());

        var tis = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/templated/dagRuns/api_run_1/taskInstances"));
        var ti = Assert.Single(tis["task_instances"]!.AsArray())!;
        Assert.Equal("success", ti["state"]!.GetValue<string>());
        Assert.Equal(1, ti["try_number"]!.GetValue<int>());

        var one = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/templated/dagRuns/api_run_1/taskInstances/echo_date"));
        Assert.Equal("date is 2024-03-05", one["rendered_fields"]!["Message"]!.GetValue<string>());
        Assert.Single(one["tries"]!.AsArray());

        var xcoms = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/templated/dagRuns/api_run_1/taskInstances/echo_date/xcomEntries"));
        Assert.Equal("return_value", Assert.Single(xcoms["xcom_entries"]!.AsArray())!["key"]!.GetValue<string>());
        var xcom = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/templated/dagRuns/api_run_1/taskInstances/echo_date/xcomEntries/return_value"));
        Assert.Equal("\"date is 2024-03-05\"", xcom["value"]!.GetValue<string>());

        var across = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/~/dagRuns?limit=1000"));
        Assert.Contains(across["dag_runs"]!.AsArray(), r => r!["dag_run_id"]!.GetValue<string>() == "api_run_1");
        var batch = await WebFixture.JsonAsync(await user.PostAsync("/api/v1/dags/~/dagRuns/list", Json("""{"dag_ids":["templated"],"states":["success"]}""")));
        Assert.Contains(batch["dag_runs"]!.AsArray(), r => r!["dag_run_id"]!.GetValue<string>() == "api_run_1");
        var allTis = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/templated/dagRuns/~/taskInstances?state=success"));
        Assert.Contains(allTis["task_instances"]!.AsArray(), t => t!["dag_run_id"]!.GetValue<string>() == "api_run_1");

        // Clear: a dry run changes nothing; a real one runs the task again (try 2).
        var dry = await WebFixture.JsonAsync(await user.PostAsync("/api/v1/dags/templated/clearTaskInstances", Json("""{"dry_run":true,"only_failed":false,"dag_run_id":"api_run_1"}""")));
        Assert.Single(dry["task_instances"]!.AsArray());
        Assert.Equal(TaskInstanceState.Success, (await fixture.Store.GetTaskInstanceAsync("templated", "echo_date", "api_run_1"))!.State);
        var cleared = await WebFixture.JsonAsync(await user.PostAsync("/api/v1/dags/templated/dagRuns/api_run_1/clear", Json("""{"dry_run":false}""")));
        Assert.Equal("echo_date", Assert.Single(cleared["task_instances"]!.AsArray())!["task_id"]!.GetValue<string>());
        await fixture.WaitForAsync(async () => (await fixture.Store.GetTaskInstanceAsync("templated", "echo_date", "api_run_1")) is { State: TaskInstanceState.Success, TryNumber: 2 }, what: "the cleared task to run again");
        await fixture.WaitForRunAsync("templated", "api_run_1", DagRunState.Success);

        // Mark failed, then the run is re-decided by the scheduler.
        var marked = await WebFixture.JsonAsync(await user.PatchAsync("/api/v1/dags/templated/dagRuns/api_run_1/taskInstances/echo_date", Json("""{"new_state":"failed"}""")));
        Assert.Equal("failed", marked["state"]!.GetValue<string>());
        await fixture.WaitForRunAsync("templated", "api_run_1", DagRunState.Failed);
        var runMarked = await WebFixture.JsonAsync(await user.PatchAsync("/api/v1/dags/templated/dagRuns/api_run_1", Json("""{"state":"success"}""")));
        Assert.Equal("success", runMarked["state"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await user.DeleteAsync("/api/v1/dags/templated/dagRuns/api_run_1")).StatusCode);
        Assert.Null(await fixture.Store.GetDagRunAsync("templated", "api_run_1"));
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync("/api/v1/dags/templated/dagRuns/api_run_1")).StatusCode);
    }

    [Fact]
    public async Task Logs_come_whole_or_in_pieces_with_a_continuation_token_and_secrets_masked()
    {
        // A DAG the fixture's scheduler does not have: it leaves this running try alone (it would adopt one of its own
        // DAGs and write into the same log file).
        var when = new DateTimeOffset(2021, 6, 1, 0, 0, 0, TimeSpan.Zero);
        await fixture.Store.CreateDagRunAsync(new DagRun { DagId = "log_only_dag", RunId = "log_run", RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Running });
        await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "log_only_dag", TaskId = "load", RunId = "log_run", State = TaskInstanceState.Running, TryNumber = 1 })] });
        using var op = fixture.Client("op");
        Assert.Equal(HttpStatusCode.OK, (await op.PostAsync("/api/v1/variables", Json("""{"key":"db_password","value":"s3cr3t-value-42"}"""))).StatusCode);

        var path = TaskLogPaths.For(fixture.LogFolder, "log_only_dag", "load", when, 1);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "[t] {INFO} line one\n[t] {INFO} connecting with s3cr3t-value-42\n[t] {INFO} partial");

        using var viewer = fixture.Client("viewer");
        const string url = "/api/v1/dags/log_only_dag/dagRuns/log_run/taskInstances/load/logs/1";
        var first = await WebFixture.JsonAsync(await viewer.GetAsync(url));
        var content = first["content"]!.GetValue<string>();
        Assert.Equal("[t] {INFO} line one\n[t] {INFO} connecting with ***\n", content);
        Assert.False(first["end_of_log"]!.GetValue<bool>());

        await File.AppendAllTextAsync(path, " line ends\n[t] {INFO} done\n");
        var token = first["continuation_token"]!.GetValue<string>();
        var second = await WebFixture.JsonAsync(await viewer.GetAsync(url + "?token=" + Uri.EscapeDataString(token)));
        Assert.Equal("[t] {INFO} partial line ends\n[t] {INFO} done\n", second["content"]!.GetValue<string>());

        using var text = new HttpRequestMessage(HttpMethod.Get, url + "?full_content=true");
        text.Headers.Accept.ParseAdd("text/plain");
        using var plain = await viewer.SendAsync(text);
        Assert.Equal("text/plain", plain.Content.Headers.ContentType?.MediaType);
        var body = await plain.Content.ReadAsStringAsync();
        Assert.Contains("connecting with ***", body, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-value-42", body, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("/api/v1/dags/log_only_dag/dagRuns/log_run/taskInstances/load/logs/2")).StatusCode);
    }

    [Fact]
    public async Task Variables_crud_masks_sensitive_values()
    {
        using var op = fixture.Client("op");
        Assert.Equal(HttpStatusCode.OK, (await op.PostAsync("/api/v1/variables", Json("""{"key":"my_value","value":"example_value","description":"from the seed"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsync("/api/v1/variables", Json("""{"key":"my_value","value":"again"}"""))).StatusCode);
        var got = await WebFixture.JsonAsync(await op.GetAsync("/api/v1/variables/my_value"));
        Assert.Equal("example_value", got["value"]!.GetValue<string>());
        var patched = await WebFixture.JsonAsync(await op.PatchAsync("/api/v1/variables/my_value?update_mask=value", Json("""{"value":"changed","description":"ignored by the mask"}""")));
        Assert.Equal("changed", patched["value"]!.GetValue<string>());
        Assert.Equal("from the seed", patched["description"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await op.PostAsync("/api/v1/variables", Json("""{"key":"api_token","value":"tok-123456789"}"""))).StatusCode);
        var list = await WebFixture.JsonAsync(await op.GetAsync("/api/v1/variables?limit=1000"));
        var token = list["variables"]!.AsArray().Single(v => v!["key"]!.GetValue<string>() == "api_token")!;
        Assert.Equal("***", token["value"]!.GetValue<string>());
        Assert.DoesNotContain("tok-123456789", list.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("tok-123456789", fixture.Store.GetVariable("api_token")!.Value);
        Assert.Equal(HttpStatusCode.NoContent, (await op.DeleteAsync("/api/v1/variables/my_value")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await op.DeleteAsync("/api/v1/variables/my_value")).StatusCode);
    }

    [Fact]
    public async Task Connections_crud_never_shows_passwords_or_sensitive_extras()
    {
        using var op = fixture.Client("op");
        using var created = await op.PostAsync("/api/v1/connections", Json("""{"connection_id":"k8s_x","conn_type":"kubernetes","password":"pw-very-secret","extra":{"kube_config":"apiVersion: v1 inline-secret-config","namespace":"ns1"}}"""));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var text = await created.Content.ReadAsStringAsync();
        Assert.DoesNotContain("pw-very-secret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("inline-secret-config", text, StringComparison.Ordinal);
        var got = await WebFixture.JsonAsync(await op.GetAsync("/api/v1/connections/k8s_x"));
        Assert.Null(got["password"]);
        Assert.Contains("\"namespace\":\"ns1\"", got["extra"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("\"kube_config\":\"***\"", got["extra"]!.GetValue<string>(), StringComparison.Ordinal);
        var patched = await WebFixture.JsonAsync(await op.PatchAsync("/api/v1/connections/k8s_x?update_mask=host", Json("""{"host":"example.org","login":"ignored"}""")));
        Assert.Equal("example.org", patched["host"]!.GetValue<string>());
        Assert.Null(patched["login"]);
        Assert.Equal("pw-very-secret", fixture.Store.GetConnection("k8s_x")!.Password);
        var list = await op.GetStringAsync("/api/v1/connections");
        Assert.DoesNotContain("pw-very-secret", list, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsync("/api/v1/connections", Json("""{"connection_id":"k8s_x","conn_type":"http"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await op.DeleteAsync("/api/v1/connections/k8s_x")).StatusCode);
        Assert.Null(fixture.Store.GetConnection("k8s_x"));
    }

    [Fact]
    public async Task Connection_test_reaches_a_real_cluster_and_reports_its_version()
    {
        var home = Directory.CreateTempSubdirectory("sirocco-web-cluster-").FullName;
        try
        {
            await TestClusterAsync(home);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private async Task TestClusterAsync(string home)
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalCluster.LocalClusterOptions { HomeDirectory = home, Port = 0, KubeconfigPath = Path.Combine(home, "kube_config") });
        using var op = fixture.Client("op");
        var ok = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json(new JsonObject { ["connection_id"] = "kubernetes_default", ["conn_type"] = "kubernetes", ["extra"] = new JsonObject { ["kube_config_path"] = cluster.KubeconfigPath } }.ToJsonString())));
        Assert.True(ok["status"]!.GetValue<bool>(), ok.ToJsonString());
        Assert.Matches(@"Kubernetes v\d+\.\d+", ok["message"]!.GetValue<string>());

        var inline = await File.ReadAllTextAsync(cluster.KubeconfigPath);
        var inlineOk = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json(new JsonObject { ["conn_type"] = "kubernetes", ["extra"] = new JsonObject { ["kube_config"] = inline } }.ToJsonString())));
        Assert.True(inlineOk["status"]!.GetValue<bool>(), inlineOk.ToJsonString());

        var missing = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json("""{"conn_type":"kubernetes","extra":{"kube_config_path":"/nonexistent/kube_config"}}""")));
        Assert.False(missing["status"]!.GetValue<bool>());
        Assert.Contains("/nonexistent/kube_config", missing["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var other = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json("""{"conn_type":"http"}""")));
        Assert.False(other["status"]!.GetValue<bool>());
        Assert.Contains("testable types: gcpcloudsql, google_cloud_platform, kubernetes", other["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // The same resolver as tasks: a boolean extra it cannot read is named, as a try would name it.
        var badBool = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json(new JsonObject { ["connection_id"] = "k", ["conn_type"] = "kubernetes", ["extra"] = new JsonObject { ["kube_config_path"] = cluster.KubeconfigPath, ["in_cluster"] = "maybe" } }.ToJsonString())));
        Assert.False(badBool["status"]!.GetValue<bool>());
        Assert.Contains("extra 'in_cluster' must be true or false, got 'maybe'", badBool["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Google_connection_test_gets_a_token_from_the_keys_token_endpoint()
    {
        await using var google = await Testing.FakeGoogle.StartAsync();
        using var op = fixture.Client("op");
        var ok = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json(new JsonObject { ["connection_id"] = "gcp", ["conn_type"] = "google_cloud_platform", ["extra"] = new JsonObject { ["keyfile_dict"] = google.KeyFileJson() } }.ToJsonString())));
        Assert.True(ok["status"]!.GetValue<bool>(), ok.ToJsonString());
        Assert.Contains("an access token from connection 'gcp' keyfile_dict, project sirocco-test-project", ok["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, google.Requests("token"));

        await using var other = await Testing.FakeGoogle.StartAsync();
        var wrongKey = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/connections/test", Json(new JsonObject { ["connection_id"] = "gcp2", ["conn_type"] = "google_cloud_platform", ["extra"] = new JsonObject { ["keyfile_dict"] = other.KeyFileJson(new Uri(google.Url, "token").ToString()) } }.ToJsonString())));
        Assert.False(wrongKey["status"]!.GetValue<bool>());
        Assert.Contains("Invalid JWT Signature", wrongKey["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_is_403_unless_exposed_then_masks_secrets()
    {
        using var op = fixture.Client("op");
        using var hidden = await op.GetAsync("/api/v1/config");
        Assert.Equal(HttpStatusCode.Forbidden, hidden.StatusCode);
        Assert.Contains("expose_config", (await WebFixture.JsonAsync(hidden))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        fixture.Config.Set("webserver", "expose_config", "True");
        try
        {
            var config = await WebFixture.JsonAsync(await op.GetAsync("/api/v1/config"));
            var options = config["sections"]!.AsArray().SelectMany(s => s!["options"]!.AsArray().Select(o => (Section: s["name"]!.GetValue<string>(), Key: o!["key"]!.GetValue<string>(), Value: o["value"]!.GetValue<string>()))).ToList();
            Assert.Equal("< hidden >", options.Single(o => o.Section == "database" && o.Key == "sql_conn").Value);
            Assert.Equal("8080", options.Single(o => o.Section == "webserver" && o.Key == "web_server_port").Value);
            var core = await WebFixture.JsonAsync(await op.GetAsync("/api/v1/config?section=core"));
            Assert.Equal("core", Assert.Single(core["sections"]!.AsArray())!["name"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.NotFound, (await op.GetAsync("/api/v1/config?section=nope")).StatusCode);
        }
        finally
        {
            fixture.Config.Set("webserver", "expose_config", "False");
        }
    }

    [Fact]
    public async Task Import_errors_are_listed_and_fetched()
    {
        await fixture.Store.SetImportErrorAsync(new Storage.ImportErrorRecord("/dags/api_broken.py", "SyntaxError: invalid syntax (line 3)", DateTimeOffset.UtcNow));
        try
        {
            using var viewer = fixture.Client("viewer");
            var list = await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/importErrors"));
            var error = list["import_errors"]!.AsArray().Single(e => e!["filename"]!.GetValue<string>() == "/dags/api_broken.py")!;
            Assert.Contains("line 3", error["stack_trace"]!.GetValue<string>(), StringComparison.Ordinal);
            var one = await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/importErrors/" + error["import_error_id"]!.GetValue<int>()));
            Assert.Equal("/dags/api_broken.py", one["filename"]!.GetValue<string>());
        }
        finally
        {
            await fixture.Store.ClearImportErrorAsync("/dags/api_broken.py");
        }
    }

    [Fact]
    public async Task Dag_warnings_are_listed_and_filtered()
    {
        using var viewer = fixture.Client("viewer");
        var all = await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/dagWarnings"));
        var warning = Assert.Single(all["dag_warnings"]!.AsArray())!;
        Assert.Equal(1, all["total_entries"]!.GetValue<int>());
        Assert.Equal("mapped", warning["dag_id"]!.GetValue<string>());
        Assert.Equal("kubernetes model", warning["warning_type"]!.GetValue<string>());
        Assert.StartsWith("/dags/mapped.py:4:9: task 'echo_each': tolerations", warning["message"]!.GetValue<string>(), StringComparison.Ordinal);

        Assert.Empty((await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/dagWarnings?dag_id=templated")))["dag_warnings"]!.AsArray());
        Assert.Empty((await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/dagWarnings?warning_type=nonexistent")))["dag_warnings"]!.AsArray());
        Assert.Single((await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/dagWarnings?dag_id=mapped&warning_type=kubernetes%20model")))["dag_warnings"]!.AsArray());
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await viewer.GetAsync("/api/v1/dagWarnings?order_by=nope")).StatusCode);
    }
}
