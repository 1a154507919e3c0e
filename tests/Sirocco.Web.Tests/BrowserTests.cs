using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sirocco.Web.Tests;

/// <summary>The scenarios in a real Chromium (Debian's package) against the real server.</summary>
[Collection("web")]
public sealed partial class BrowserTests(WebFixture fixture)
{
    private static readonly LocatorAssertionsToHaveCountOptions Long = new() { Timeout = 60_000 };

    private async Task<(IBrowserContext Context, IPage Page)> LoginAsync(string user)
    {
        var browser = await fixture.BrowserAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.Address.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 820 } });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dags");
        await Expect(page).ToHaveURLAsync(new Regex("/login\\?next="));
        await page.FillAsync("input[name=username]", user);
        await page.FillAsync("input[name=password]", WebFixture.Password);
        await page.ClickAsync("button:has-text('Sign in')");
        await Expect(page).ToHaveURLAsync(new Regex("/dags$"));
        await Expect(page.Locator(".who")).ToContainTextAsync(user);
        return (context, page);
    }

    [Fact]
    public async Task Log_in_unpause_trigger_and_watch_the_grid_turn_green()
    {
        await fixture.Store.SetDagPausedAsync("example_empty", true);
        var (context, page) = await LoginAsync("user");
        await using var _ = context;
        var row = page.Locator("tr[data-dag-id=example_empty]");
        await row.Locator("button[aria-label='Unpause example_empty']").ClickAsync();
        await Expect(row.Locator("button.toggle.on")).ToHaveCountAsync(1);
        Assert.False((await fixture.Store.GetDagAsync("example_empty"))!.IsPaused);

        await row.Locator("a:has-text('Trigger')").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/dags/example_empty/trigger$"));
        await page.FillAsync("#conf", """{"source": "browser"}""");
        await page.ClickAsync("button:has-text('Trigger')");
        await Expect(page).ToHaveURLAsync(new Regex("/dags/example_empty/grid$"));
        var flash = await page.Locator(".flash").InnerTextAsync();
        var runId = RunIdRegex().Match(flash).Groups[1].Value;
        Assert.StartsWith("manual__", runId, StringComparison.Ordinal);

        // The grid refreshes itself while the run is active, until all four tasks are green.
        await Expect(page.Locator($"a.cell[data-run-id='{runId}'][data-state=success]")).ToHaveCountAsync(4, Long);
        await Expect(page.Locator($"a.runbar[data-run-id='{runId}'][data-state=success]")).ToHaveCountAsync(1, Long);
        Assert.Equal("browser", (await fixture.Store.GetDagRunAsync("example_empty", runId))!.Conf["source"]!.GetValue<string>());
        await Screenshots.TakeAsync(page, "grid.png");

        await page.ClickAsync("a:has-text('Graph')");
        await Expect(page.Locator("#graph a[data-state=success]")).ToHaveCountAsync(4);
        await Screenshots.TakeAsync(page, "graph.png");

        // The DAGs page now shows the run's state among the recent runs (and, for the picture, an import error).
        await fixture.Store.SetImportErrorAsync(new Storage.ImportErrorRecord("/dags/broken_dag.py", "SyntaxError: '(' was never closed (broken_dag.py, line 7)", DateTimeOffset.UtcNow));
        try
        {
            await page.GotoAsync("/dags");
            await Expect(row.Locator(".circle.st-success")).ToHaveCountAsync(1);
            await Screenshots.TakeAsync(page, "dags.png");
        }
        finally
        {
            await fixture.Store.ClearImportErrorAsync("/dags/broken_dag.py");
        }
    }

    [Fact]
    public async Task A_running_tries_log_is_tailed_live()
    {
        await fixture.Store.SetDagPausedAsync("live_log", false);
        using (var api = fixture.Client("user"))
        {
            var response = await api.PostAsync("/api/v1/dags/live_log/dagRuns", new StringContent("""{"dag_run_id":"live_1"}""", System.Text.Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }

        await fixture.WaitForAsync(async () => (await fixture.Store.GetTaskInstanceAsync("live_log", "gated", "live_1"))?.State == TaskInstanceState.Running, what: "the gated task to run");
        var (context, page) = await LoginAsync("viewer");
        await using var _ = context;
        await page.GotoAsync("/dags/live_log/runs/live_1/tasks/gated");
        await Expect(page.Locator("#log")).ToContainTextAsync("first line before the gate");
        await Expect(page.Locator("#log-status")).ToHaveTextAsync(new Regex("live"));
        await Expect(page.Locator("#ti-state")).ToHaveTextAsync("running");
        await Expect(page.Locator("#log")).Not.ToContainTextAsync("second line after the gate");

        // The page reloads itself once the try has ended (to show its end date); the screenshot waits for that reload
        // instead of racing it.
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        page.Load += (_, _) => reloaded.TrySetResult();
        TestDags.Gate.Release();
        await Expect(page.Locator("#log")).ToContainTextAsync("second line after the gate", new() { Timeout = 60_000 });
        await Expect(page.Locator("#log-status")).ToHaveTextAsync("finished", new() { Timeout = 60_000 });
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Expect(page.Locator("#ti-state")).ToHaveTextAsync("success");
        await Screenshots.TakeAsync(page, "task-log.png");
    }

    [Fact]
    public async Task Admin_variables_add_record_as_the_seed_describes()
    {
        var (context, page) = await LoginAsync("op");
        await using var _ = context;
        await page.ClickAsync("header nav button:has-text('Admin')");
        await page.ClickAsync("header nav a:has-text('Variables')");
        await Expect(page.Locator("h1")).ToHaveTextAsync("List Variable");
        await page.ClickAsync("a:has-text('Add a new record')");
        await page.FillAsync("#key", "my_value");
        await page.FillAsync("#val", "example_value");
        await page.ClickAsync("button:has-text('Save')");
        await Expect(page).ToHaveURLAsync(new Regex("/admin/variables$"));
        await Expect(page.Locator("tr[data-key=my_value]")).ToContainTextAsync("example_value");
        Assert.Equal("example_value", fixture.Store.GetVariable("my_value")!.Value);

        // A secret-looking key is masked in the list.
        fixture.Store.SetVariable(new Variables.Variable("service_password", "pa55word-xyz"));
        await page.ReloadAsync();
        await Expect(page.Locator("tr[data-key=service_password]")).ToContainTextAsync("***");
        Assert.DoesNotContain("pa55word-xyz", await page.ContentAsync(), StringComparison.Ordinal);
        await Screenshots.TakeAsync(page, "variables.png");

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.Locator("tr[data-key=my_value] button:has-text('Delete')").ClickAsync();
        await Expect(page.Locator("tr[data-key=my_value]")).ToHaveCountAsync(0);
        await page.Locator("tr[data-key=service_password] button:has-text('Delete')").ClickAsync();
        await Expect(page.Locator("tr[data-key=service_password]")).ToHaveCountAsync(0);
        Assert.Null(fixture.Store.GetVariable("my_value"));
    }

    [Fact]
    public async Task A_broken_dag_files_import_error_shows_on_the_dags_page()
    {
        await fixture.Store.SetImportErrorAsync(new Storage.ImportErrorRecord("/dags/broken_dag.py", "SyntaxError: '(' was never closed (broken_dag.py, line 7)", DateTimeOffset.UtcNow));
        try
        {
            var (context, page) = await LoginAsync("viewer");
            await using var _ = context;
            var banner = page.Locator("#import-errors");
            await Expect(banner).ToContainTextAsync("Broken DAG: [/dags/broken_dag.py]");
            await Expect(banner).ToContainTextAsync("line 7");
            await Expect(page.Locator("tr[data-dag-id=example_empty]")).ToHaveCountAsync(1);
            await Expect(page.Locator("a:has-text('Trigger')")).ToHaveCountAsync(0); // a Viewer cannot trigger
        }
        finally
        {
            await fixture.Store.ClearImportErrorAsync("/dags/broken_dag.py");
        }
    }

    [Fact]
    public async Task Connection_form_tests_a_kubernetes_connection_and_configuration_is_hidden_by_default()
    {
        var (context, page) = await LoginAsync("admin");
        await using var _ = context;
        await page.GotoAsync("/admin/connections/add");
        await page.FillAsync("input[name=conn_id]", "kubernetes_test");
        await page.FillAsync("input[name=kube_config_path]", "/nonexistent/kube_config");
        await page.FillAsync("input[name=namespace]", "composer-user-workloads");
        await page.ClickAsync("#test-connection");
        await Expect(page.Locator("#conn-error")).ToContainTextAsync("/nonexistent/kube_config");
        await Expect(page.Locator("input[name=namespace]")).ToHaveValueAsync("composer-user-workloads");
        Assert.Null(fixture.Store.GetConnection("kubernetes_test"));
        await Screenshots.TakeAsync(page, "connection.png");

        await page.ClickAsync("button:has-text('Save')");
        await Expect(page.Locator("tr[data-conn-id=kubernetes_test]")).ToHaveCountAsync(1);
        var extra = fixture.Store.GetConnection("kubernetes_test")!.ExtraDejson();
        Assert.Equal("composer-user-workloads", extra["namespace"]!.GetValue<string>());
        Assert.Equal("/nonexistent/kube_config", extra["kube_config_path"]!.GetValue<string>());
        fixture.Store.DeleteConnection("kubernetes_test");

        await page.ClickAsync("header nav button:has-text('Admin')");
        await page.ClickAsync("header nav a:has-text('Configuration')");
        await Expect(page.Locator("#config-hidden")).ToContainTextAsync("expose_config");
    }

    [GeneratedRegex("run (manual__\\S+)")]
    private static partial Regex RunIdRegex();
}

/// <summary>Screenshots of the main pages: into docs/images with SIROCCO_UPDATE_SCREENSHOTS=1, else a temp folder.</summary>
internal static class Screenshots
{
    public static Task TakeAsync(IPage page, string name)
    {
        var dir = Environment.GetEnvironmentVariable("SIROCCO_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(OpenApiTests.RepoRoot(), "docs", "images")
            : Path.Combine(Path.GetTempPath(), "sirocco-screenshots");
        Directory.CreateDirectory(dir);
        return page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, name), FullPage = true });
    }
}
