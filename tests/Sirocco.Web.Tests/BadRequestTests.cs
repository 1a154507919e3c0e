using System.Net;
using System.Text;

namespace Sirocco.Web.Tests;

/// <summary>Bad input to each endpoint: 400 problem JSON whose detail says what is wrong.</summary>
[Collection("web")]
public sealed class BadRequestTests(WebFixture fixture)
{
    public static TheoryData<string, string, string?, string> Cases() => new()
    {
        { "GET", "/api/v1/dags?limit=0", null, "limit must be between 1 and 1000" },
        { "GET", "/api/v1/dags?offset=-1", null, "offset must be 0 or more" },
        { "GET", "/api/v1/dags?order_by=color", null, "order_by 'color' is not allowed" },
        { "GET", "/api/v1/dags?paused=maybe", null, "paused must be true or false" },
        { "GET", "/api/v1/dags?limit=ten", null, "limit must be an integer" },
        { "PATCH", "/api/v1/dags/example_empty", """{"is_paused":"yes"}""", "'is_paused' must be true or false" },
        { "PATCH", "/api/v1/dags/example_empty", "{}", "'is_paused' is required" },
        { "PATCH", "/api/v1/dags/example_empty?update_mask=description", """{"is_paused":true}""", "update_mask field 'description' cannot be updated" },
        { "PATCH", "/api/v1/dags/example_empty", "{not json", "not valid JSON" },
        { "PATCH", "/api/v1/dags/example_empty", "[1,2]", "must be a JSON object" },
        { "GET", "/api/v1/dags/example_empty/tasks?order_by=-owner", null, "order_by '-owner' is not allowed" },
        { "GET", "/api/v1/dags/example_empty/dagRuns?state=sleeping", null, "unknown DAG run state 'sleeping'" },
        { "GET", "/api/v1/dags/example_empty/dagRuns?limit=5000", null, "limit must be between 1 and 1000" },
        { "POST", "/api/v1/dags/~/dagRuns/list", """{"page_limit":0}""", "page_limit must be 1 to 1000" },
        { "POST", "/api/v1/dags/~/dagRuns/list", """{"dag_ids":"example_empty"}""", "'dag_ids' must be a list of strings" },
        { "POST", "/api/v1/dags/~/dagRuns/list", """{"order_by":"size"}""", "order_by 'size' is not allowed" },
        { "POST", "/api/v1/dags/example_empty/dagRuns", """{"conf":[1]}""", "'conf' must be a JSON object" },
        { "POST", "/api/v1/dags/example_empty/dagRuns", """{"logical_date":"yesterday"}""", "invalid date 'yesterday'" },
        { "POST", "/api/v1/dags/example_empty/dagRuns", """{"dag_run_id":"has space"}""", "dag_run_id 'has space' is not valid" },
        { "PATCH", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture", """{"state":"sleeping"}""", "unknown DAG run state 'sleeping'" },
        { "PATCH", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture", "{}", "'state' is required" },
        { "POST", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/clear", """{"dry_run":"no"}""", "'dry_run' must be true or false" },
        { "POST", "/api/v1/dags/example_empty/clearTaskInstances", """{"task_ids":[1]}""", "'task_ids' must be a list of strings" },
        { "POST", "/api/v1/dags/example_empty/clearTaskInstances", """{"start_date":"2024-02-01","end_date":"2024-01-01"}""", "start_date must not be after end_date" },
        { "GET", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances?state=resting", null, "unknown task state 'resting'" },
        { "GET", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances?order_by=size", null, "order_by 'size' is not allowed" },
        { "PATCH", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances/extract", """{"new_state":"running"}""", "new_state must be success, failed or skipped" },
        { "PATCH", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances/extract", """{"new_state":5}""", "'new_state' must be a string" },
        { "GET", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances/extract/logs/zero", null, "task_try_number must be a positive integer" },
        { "GET", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances/extract/logs/1?token=garbage", null, "is not a continuation token" },
        { "GET", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances/extract/logs/1?full_content=perhaps", null, "full_content must be true or false" },
        { "GET", "/api/v1/dags/example_empty/dagRuns/bad_run_fixture/taskInstances/extract/xcomEntries?limit=-3", null, "limit must be between 1 and 1000" },
        { "GET", "/api/v1/variables?order_by=value", null, "order_by 'value' is not allowed" },
        { "POST", "/api/v1/variables", """{"value":"v"}""", "'key' is required" },
        { "POST", "/api/v1/variables", """{"key":"k"}""", "'value' is required" },
        { "POST", "/api/v1/variables", """{"key":"two words","value":"v"}""", "variable key 'two words' is not valid" },
        { "PATCH", "/api/v1/variables/bad_var_fixture", """{"key":"other","value":"v"}""", "differs from the path's" },
        { "PATCH", "/api/v1/variables/bad_var_fixture?update_mask=key", """{"value":"v"}""", "update_mask field 'key' cannot be updated" },
        { "GET", "/api/v1/connections?order_by=password", null, "order_by 'password' is not allowed" },
        { "POST", "/api/v1/connections", """{"connection_id":"c1"}""", "'conn_type' is required" },
        { "POST", "/api/v1/connections", """{"connection_id":"c1","conn_type":"http","port":70000}""", "port must be between 0 and 65535" },
        { "POST", "/api/v1/connections", """{"connection_id":"c1","conn_type":"http","extra":"{oops"}""", "invalid JSON in extra" },
        { "POST", "/api/v1/connections", """{"connection_id":"c1","conn_type":"http","extra":[1]}""", "'extra' must be a JSON object" },
        { "PATCH", "/api/v1/connections/bad_conn_fixture", """{"connection_id":"other","conn_type":"http"}""", "differs from the path's" },
        { "POST", "/api/v1/connections/test", """{"conn_type":7}""", "'conn_type' must be a string" },
        { "GET", "/api/v1/importErrors?limit=0", null, "limit must be between 1 and 1000" },
        { "GET", "/api/v1/importErrors/abc", null, "import_error_id must be a positive integer" },
        { "GET", "/api/v1/users?offset=-5", null, "offset must be 0 or more" },
        { "POST", "/api/v1/users", """{"username":"u1","password":"short","role":"Viewer"}""", "at least 8 characters" },
        { "POST", "/api/v1/users", $$"""{"username":"u1","password":"{{WebFixture.Password}}","role":"Superuser"}""", "unknown role 'Superuser'" },
        { "POST", "/api/v1/users", $$"""{"username":"u1","password":"{{WebFixture.Password}}"}""", "a role is required" },
        { "PATCH", "/api/v1/users/admin", """{"active":"no"}""", "'active' must be true or false" },
        { "DELETE", "/api/v1/users/admin", null, "cannot delete your own user" },
        { "POST", "/auth/token", """{"username":"admin"}""", "'password' is required" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_400_with_a_useful_detail(string method, string path, string? body, string detail)
    {
        await EnsureFixturesAsync();
        using var client = fixture.Client("admin");
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{method} {path}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await WebFixture.JsonAsync(response);
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        Assert.Equal("Bad Request", problem["title"]!.GetValue<string>());
        Assert.Contains("BadRequest", problem["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(detail, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_things_are_404_problem_json()
    {
        using var client = fixture.Client("admin");
        foreach (var path in new[] { "/api/v1/dags/nope", "/api/v1/dags/example_empty/dagRuns/nope", "/api/v1/dags/example_empty/tasks/nope", "/api/v1/variables/nope", "/api/v1/connections/nope", "/api/v1/importErrors/999", "/api/v1/no/such/endpoint" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    private async Task EnsureFixturesAsync()
    {
        if (await fixture.Store.GetDagRunAsync("example_empty", "bad_run_fixture") is null)
        {
            var when = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
            await fixture.Store.CreateDagRunAsync(new DagRun
            {
                DagId = "example_empty",
                RunId = "bad_run_fixture",
                RunType = DagRunType.Manual,
                LogicalDate = when,
                DataInterval = new(when, when),
                State = DagRunState.Success,
            });
            await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "example_empty", TaskId = "extract", RunId = "bad_run_fixture", State = TaskInstanceState.Success, TryNumber = 1 })] });
        }

        fixture.Store.SetVariable(new Variables.Variable("bad_var_fixture", "v"));
        fixture.Store.SetConnection(new Connections.Connection { ConnId = "bad_conn_fixture", ConnType = "http" });
    }
}
