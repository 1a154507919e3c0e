using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sirocco.Web.Tests;

/// <summary>Composer DAG features in the web server: pools (API and Admin &gt; Pools), params checked on trigger, task groups in the grid and graph.</summary>
[Collection("web")]
public sealed class ComposerFeatureTests(WebFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Pools_api_creates_lists_patches_and_deletes_with_airflows_rules()
    {
        var name = "api_pool_" + Guid.NewGuid().ToString("n")[..6];
        using var op = fixture.Client("op");
        using var viewer = fixture.Client("viewer");
        var created = await WebFixture.JsonAsync(await op.PostAsync("/api/v1/pools", Json($$"""{"name":"{{name}}","slots":3,"description":"for pods"}""")));
        Assert.Equal((3, 3, 0, "for pods"), (created["slots"]!.GetValue<int>(), created["open_slots"]!.GetValue<int>(), created["occupied_slots"]!.GetValue<int>(), created["description"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsync("/api/v1/pools", Json($$"""{"name":"{{name}}","slots":1}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/v1/pools", Json("""{"name":"viewer_pool","slots":1}"""))).StatusCode);

        // A run holding two slots of it: one running task of two slots.
        var when = DateTimeOffset.UtcNow;
        var runId = "pool_run_" + name;
        await fixture.Store.CreateDagRunAsync(new DagRun { DagId = "example_empty", RunId = runId, RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Running });
        await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "example_empty", TaskId = "extract", RunId = runId, State = TaskInstanceState.Running, TryNumber = 1, Pool = name, PoolSlots = 2 })] });
        var got = await WebFixture.JsonAsync(await viewer.GetAsync($"/api/v1/pools/{name}"));
        Assert.Equal((2, 2, 1), (got["running_slots"]!.GetValue<int>(), got["occupied_slots"]!.GetValue<int>(), got["open_slots"]!.GetValue<int>()));
        var list = await WebFixture.JsonAsync(await viewer.GetAsync("/api/v1/pools?limit=1000"));
        Assert.Contains(list["pools"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "default_pool");
        Assert.Equal(list["pools"]!.AsArray().Count, list["total_entries"]!.GetValue<int>());

        var patched = await WebFixture.JsonAsync(await op.PatchAsync($"/api/v1/pools/{name}?update_mask=slots", Json("""{"slots":5,"description":"ignored by the mask"}""")));
        Assert.Equal((5, "for pods"), (patched["slots"]!.GetValue<int>(), patched["description"]!.GetValue<string>()));
        var renamed = await op.PatchAsync("/api/v1/pools/default_pool", Json("""{"name":"renamed"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, renamed.StatusCode);
        Assert.Contains("Only slots and include_deferred can be modified on Default Pool", await renamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var negative = await op.PatchAsync($"/api/v1/pools/{name}", Json("""{"slots":-4}"""));
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Contains("-1 for no limit", await negative.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, (await op.DeleteAsync("/api/v1/pools/default_pool")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await op.DeleteAsync($"/api/v1/pools/{name}")).StatusCode);
        var missing = await viewer.GetAsync($"/api/v1/pools/{name}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal($"Pool with name:'{name}' not found", System.Text.Json.Nodes.JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Task_groups_are_drawn_as_groups_in_the_grid_and_the_graph()
    {
        var when = DateTimeOffset.UtcNow;
        await fixture.Store.CreateDagRunAsync(new DagRun { DagId = "grouped", RunId = "grouped_run", RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Failed });
        await fixture.Store.SaveAsync(new Storage.StateBatch
        {
            TaskInstances =
            [
                Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "grouped", TaskId = "etl.extract", RunId = "grouped_run", State = TaskInstanceState.Success, TryNumber = 1 }),
                Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "grouped", TaskId = "etl.load", RunId = "grouped_run", State = TaskInstanceState.Failed, TryNumber = 1 }),
                Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "grouped", TaskId = "report", RunId = "grouped_run", State = TaskInstanceState.UpstreamFailed, TryNumber = 0 }),
            ],
        });
        var page = await LoginAsync("viewer");
        await using var context = page.Context;
        await page.GotoAsync("/dags/grouped/grid");
        await Expect(page.Locator("tr.group[data-group=etl]")).ToHaveCountAsync(1);
        await Expect(page.Locator("span.cell[data-group=etl][data-run-id=grouped_run]")).ToHaveAttributeAsync("data-state", "failed");
        await Expect(page.Locator("tr.in-group")).ToHaveCountAsync(2);
        var rows = await page.Locator("table.grid tbody th.task").AllInnerTextsAsync();
        Assert.Equal(["\u25BE etl", "etl.extract", "etl.load", "report"], rows.Select(r => r.Trim()));
        await page.GotoAsync("/dags/grouped/graph");
        await Expect(page.Locator("g.taskgroup[data-group=etl]")).ToHaveCountAsync(1);
        await Screenshots.TakeAsync(page, "task-group-graph.png");
    }

    [Fact]
    public async Task Mapped_instances_are_listed_opened_and_marked_by_map_index_in_the_api_and_the_ui()
    {
        using var user = fixture.Client("user");
        await fixture.Store.SetDagPausedAsync("mapped", false);
        var run = await WebFixture.JsonAsync(await user.PostAsync("/api/v1/dags/mapped/dagRuns", Json("""{"dag_run_id":"mapped_run"}""")));
        Assert.Equal("mapped_run", run["dag_run_id"]!.GetValue<string>());
        await fixture.WaitForRunAsync("mapped", "mapped_run", DagRunState.Success, TimeSpan.FromSeconds(60));

        var ti = "/api/v1/dags/mapped/dagRuns/mapped_run/taskInstances/echo_each";
        var list = await WebFixture.JsonAsync(await user.GetAsync(ti + "/listMapped"));
        Assert.Equal(3, list["total_entries"]!.GetValue<int>());
        Assert.Equal(["say a0", "say b1", "say c2"], list["task_instances"]!.AsArray().Select(t => t!["rendered_map_index"]!.GetValue<string>()));
        var one = await WebFixture.JsonAsync(await user.GetAsync(ti + "/1"));
        Assert.Equal((1, "success"), (one["map_index"]!.GetValue<int>(), one["state"]!.GetValue<string>()));
        Assert.Contains(one["rendered_fields"]!.AsObject(), f => f.Value!.ToString() == "b1");
        var unmapped = await user.GetAsync(ti);
        Assert.Equal(HttpStatusCode.NotFound, unmapped.StatusCode);
        Assert.Contains("is mapped into 3 instances: give a map_index from 0 to 2", await unmapped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var log = await user.GetAsync(ti + "/logs/1?map_index=2&full_content=true");
        Assert.Contains("c2", await log.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var marked = await WebFixture.JsonAsync(await user.PatchAsync(ti + "/2", Json("""{"new_state":"failed"}""")));
        Assert.Equal((2, "failed"), (marked["map_index"]!.GetValue<int>(), marked["state"]!.GetValue<string>()));
        Assert.Equal(TaskInstanceState.Success, (await fixture.Store.GetTaskInstanceAsync("mapped", "echo_each", "mapped_run", 1))!.State);

        var page = await LoginAsync("viewer");
        await using var context = page.Context;
        await page.GotoAsync("/dags/mapped/grid");
        await Expect(page.Locator("a.cell[data-task-id=echo_each][data-run-id=mapped_run]")).ToHaveAttributeAsync("data-state", "failed");
        await Expect(page.Locator("table.grid tbody th.task")).ToContainTextAsync("echo_each [ ]");
        await page.Locator("a.cell[data-task-id=echo_each][data-run-id=mapped_run]").ClickAsync();
        await Expect(page.Locator("#mapped tbody tr")).ToHaveCountAsync(3);
        await page.Locator("#mapped tr[data-map-index='1'] a").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("echo_each [say b1]");
        await Expect(page.Locator("#log")).ToContainTextAsync("b1");
    }

    [Fact]
    public async Task A_producer_run_triggers_its_consumer_and_the_api_lists_the_dataset_and_its_update()
    {
        using var user = fixture.Client("user");
        await fixture.Store.SetDagPausedAsync("dataset_producer", false);
        await fixture.Store.SetDagPausedAsync("dataset_consumer", false);
        await user.PostAsync("/api/v1/dags/dataset_producer/dagRuns", Json("""{"dag_run_id":"produce_1"}"""));
        await fixture.WaitForRunAsync("dataset_producer", "produce_1", DagRunState.Success, TimeSpan.FromSeconds(60));
        await fixture.WaitForAsync(async () => (await fixture.Store.ListDagRunsAsync(new Storage.DagRunQuery { DagId = "dataset_consumer" })).Any(r => r.State == DagRunState.Success), TimeSpan.FromSeconds(60), "the dataset-triggered run");

        var runs = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/dags/dataset_consumer/dagRuns"));
        Assert.Equal("dataset_triggered", Assert.Single(runs["dag_runs"]!.AsArray())!["run_type"]!.GetValue<string>());
        var datasets = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/datasets?uri_pattern=web_orders"));
        var dataset = Assert.Single(datasets["datasets"]!.AsArray())!;
        Assert.Equal("s3://lake/web_orders", dataset["uri"]!.GetValue<string>());
        Assert.Equal("export", Assert.Single(dataset["producing_tasks"]!.AsArray())!["task_id"]!.GetValue<string>());
        Assert.Equal("dataset_consumer", Assert.Single(dataset["consuming_dags"]!.AsArray())!["dag_id"]!.GetValue<string>());
        Assert.NotNull(dataset["updated_at"]);
        var events = await WebFixture.JsonAsync(await user.GetAsync("/api/v1/datasets/events?uri=s3%3A%2F%2Flake%2Fweb_orders"));
        var update = Assert.Single(events["dataset_events"]!.AsArray())!;
        Assert.Equal(("dataset_producer", "export", "produce_1"), (update["source_dag_id"]!.GetValue<string>(), update["source_task_id"]!.GetValue<string>(), update["source_run_id"]!.GetValue<string>()));
    }

    private async Task<IPage> LoginAsync(string user)
    {
        var browser = await fixture.BrowserAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.Address.ToString() });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("input[name=username]", user);
        await page.FillAsync("input[name=password]", WebFixture.Password);
        await page.ClickAsync("button:has-text('Sign in')");
        await Expect(page).ToHaveURLAsync(new Regex("/dags$"));
        return page;
    }

    [Fact]
    public async Task Triggering_checks_params_against_their_schema()
    {
        using var user = fixture.Client("user");
        var refused = await user.PostAsync("/api/v1/dags/validated_params/dagRuns", Json("""{"conf":{"count":0}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var detail = System.Text.Json.Nodes.JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>();
        Assert.StartsWith("Invalid params for DAG validated_params: param 'count': 0 is invalid", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await user.PostAsync("/api/v1/dags/validated_params/dagRuns", Json("""{"conf":{"count":"many"}}"""))).StatusCode);
        var accepted = await WebFixture.JsonAsync(await user.PostAsync("/api/v1/dags/validated_params/dagRuns", Json("""{"conf":{"count":7}}""")));
        Assert.Equal(7, accepted["conf"]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Admin_pools_page_shows_slots_names_an_unknown_pool_and_adds_it()
    {
        var ghost = "ghost_" + Guid.NewGuid().ToString("n")[..6];
        var when = DateTimeOffset.UtcNow;
        var runId = "ghost_run_" + ghost;
        await fixture.Store.CreateDagRunAsync(new DagRun { DagId = "example_empty", RunId = runId, RunType = DagRunType.Manual, LogicalDate = when, DataInterval = new(when, when), State = DagRunState.Running });
        await fixture.Store.SaveAsync(new Storage.StateBatch { TaskInstances = [Storage.TaskInstanceChange.Insert(new TaskInstance { DagId = "example_empty", TaskId = "extract", RunId = runId, State = TaskInstanceState.Scheduled, TryNumber = 0, Pool = ghost })] });

        var page = await LoginAsync("op");
        await using var context = page.Context;

        // The task page says why the task waits.
        await page.GotoAsync($"/dags/example_empty/runs/{runId}/tasks/extract");
        await Expect(page.Locator("#ti-waiting")).ToContainTextAsync($"pool {ghost} does not exist");

        await page.ClickAsync("header nav button:has-text('Admin')");
        await page.ClickAsync("header nav a:has-text('Pools')");
        await Expect(page.Locator("h1")).ToHaveTextAsync("List Pool");
        await Expect(page.Locator("tr[data-pool=default_pool]")).ToHaveCountAsync(1);
        var warning = page.Locator($"[data-unknown-pool={ghost}]");
        await Expect(warning).ToContainTextAsync("1 task slot(s) wait for it");
        await warning.Locator("a:has-text('Create it')").ClickAsync();
        await Expect(page.Locator("#pool_name")).ToHaveValueAsync(ghost);
        await page.FillAsync("#slots", "2");
        await page.FillAsync("#description", "made from the warning");
        await page.ClickAsync("button:has-text('Save')");
        await Expect(page).ToHaveURLAsync(new Regex("/admin/pools$"));
        var row = page.Locator($"tr[data-pool={ghost}]");
        await Expect(row.Locator("td.scheduled")).ToHaveTextAsync("1");
        await Expect(row.Locator("td.open")).ToHaveTextAsync("2");
        await Expect(page.Locator($"[data-unknown-pool={ghost}]")).ToHaveCountAsync(0);
        Assert.Equal(2, (await fixture.Store.ListPoolsAsync()).Single(p => p.Name == ghost).Slots);

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await row.Locator("button:has-text('Delete')").ClickAsync();
        await Expect(page.Locator($"tr[data-pool={ghost}]")).ToHaveCountAsync(0);
        await Expect(page.Locator("tr[data-pool=default_pool] button:has-text('Delete')")).ToHaveCountAsync(0);
    }
}
