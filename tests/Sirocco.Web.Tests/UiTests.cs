using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Sirocco.Scheduler;

namespace Sirocco.Web.Tests;

/// <summary>UI forms over plain HTTP with a signed-in session (the browser tests cover the same pages in Chromium).</summary>
[Collection("web")]
public sealed class UiTests(WebFixture fixture)
{
    private async Task<HttpClient> SignInAsync(string user)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        var client = new HttpClient(handler, disposeHandler: true) { BaseAddress = fixture.Address };
        var page = await client.GetStringAsync("/login");
        using var response = await client.PostAsync("/login", Form(page, ("username", user), ("password", WebFixture.Password)));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return client;
    }

    private static FormUrlEncodedContent Form(string pageWithToken, params (string Key, string Value)[] fields) =>
        new([new("_csrf", SecurityTests.CsrfToken(pageWithToken)), .. fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value))]);

    [Fact]
    public async Task Trigger_form_refuses_bad_conf_with_the_reason_and_keeps_the_text()
    {
        using var client = await SignInAsync("user");
        var page = await client.GetStringAsync("/dags/templated/trigger");
        using var bad = await client.PostAsync("/dags/templated/trigger", Form(page, ("conf", "{\"a\": "), ("logical_date", "")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var html = await bad.Content.ReadAsStringAsync();
        Assert.Contains("conf is not valid JSON", html, StringComparison.Ordinal);
        Assert.Contains("{&quot;a&quot;: ", html, StringComparison.Ordinal);
        using var notObject = await client.PostAsync("/dags/templated/trigger", Form(page, ("conf", "[1]"), ("logical_date", "")));
        Assert.Contains("conf must be a JSON object", await notObject.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var badDate = await client.PostAsync("/dags/templated/trigger", Form(page, ("conf", "{}"), ("logical_date", "soon")));
        Assert.Contains("invalid date &#x27;soon&#x27;", await badDate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Variables_import_and_export_json_and_html_is_escaped()
    {
        using var client = await SignInAsync("op");
        var page = await client.GetStringAsync("/admin/variables");
        using var upload = new MultipartFormDataContent
        {
            { new StringContent(SecurityTests.CsrfToken(page)), "_csrf" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("""{"imported_a": "<script>alert(1)</script>", "imported_secret_token": "tok-abcdef-123", "imported_json": {"n": 1}}""")) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, "file", "vars.json" },
        };
        using var imported = await client.PostAsync("/admin/variables/import", upload);
        Assert.Equal(HttpStatusCode.Redirect, imported.StatusCode);
        Assert.Equal("{\"n\":1}", fixture.Store.GetVariable("imported_json")!.Value);

        var list = await client.GetStringAsync("/admin/variables?q=imported");
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", list, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert(1)", list, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-abcdef-123", list, StringComparison.Ordinal);
        Assert.Contains("3 of", list, StringComparison.Ordinal);

        var export = await client.GetStringAsync("/admin/variables/export");
        Assert.Contains("\"imported_a\": \"\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E\"", export, StringComparison.Ordinal);
        Assert.Contains("\"imported_secret_token\": \"***\"", export, StringComparison.Ordinal);

        using var badFile = new MultipartFormDataContent
        {
            { new StringContent(SecurityTests.CsrfToken(page)), "_csrf" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("not json")), "file", "vars.json" },
        };
        using var refused = await client.PostAsync("/admin/variables/import", badFile);
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Contains("not valid JSON", await client.GetStringAsync("/admin/variables"), StringComparison.Ordinal);
        foreach (var k in new[] { "imported_a", "imported_secret_token", "imported_json" })
        {
            fixture.Store.DeleteVariable(k);
        }
    }

    [Fact]
    public async Task Run_and_task_pages_show_details_and_their_actions_work()
    {
        await fixture.Store.SetDagPausedAsync("templated", false);
        using (var api = fixture.Client("user"))
        {
            (await api.PostAsync("/api/v1/dags/templated/dagRuns", new StringContent("""{"dag_run_id":"ui_run","logical_date":"2024-07-08T00:00:00Z"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        await fixture.WaitForRunAsync("templated", "ui_run", DagRunState.Success);
        using var client = await SignInAsync("user");
        var ti = await client.GetStringAsync("/dags/templated/runs/ui_run/tasks/echo_date");
        Assert.Contains("date is 2024-07-08", ti, StringComparison.Ordinal); // rendered field and log
        Assert.Contains("Try 1", ti, StringComparison.Ordinal);

        using var mark = await client.PostAsync("/dags/templated/runs/ui_run/tasks/echo_date/action", Form(ti, ("action", "failed")));
        Assert.Equal(HttpStatusCode.Redirect, mark.StatusCode);
        await fixture.WaitForRunAsync("templated", "ui_run", DagRunState.Failed);
        var (marks, _) = await fixture.Store.ListEventLogsAsync(new Storage.EventLogQuery { RunId = "ui_run", IncludedEvents = ["ui.failed"] });
        Assert.Equal(("user", "ui", "templated", "echo_date"), Assert.Single(marks) is var m ? (m.Owner, m.Origin, m.DagId, m.TaskId) : default);

        var run = await client.GetStringAsync("/dags/templated/runs/ui_run");
        using var clear = await client.PostAsync("/dags/templated/runs/ui_run/action", Form(run, ("action", "clear"), ("only_failed", "true")));
        Assert.Equal(HttpStatusCode.Redirect, clear.StatusCode);
        await fixture.WaitForAsync(async () => (await fixture.Store.GetTaskInstanceAsync("templated", "echo_date", "ui_run")) is { State: TaskInstanceState.Success, TryNumber: 2 }, what: "the cleared task's second try");
        var after = await client.GetStringAsync("/dags/templated/runs/ui_run/tasks/echo_date?try=1");
        Assert.Contains("Try 2", after, StringComparison.Ordinal);
        using var badTry = await client.GetAsync("/dags/templated/runs/ui_run/tasks/echo_date?try=9");
        Assert.Equal(HttpStatusCode.BadRequest, badTry.StatusCode);

        using var unknown = await client.PostAsync("/dags/templated/runs/ui_run/action", Form(run, ("action", "explode")));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("unknown action", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var delete = await client.PostAsync("/dags/templated/runs/ui_run/action", Form(run, ("action", "delete")));
        Assert.Equal(HttpStatusCode.Redirect, delete.StatusCode);
        Assert.Null(await fixture.Store.GetDagRunAsync("templated", "ui_run"));
    }

    [Fact]
    public async Task A_viewer_sees_pages_but_cannot_post_actions()
    {
        using var client = await SignInAsync("viewer");
        var page = await client.GetStringAsync("/dags/example_empty/grid");
        Assert.DoesNotContain("Trigger DAG", page, StringComparison.Ordinal);
        using var post = await client.PostAsync("/dags/example_empty/pause", Form(page, ("is_paused", "false")));
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        using var admin = await client.GetAsync("/admin/connections");
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
    }

    [Fact]
    public async Task Editing_secrets_never_shows_them_and_blank_keeps_them()
    {
        fixture.Store.SetConnection(new Connections.Connection
        {
            ConnId = "edit_k8s",
            ConnType = "kubernetes",
            Password = "conn-pw-987654",
            Extra = """{"kube_config":"apiVersion: v1 # inline-kubeconfig-secret","namespace":"old-ns","custom_token":"extra-tok-55555"}""",
        });
        fixture.Store.SetVariable(new Variables.Variable("edit_secret_key", "var-secret-31337"));
        using var client = await SignInAsync("op");

        var form = await client.GetStringAsync("/admin/connections/edit/edit_k8s");
        foreach (var secret in new[] { "conn-pw-987654", "inline-kubeconfig-secret", "extra-tok-55555" })
        {
            Assert.DoesNotContain(secret, form, StringComparison.Ordinal);
        }

        using var saved = await client.PostAsync("/admin/connections/save", Form(
            form,
            ("original_id", "edit_k8s"), ("conn_id", "edit_k8s"), ("conn_type", "kubernetes"), ("password", string.Empty),
            ("kube_config", "***"), ("namespace", "new-ns"), ("extra", """{"custom_token":"***"}""")));
        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        var c = fixture.Store.GetConnection("edit_k8s")!;
        Assert.Equal("conn-pw-987654", c.Password);
        Assert.Equal("new-ns", c.ExtraDejson()["namespace"]!.GetValue<string>());
        Assert.Contains("inline-kubeconfig-secret", c.ExtraDejson()["kube_config"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("extra-tok-55555", c.ExtraDejson()["custom_token"]!.GetValue<string>());
        var list = await client.GetStringAsync("/admin/connections");
        Assert.DoesNotContain("extra-tok-55555", list, StringComparison.Ordinal);

        var edit = await client.GetStringAsync("/admin/variables/edit/edit_secret_key");
        Assert.DoesNotContain("var-secret-31337", edit, StringComparison.Ordinal);
        using var kept = await client.PostAsync("/admin/variables/save", Form(edit, ("original_key", "edit_secret_key"), ("key", "edit_secret_key"), ("val", string.Empty), ("description", "rotated later")));
        Assert.Equal(HttpStatusCode.Redirect, kept.StatusCode);
        Assert.Equal(new Variables.Variable("edit_secret_key", "var-secret-31337", "rotated later"), fixture.Store.GetVariable("edit_secret_key"));

        using var badPort = await client.PostAsync("/admin/connections/save", Form(form, ("original_id", "edit_k8s"), ("conn_id", "edit_k8s"), ("conn_type", "kubernetes"), ("port", "99999")));
        Assert.Equal(HttpStatusCode.BadRequest, badPort.StatusCode);
        Assert.Contains("Port must be a number from 0 to 65535", await badPort.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        fixture.Store.DeleteConnection("edit_k8s");
        fixture.Store.DeleteVariable("edit_secret_key");
    }

    [Fact]
    public async Task Admin_manages_users_in_the_ui_and_an_op_may_not()
    {
        using (var op = await SignInAsync("op"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/admin/users")).StatusCode);
        }

        using var admin = await SignInAsync("admin");
        var page = await admin.GetStringAsync("/admin/users");
        Assert.Contains("data-username=\"viewer\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("pbkdf2", page, StringComparison.Ordinal);
        using var weak = await admin.PostAsync("/admin/users/save", Form(page, ("username", "ui_user"), ("role", "User"), ("password", "short")));
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.Contains("at least 8 characters", await weak.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var created = await admin.PostAsync("/admin/users/save", Form(page, ("username", "ui_user"), ("role", "User"), ("password", WebFixture.Password)));
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        using (var asNew = fixture.Client("ui_user"))
        {
            Assert.Equal(HttpStatusCode.OK, (await asNew.GetAsync("/api/v1/dags")).StatusCode);
        }

        using var promoted = await admin.PostAsync("/admin/users/save", Form(page, ("username", "ui_user"), ("role", "Op"), ("password", string.Empty)));
        Assert.Equal(HttpStatusCode.Redirect, promoted.StatusCode);
        var stored = (await fixture.Store.GetUserAsync("ui_user"))!;
        Assert.Equal("Op", stored.Role);
        Assert.True(Security.PasswordHasher.Verify(WebFixture.Password, stored.PasswordHash));
        using var self = await admin.PostAsync("/admin/users/delete", Form(page, ("username", "admin")));
        Assert.Equal(HttpStatusCode.BadRequest, self.StatusCode);
        using var deleted = await admin.PostAsync("/admin/users/delete", Form(page, ("username", "ui_user")));
        Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        Assert.Null(await fixture.Store.GetUserAsync("ui_user"));
    }

    [Fact]
    public async Task A_large_log_shows_its_last_megabyte_on_the_page_and_downloads_whole_and_masked()
    {
        var when = new DateTimeOffset(2021, 7, 1, 0, 0, 0, TimeSpan.Zero);
        await fixture.Store.CreateDagRunAsync(new DagRun { DagId = "example_empty", RunId = "big_log_run", RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Success });
        await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "example_empty", TaskId = "load", RunId = "big_log_run", State = TaskInstanceState.Success, TryNumber = 1 })] });
        fixture.Masker.Add("big-log-s3cret");
        var path = TaskLogPaths.For(fixture.LogFolder, "example_empty", "load", when, 1);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var lines = Enumerable.Range(0, 40_000).Select(i => $"[t] {{INFO}} line {i:D6} with big-log-s3cret and some padding to make it longer").ToList();
        await File.WriteAllLinesAsync(path, lines); // about 3.5 MB

        using var client = await SignInAsync("viewer");
        var page = await client.GetStringAsync("/dags/example_empty/runs/big_log_run/tasks/load");
        Assert.Contains("bytes are not shown", page, StringComparison.Ordinal);
        Assert.Contains("line 039999", page, StringComparison.Ordinal);
        Assert.DoesNotContain("line 000000", page, StringComparison.Ordinal);
        Assert.True(page.Length < 2 * 1024 * 1024, $"page of {page.Length} characters");

        using var download = await client.GetAsync("/ui/log?dag_id=example_empty&run_id=big_log_run&task_id=load&try=1&download=true");
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        var whole = (await download.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(40_000, whole.Length);
        Assert.Equal(lines[0].Replace("big-log-s3cret", "***", StringComparison.Ordinal), whole[0]);
        Assert.DoesNotContain(whole, l => l.Contains("big-log-s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Binding_beyond_loopback_warns_that_nothing_is_encrypted()
    {
        var lines = new List<string>();
        await using (var server = await SiroccoWebServer.StartAsync(new WebServerOptions { Config = fixture.Config, Store = fixture.Store, Urls = "http://0.0.0.0:0", Log = lines.Add }))
        {
            Assert.NotEqual(0, server.Address.Port);
        }

        Assert.Contains(lines, l => l.Contains("without TLS", StringComparison.Ordinal));
        lines.Clear();
        await using (await SiroccoWebServer.StartAsync(new WebServerOptions { Config = fixture.Config, Store = fixture.Store, Urls = "http://127.0.0.1:0", Log = lines.Add }))
        {
        }

        Assert.Empty(lines);
        await Assert.ThrowsAsync<SiroccoException>(() => SiroccoWebServer.StartAsync(new WebServerOptions { Config = fixture.Config, Store = fixture.Store, Urls = "https://127.0.0.1:0" }));
    }

    [Fact]
    public async Task Dag_warnings_show_escaped_on_the_dag_list_and_their_dags_grid_only()
    {
        using var client = await SignInAsync("viewer");
        var list = await client.GetStringAsync("/dags");
        Assert.Contains("id=\"dag-warnings\"", list, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;&#39;NoSchedule&#39;&lt;/b&gt;", list.Replace("&#x27;", "&#39;", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("<b>'NoSchedule'</b>", list, StringComparison.Ordinal);
        Assert.Contains("dag-warnings", await client.GetStringAsync("/dags/mapped/grid"), StringComparison.Ordinal);
        Assert.DoesNotContain("dag-warnings", await client.GetStringAsync("/dags/templated/grid"), StringComparison.Ordinal);
    }
}
