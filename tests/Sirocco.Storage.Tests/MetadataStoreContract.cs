using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Scheduling;
using Sirocco.Variables;

namespace Sirocco.Storage.Tests;

/// <summary>
/// The behaviour every metadata store must have. A database joins by subclassing with <see cref="CreateStoreAsync"/>
/// (a fresh, empty database per test).
/// </summary>
public abstract class MetadataStoreContract : IAsyncLifetime
{
    private IMetadataStore? _store;

    protected IMetadataStore Store => _store!;

    /// <summary>A store over a fresh, empty database.</summary>
    protected abstract Task<IMetadataStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.MigrateAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0) => new(y, mo, d, h, 0, 0, TimeSpan.Zero);

    private static DagRun Run(string dagId, DateTimeOffset logical, DagRunState state = DagRunState.Queued, DagRunType type = DagRunType.Scheduled) => new()
    {
        DagId = dagId,
        RunId = DagRun.GenerateRunId(type, logical),
        RunType = type,
        LogicalDate = logical,
        DataInterval = new DataInterval(logical, logical.AddDays(1)),
        State = state,
        Conf = new JsonObject { ["k"] = "v" },
        QueuedAt = logical.AddDays(1),
    };

    [Fact]
    public async Task Migrating_twice_applies_nothing_the_second_time()
    {
        var version = await Store.GetSchemaVersionAsync();
        Assert.True(version >= 1);
        Assert.Empty(await Store.MigrateAsync());
        Assert.Equal(version, await Store.GetSchemaVersionAsync());
    }

    [Fact]
    public async Task Migration_creates_the_kubernetes_default_connection_and_the_default_pool()
    {
        var c = Store.GetConnection("kubernetes_default");
        Assert.NotNull(c);
        Assert.Equal("kubernetes", c.ConnType);
        Assert.Empty(c.ExtraDejson()); // no kube config set: ~/.kube/config is used, as in Airflow
        var pool = Assert.Single(await Store.ListPoolsAsync());
        Assert.Equal(new Pool("default_pool", 128, "Default pool"), pool);
    }

    [Fact]
    public void Variables_round_trip()
    {
        Assert.Null(Store.GetVariable("my_value"));
        Store.SetVariable(new Variable("my_value", "example_value", "from the seed"));
        Store.SetVariable(new Variable("a_json", """{"x": [1, 2]}"""));
        Assert.Equal(new Variable("my_value", "example_value", "from the seed"), Store.GetVariable("my_value"));

        Store.SetVariable(new Variable("my_value", "changed"));
        Assert.Equal("changed", Store.GetVariable("my_value")!.Value);
        Assert.Equal("from the seed", Store.GetVariable("my_value")!.Description); // kept when not given

        Assert.Equal(["a_json", "my_value"], Store.ListVariables().Select(v => v.Key));
        Assert.True(Store.DeleteVariable("my_value"));
        Assert.False(Store.DeleteVariable("my_value"));
        Assert.Null(Store.GetVariable("my_value"));
    }

    [Fact]
    public void Unicode_and_long_values_survive()
    {
        var value = "값 " + new string('x', 100_000) + " ✓";
        Store.SetVariable(new Variable("unicode", value));
        Assert.Equal(value, Store.GetVariable("unicode")!.Value);
    }

    [Fact]
    public void Connections_round_trip_with_every_field()
    {
        var c = new Connection
        {
            ConnId = "gke",
            ConnType = "kubernetes",
            Description = "team cluster",
            Host = "h",
            Login = "l",
            Password = "p",
            Schema = "s",
            Port = 6443,
            Extra = """{"namespace":"composer-user-workloads","in_cluster":false}""",
        };
        Store.SetConnection(c);
        Assert.Equal(c, Store.GetConnection("gke"));
        Store.SetConnection(c with { Extra = null, Port = null });
        Assert.Null(Store.GetConnection("gke")!.Port);
        Assert.Contains(Store.ListConnections(), x => x.ConnId == "gke");
        Assert.True(Store.DeleteConnection("gke"));
        Assert.Null(Store.GetConnection("gke"));
    }

    [Fact]
    public async Task Dag_upsert_keeps_the_paused_flag_of_an_existing_dag()
    {
        await Store.UpsertDagAsync(new DagModel { DagId = "d", FileLoc = "/dags/a.py", IsPaused = true, Tags = ["k8s", "example"], Schedule = "@daily" });
        Assert.True(await Store.SetDagPausedAsync("d", false));
        await Store.UpsertDagAsync(new DagModel { DagId = "d", FileLoc = "/dags/b.py", IsPaused = true });
        var dag = await Store.GetDagAsync("d");
        Assert.NotNull(dag);
        Assert.False(dag.IsPaused);
        Assert.Equal("/dags/b.py", dag.FileLoc);

        await Store.DeactivateDagsAsync(["d"]);
        Assert.False((await Store.GetDagAsync("d"))!.IsActive);
        Assert.False(await Store.SetDagPausedAsync("unknown", true));
    }

    [Fact]
    public async Task Dag_runs_round_trip_and_duplicates_are_refused()
    {
        var run = Run("d", Utc(2024, 1, 1));
        await Store.CreateDagRunAsync(run);
        var loaded = await Store.GetDagRunAsync("d", run.RunId);
        Assert.NotNull(loaded);
        Assert.Equal(run.LogicalDate, loaded.LogicalDate);
        Assert.Equal(run.DataInterval, loaded.DataInterval);
        Assert.Equal("v", loaded.Conf["k"]!.ToString());
        Assert.Equal(DagRunType.Scheduled, loaded.RunType);

        var dup = await Assert.ThrowsAsync<SiroccoException>(() => Store.CreateDagRunAsync(run with { RunId = "other" }));
        Assert.Contains("already exists", dup.Message, StringComparison.Ordinal);

        await Store.UpdateDagRunAsync(loaded with { State = DagRunState.Success, EndDate = Utc(2024, 1, 2, 3) });
        var done = await Store.GetDagRunAsync("d", run.RunId);
        Assert.Equal(DagRunState.Success, done!.State);
        Assert.Equal(Utc(2024, 1, 2, 3), done.EndDate);
    }

    [Fact]
    public async Task Dag_runs_list_by_dag_and_state_newest_first_with_paging()
    {
        for (var day = 1; day <= 5; day++)
        {
            await Store.CreateDagRunAsync(Run("d", Utc(2024, 1, day), day % 2 == 0 ? DagRunState.Success : DagRunState.Running));
        }

        await Store.CreateDagRunAsync(Run("other", Utc(2024, 1, 1)));
        var all = await Store.ListDagRunsAsync(new DagRunQuery { DagId = "d" });
        Assert.Equal([5, 4, 3, 2, 1], all.Select(r => r.LogicalDate.Day));
        var running = await Store.ListDagRunsAsync(new DagRunQuery { DagId = "d", States = [DagRunState.Running], Descending = false });
        Assert.Equal([1, 3, 5], running.Select(r => r.LogicalDate.Day));
        var page = await Store.ListDagRunsAsync(new DagRunQuery { DagId = "d", Limit = 2, Offset = 1 });
        Assert.Equal([4, 3], page.Select(r => r.LogicalDate.Day));
        Assert.Equal(6, (await Store.ListDagRunsAsync(new DagRunQuery())).Count);
    }

    [Fact]
    public async Task Task_instances_and_tries_round_trip()
    {
        var run = Run("d", Utc(2024, 1, 1));
        await Store.CreateDagRunAsync(run);
        var ti = new TaskInstance
        {
            DagId = "d",
            TaskId = "t",
            RunId = run.RunId,
            State = TaskInstanceState.UpForRetry,
            TryNumber = 1,
            MaxTries = 3,
            StartDate = Utc(2024, 1, 2),
            EndDate = Utc(2024, 1, 2, 1),
            NextRetryAt = Utc(2024, 1, 2, 2),
            Operator = "KubernetesPodOperator",
            PriorityWeight = 7,
            ExternalId = "composer-user-workloads/pod-ex-minimum-abc",
        };
        await Store.UpsertTaskInstanceAsync(ti);
        Assert.Equal(ti, await Store.GetTaskInstanceAsync("d", "t", run.RunId));

        await Store.UpsertTaskInstanceAsync(ti with { State = TaskInstanceState.Running, TryNumber = 2 });
        await Store.UpsertTaskInstanceAsync(ti with { TaskId = "u", State = TaskInstanceState.Scheduled });
        Assert.Equal(2, (await Store.ListTaskInstancesAsync("d", run.RunId)).Count);
        var running = await Store.ListTaskInstancesByStateAsync([TaskInstanceState.Running]);
        Assert.Equal("t", Assert.Single(running).TaskId);
        Assert.Empty(await Store.ListTaskInstancesByStateAsync([]));

        await Store.UpsertTryAsync(new TaskInstanceTry { DagId = "d", TaskId = "t", RunId = run.RunId, TryNumber = 1, State = TaskInstanceState.Failed, StartDate = Utc(2024, 1, 2) });
        await Store.UpsertTryAsync(new TaskInstanceTry { DagId = "d", TaskId = "t", RunId = run.RunId, TryNumber = 2, State = TaskInstanceState.Running });
        await Store.UpsertTryAsync(new TaskInstanceTry { DagId = "d", TaskId = "t", RunId = run.RunId, TryNumber = 2, State = TaskInstanceState.Success });
        var tries = await Store.ListTriesAsync("d", "t", run.RunId);
        Assert.Equal([TaskInstanceState.Failed, TaskInstanceState.Success], tries.Select(t => t.State));
    }

    [Fact]
    public async Task XComs_are_json_values_per_task_and_key()
    {
        var run = Run("d", Utc(2024, 1, 1));
        using var doc = JsonDocument.Parse("""{"rows": 42, "files": ["a", "b"]}""");
        await Store.SetXComAsync(new XComEntry { DagId = "d", TaskId = "t", RunId = run.RunId, Key = XComEntry.ReturnValueKey, Value = doc.RootElement, Timestamp = Utc(2024, 1, 2) });
        using var other = JsonDocument.Parse("\"text\"");
        await Store.SetXComAsync(new XComEntry { DagId = "d", TaskId = "u", RunId = run.RunId, Key = "note", Value = other.RootElement, Timestamp = Utc(2024, 1, 2) });

        var x = await Store.GetXComAsync("d", "t", run.RunId, "return_value");
        Assert.NotNull(x);
        Assert.Equal(42, x.Value.GetProperty("rows").GetInt32());
        Assert.Equal(2, (await Store.ListXComsAsync("d", run.RunId)).Count);
        Assert.Single(await Store.ListXComsAsync("d", run.RunId, "u"));

        await Store.ClearXComsAsync("d", "t", run.RunId);
        Assert.Null(await Store.GetXComAsync("d", "t", run.RunId, "return_value"));
    }

    [Fact]
    public async Task Deleting_a_run_deletes_its_task_instances_tries_and_xcoms()
    {
        var run = Run("d", Utc(2024, 1, 1));
        await Store.CreateDagRunAsync(run);
        await Store.UpsertTaskInstanceAsync(new TaskInstance { DagId = "d", TaskId = "t", RunId = run.RunId });
        await Store.UpsertTryAsync(new TaskInstanceTry { DagId = "d", TaskId = "t", RunId = run.RunId, TryNumber = 1 });
        using var doc = JsonDocument.Parse("1");
        await Store.SetXComAsync(new XComEntry { DagId = "d", TaskId = "t", RunId = run.RunId, Key = "k", Value = doc.RootElement });

        Assert.True(await Store.DeleteDagRunAsync("d", run.RunId));
        Assert.Null(await Store.GetDagRunAsync("d", run.RunId));
        Assert.Empty(await Store.ListTaskInstancesAsync("d", run.RunId));
        Assert.Empty(await Store.ListTriesAsync("d", "t", run.RunId));
        Assert.Empty(await Store.ListXComsAsync("d", run.RunId));
        Assert.False(await Store.DeleteDagRunAsync("d", run.RunId));
    }

    [Fact]
    public async Task A_state_batch_is_written_whole_or_not_at_all()
    {
        var run = Run("d", Utc(2024, 1, 1), DagRunState.Running);
        await Store.CreateDagRunAsync(run);
        var ti = new TaskInstance { DagId = "d", TaskId = "t", RunId = run.RunId, State = TaskInstanceState.Running, TryNumber = 1 };
        await Store.SaveAsync(new StateBatch
        {
            TaskInstances = [ti],
            Tries = [new TaskInstanceTry { DagId = "d", TaskId = "t", RunId = run.RunId, TryNumber = 1, State = TaskInstanceState.Running }],
            DagRuns = [run with { State = DagRunState.Success }],
        });
        Assert.Equal(TaskInstanceState.Running, (await Store.GetTaskInstanceAsync("d", "t", run.RunId))!.State);
        Assert.Single(await Store.ListTriesAsync("d", "t", run.RunId));
        Assert.Equal(DagRunState.Success, (await Store.GetDagRunAsync("d", run.RunId))!.State);

        // The second task instance violates NOT NULL: the first one and the run update must roll back with it.
        var broken = new TaskInstance { DagId = null!, TaskId = "x", RunId = run.RunId };
        await Assert.ThrowsAnyAsync<Exception>(() => Store.SaveAsync(new StateBatch
        {
            TaskInstances = [ti with { State = TaskInstanceState.Success }, broken],
            DagRuns = [run with { State = DagRunState.Failed }],
        }));
        Assert.Equal(TaskInstanceState.Running, (await Store.GetTaskInstanceAsync("d", "t", run.RunId))!.State);
        Assert.Equal(DagRunState.Success, (await Store.GetDagRunAsync("d", run.RunId))!.State);
    }

    [Fact]
    public async Task Import_errors_are_kept_per_file_until_cleared()
    {
        await Store.SetImportErrorAsync(new ImportErrorRecord("/dags/bad.py", "line 3, column 5: invalid syntax", Utc(2024, 1, 1)));
        await Store.SetImportErrorAsync(new ImportErrorRecord("/dags/bad.py", "line 4, column 1: invalid syntax", Utc(2024, 1, 2)));
        var e = Assert.Single(await Store.ListImportErrorsAsync());
        Assert.Equal("line 4, column 1: invalid syntax", e.Message);
        await Store.ClearImportErrorAsync("/dags/bad.py");
        Assert.Empty(await Store.ListImportErrorsAsync());
    }

    [Fact]
    public async Task Users_and_pools_round_trip()
    {
        await Store.UpsertUserAsync(new User("admin", "hash", "Admin", "a@example.com"));
        Assert.Equal(new User("admin", "hash", "Admin", "a@example.com"), await Store.GetUserAsync("admin"));
        await Store.UpsertUserAsync(new User("admin", "hash2", "Viewer", Active: false));
        Assert.Equal("Viewer", (await Store.GetUserAsync("admin"))!.Role);
        Assert.Single(await Store.ListUsersAsync());
        Assert.True(await Store.DeleteUserAsync("admin"));
        Assert.Null(await Store.GetUserAsync("admin"));

        await Store.SetPoolAsync(new Pool("k8s", 4));
        Assert.Equal(2, (await Store.ListPoolsAsync()).Count);
        await Assert.ThrowsAsync<SiroccoException>(() => Store.SetPoolAsync(new Pool("bad", -1)));
    }

    [Fact]
    public async Task Heartbeats_keep_the_latest_time_per_job()
    {
        Assert.Null(await Store.GetHeartbeatAsync("scheduler"));
        await Store.SetHeartbeatAsync("scheduler", "host-a", Utc(2024, 1, 1, 1));
        await Store.SetHeartbeatAsync("scheduler", "host-a", Utc(2024, 1, 1, 2));
        Assert.Equal(Utc(2024, 1, 1, 2), await Store.GetHeartbeatAsync("scheduler"));
        Assert.Null(await Store.GetHeartbeatAsync("triggerer"));
    }

    [Fact]
    public async Task Concurrent_writers_do_not_lose_updates()
    {
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Store.SetVariable(new Variable($"k{i:D2}", i.ToString(System.Globalization.CultureInfo.InvariantCulture))))));
        Assert.Equal(50, Store.ListVariables().Count);
    }
}
