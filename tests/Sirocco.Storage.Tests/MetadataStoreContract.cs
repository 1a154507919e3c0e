using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Scheduling;
using Sirocco.Variables;

namespace Sirocco.Storage.Tests;

/// <summary>
/// The behaviour every metadata store must have. A database joins by subclassing with <see cref="CreateDatabaseAsync"/>
/// (a fresh, empty database per test).
/// </summary>
public abstract class MetadataStoreContract : IAsyncLifetime
{
    private IMetadataStore? _store;

    protected IMetadataStore Store => _store!;

    /// <summary>The URL (<c>[database] sql_conn</c>) of a fresh, empty database.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    /// <summary>The URL of this test's database.</summary>
    protected string Url { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        Url = await CreateDatabaseAsync();
        _store = MetadataStore.Open(Url);
        await _store.MigrateAsync();
    }

    [Fact]
    public async Task Variables_and_connection_secrets_are_stored_as_fernet_tokens_readable_only_with_the_key_and_rotate()
    {
        var oldKey = Masking.Fernet.GenerateKey();
        await using (var keyed = MetadataStore.Open(Url, Masking.Fernet.FromKeys(oldKey)))
        {
            keyed.SetVariable(new Variable("api_token", "v-s3cret"));
            keyed.SetConnection(new Connection { ConnId = "db", ConnType = "postgres", Host = "h", Login = "me", Password = "p-s3cret", Extra = "{\"k\": \"x-s3cret\"}" });
            keyed.SetConnection(new Connection { ConnId = "plain", ConnType = "http", Host = "example.com" });
            Assert.Equal("v-s3cret", keyed.GetVariable("api_token")!.Value);
            var db = keyed.GetConnection("db")!;
            Assert.Equal(("p-s3cret", "{\"k\": \"x-s3cret\"}", "h", "me"), (db.Password, db.Extra, db.Host, db.Login));
            Assert.Null(keyed.GetConnection("plain")!.Password);
        }

        // Without the key, or with another one, the values cannot be read, and the error says which value and why.
        var noKey = Assert.Throws<SiroccoException>(() => Store.GetVariable("api_token"));
        Assert.Contains("Variable 'api_token' is encrypted, but [core] fernet_key is not set", noKey.Message, StringComparison.Ordinal);
        var newKey = Masking.Fernet.GenerateKey();
        await using (var wrong = MetadataStore.Open(Url, Masking.Fernet.FromKeys(newKey)))
        {
            var e = Assert.Throws<SiroccoException>(() => wrong.GetConnection("db"));
            Assert.Contains("the password of connection 'db' cannot be decrypted with [core] fernet_key", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal);
            Assert.Equal("example.com", wrong.GetConnection("plain")!.Host); // nothing secret in it: readable
        }

        // Rotation: the new key first, the old one after it; then the old key can go.
        await using (var both = MetadataStore.Open(Url, Masking.Fernet.FromKeys($"{newKey},{oldKey}")))
        {
            Assert.Equal(2, await both.RotateFernetKeyAsync());
        }

        await using var rotated = MetadataStore.Open(Url, Masking.Fernet.FromKeys(newKey));
        Assert.Equal("v-s3cret", rotated.GetVariable("api_token")!.Value);
        Assert.Equal("p-s3cret", rotated.GetConnection("db")!.Password);
        Assert.Equal(["api_token"], rotated.ListVariables().Select(v => v.Key));
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0) => new(y, mo, d, h, 0, 0, TimeSpan.Zero);

    private Task Insert(TaskInstance ti) => Store.SaveAsync(new StateBatch { TaskInstances = [TaskInstanceChange.Insert(ti)] });

    private static TaskInstanceTry Try(TaskInstance ti) => new()
    {
        DagId = ti.DagId,
        TaskId = ti.TaskId,
        RunId = ti.RunId,
        TryNumber = ti.TryNumber,
        State = ti.State,
        StartDate = ti.StartDate,
        EndDate = ti.EndDate,
        ExternalId = ti.ExternalId,
    };

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

        await Store.SyncDagsAsync(new DagSync([], []));
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

        var dup = await Assert.ThrowsAsync<DagRunExistsException>(() => Store.CreateDagRunAsync(run with { RunId = "other" }));
        Assert.Contains("already exists", dup.Message, StringComparison.Ordinal);
        Assert.Equal(run.RunId, dup.ExistingRunId); // found by its logical date
        var sameId = await Assert.ThrowsAsync<DagRunExistsException>(() => Store.CreateDagRunAsync(run with { LogicalDate = Utc(2030, 1, 1) }));
        Assert.Equal(run.RunId, sameId.ExistingRunId);

        var conflicts = await Store.SaveAsync(new StateBatch { DagRuns = [new DagRunChange(DagRunState.Queued, loaded with { State = DagRunState.Success, EndDate = Utc(2024, 1, 2, 3) })] });
        Assert.Empty(conflicts);
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
        await Insert(ti);
        Assert.Equal(ti, await Store.GetTaskInstanceAsync("d", "t", run.RunId));

        var running = ti with { State = TaskInstanceState.Running, TryNumber = 2 };
        Assert.Empty(await Store.SaveAsync(new StateBatch
        {
            TaskInstances = [new TaskInstanceChange(ti, running) { Try = Try(running) }],
            FinishedTries = [Try(ti with { State = TaskInstanceState.Failed, TryNumber = 1 })],
        }));
        await Insert(ti with { TaskId = "u", State = TaskInstanceState.Scheduled });
        Assert.Equal(2, (await Store.ListTaskInstancesAsync("d", run.RunId)).Count);
        Assert.Equal("t", Assert.Single(await Store.ListTaskInstancesByStateAsync([TaskInstanceState.Running])).TaskId);
        Assert.Empty(await Store.ListTaskInstancesByStateAsync([]));

        Assert.True(await Store.RecordTryExternalIdAsync(running, "ns/pod-2"));
        Assert.Equal("ns/pod-2", (await Store.GetTaskInstanceAsync("d", "t", run.RunId))!.ExternalId);
        Assert.Empty(await Store.SaveAsync(new StateBatch
        {
            TaskInstances = [new TaskInstanceChange(running, running with { State = TaskInstanceState.Success })],
            FinishedTries = [Try(running with { State = TaskInstanceState.Success, ExternalId = null })],
        }));
        var tries = await Store.ListTriesAsync("d", "t", run.RunId);
        Assert.Equal([TaskInstanceState.Failed, TaskInstanceState.Success], tries.Select(t => t.State));
        Assert.Equal("ns/pod-2", tries[1].ExternalId); // kept when the finished record has none
        Assert.False(await Store.RecordTryExternalIdAsync(running, "ns/late")); // no longer running that try
    }

    [Fact]
    public async Task Dataset_updates_are_queued_per_consumer_and_taken_once_with_the_run_they_trigger()
    {
        var at = Utc(2024, 1, 2);
        await Store.RecordDatasetUpdateAsync(new DatasetUpdate("gs://b/orders", "p", "t", "r1", -1, at), ["c1", "c2"]);
        await Store.RecordDatasetUpdateAsync(new DatasetUpdate("gs://b/orders", "p", "t", "r2", -1, at.AddHours(1)), ["c1"]);
        Assert.Equal([("gs://b/orders", "c1"), ("gs://b/orders", "c2")], await Store.ListDatasetQueueAsync());
        Assert.Equal(["r2", "r1"], (await Store.ListDatasetUpdatesAsync("gs://b/orders")).Select(u => u.RunId));

        var run = DagRun.Create("c1", DagRunType.DatasetTriggered, at, new DataInterval(at, at), at, null);
        Assert.True(await Store.CreateDatasetTriggeredRunAsync(run, ["gs://b/orders"]));
        Assert.False(await Store.CreateDatasetTriggeredRunAsync(run with { RunId = "again" }, ["gs://b/orders"])); // already taken
        Assert.False(await Store.CreateDatasetTriggeredRunAsync(DagRun.Create("c2", DagRunType.DatasetTriggered, at, new DataInterval(at, at), at, null), ["gs://b/orders", "gs://b/missing"]));
        Assert.Equal([("gs://b/orders", "c2")], await Store.ListDatasetQueueAsync()); // the failed attempt changed nothing
        Assert.Equal(DagRunType.DatasetTriggered, (await Store.GetDagRunAsync("c1", run.RunId))!.RunType);
    }

    [Fact]
    public async Task Expanding_a_mapped_task_renames_its_unmapped_instance_and_a_stale_expansion_is_a_conflict()
    {
        var run = Run("mapped", Utc(2024, 1, 1), DagRunState.Running);
        await Store.CreateDagRunAsync(run);
        var unmapped = new TaskInstance { DagId = "mapped", TaskId = "each", RunId = run.RunId, PriorityWeight = 3 };
        await Insert(unmapped);

        var first = unmapped with { MapIndex = 0, State = TaskInstanceState.Scheduled };
        Assert.Empty(await Store.SaveAsync(new StateBatch
        {
            TaskInstances = [new TaskInstanceChange(unmapped, first), TaskInstanceChange.Insert(first with { MapIndex = 1 })],
        }));
        var stored = await Store.ListTaskInstancesAsync("mapped", run.RunId);
        Assert.Equal([0, 1], stored.Select(t => t.MapIndex));
        Assert.All(stored, t => Assert.Equal((TaskInstanceState.Scheduled, 3), (t.State, t.PriorityWeight)));
        Assert.Null(await Store.GetTaskInstanceAsync("mapped", "each", run.RunId, -1));

        // A second expansion from the same stale view loses, and the conflict names the row as it is now.
        var conflict = Assert.Single(await Store.SaveAsync(new StateBatch { TaskInstances = [new TaskInstanceChange(unmapped, first)] }));
        Assert.Equal(0, conflict.StoredTaskInstance!.MapIndex);
    }

    [Fact]
    public async Task Many_tries_recording_their_pods_at_once_each_get_their_own_answer_and_a_bad_write_fails_only_its_caller()
    {
        // More callers than one combined transaction takes (500), all at once, as when every pod of a wide run starts.
        var run = Run("wide", Utc(2024, 1, 1), DagRunState.Running);
        await Store.CreateDagRunAsync(run);
        var tis = Enumerable.Range(0, 700).Select(i => new TaskInstance
        {
            DagId = "wide", TaskId = $"t{i:D3}", RunId = run.RunId, State = TaskInstanceState.Running, TryNumber = 1,
        }).ToList();
        tis[7] = tis[7] with { State = TaskInstanceState.Success }; // marked by a user meanwhile: its try is over
        await Store.SaveAsync(new StateBatch { TaskInstances = [.. tis.Select(ti => TaskInstanceChange.Insert(ti) with { Try = Try(ti) })] });

        var running = tis.Select(ti => ti with { State = TaskInstanceState.Running }).ToList();
        var recorded = running.Select(ti => Task.Run(() => Store.RecordTryExternalIdAsync(ti, $"ns/pod-{ti.TaskId}"))).ToList();
        var pushed = running.Select(ti => Task.Run(() => Store.SetXComAsync(new XComEntry
        {
            DagId = ti.DagId, TaskId = ti.TaskId, RunId = ti.RunId, Key = "pod_name", Value = JsonSerializer.SerializeToElement($"pod-{ti.TaskId}"), Timestamp = Utc(2024, 1, 1),
        }))).ToList();
        var bad = Task.Run(() => Store.SetXComAsync(new XComEntry
        {
            DagId = "wide", TaskId = "t001", RunId = run.RunId, Key = null!, Value = JsonSerializer.SerializeToElement(1), Timestamp = Utc(2024, 1, 1),
        }));

        var answers = await Task.WhenAll(recorded).WaitAsync(TimeSpan.FromSeconds(60));
        await Task.WhenAll(pushed).WaitAsync(TimeSpan.FromSeconds(60));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => bad.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(Enumerable.Range(0, 700).Select(i => i != 7), answers);
        var stored = (await Store.ListTaskInstancesAsync("wide", run.RunId)).ToDictionary(t => t.TaskId);
        Assert.All(running.Where((_, i) => i != 7), ti => Assert.Equal($"ns/pod-{ti.TaskId}", stored[ti.TaskId].ExternalId));
        Assert.Null(stored["t007"].ExternalId);
        Assert.Equal("ns/pod-t500", Assert.Single(await Store.ListTriesAsync("wide", "t500", run.RunId)).ExternalId);
        Assert.Null(Assert.Single(await Store.ListTriesAsync("wide", "t007", run.RunId)).ExternalId);
        var xcoms = await Store.ListXComsAsync("wide", run.RunId);
        Assert.Equal(700, xcoms.Count);
        Assert.Equal("pod-t699", xcoms.Single(x => x.TaskId == "t699").Value.GetString());
    }

    [Fact]
    public async Task A_change_from_a_state_the_row_no_longer_has_loses_and_reports_the_stored_row()
    {
        var run = Run("d", Utc(2024, 1, 1), DagRunState.Running);
        await Store.CreateDagRunAsync(run);
        var scheduled = new TaskInstance { DagId = "d", TaskId = "t", RunId = run.RunId, State = TaskInstanceState.Scheduled };
        var other = scheduled with { TaskId = "u" };
        await Insert(scheduled);
        await Insert(other);

        // A user marks t failed; the scheduler, which saw it scheduled, tries to start it: its change loses.
        await Store.MarkTaskInstanceAsync(scheduled, TaskInstanceState.Failed, new StateActor("admin", "web UI"), Utc(2024, 1, 1, 1));
        var start = scheduled with { State = TaskInstanceState.Running, TryNumber = 1 };
        var conflicts = await Store.SaveAsync(new StateBatch
        {
            TaskInstances =
            [
                new TaskInstanceChange(scheduled, start) { Try = Try(start), ClearXComs = true },
                new TaskInstanceChange(other, other with { State = TaskInstanceState.Running, TryNumber = 1 }),
            ],
            DagRuns = [new DagRunChange(DagRunState.Queued, run with { State = DagRunState.Success })],
        });
        Assert.Equal(2, conflicts.Count);
        var lost = Assert.Single(conflicts, c => c.TaskInstance is not null);
        Assert.Equal(TaskInstanceState.Failed, lost.StoredTaskInstance!.State);
        Assert.Equal("admin via web UI", lost.StoredTaskInstance.ChangedBy);
        Assert.Equal(DagRunState.Running, Assert.Single(conflicts, c => c.DagRun is not null).StoredRun!.State);

        Assert.Equal(TaskInstanceState.Failed, (await Store.GetTaskInstanceAsync("d", "t", run.RunId))!.State);
        Assert.Empty(await Store.ListTriesAsync("d", "t", run.RunId)); // the losing start wrote no try
        Assert.Equal(TaskInstanceState.Running, (await Store.GetTaskInstanceAsync("d", "u", run.RunId))!.State); // the other change won
        Assert.Equal(DagRunState.Running, (await Store.GetDagRunAsync("d", run.RunId))!.State);

        // Inserting a task instance that exists loses too.
        var insert = Assert.Single(await Store.SaveAsync(new StateBatch { TaskInstances = [TaskInstanceChange.Insert(scheduled)] }));
        Assert.Equal(TaskInstanceState.Failed, insert.StoredTaskInstance!.State);
    }

    [Fact]
    public async Task Marking_and_clearing_are_compare_and_set_and_requeue_finished_runs()
    {
        var run = Run("d", Utc(2024, 1, 1), DagRunState.Failed);
        await Store.CreateDagRunAsync(run);
        var failed = new TaskInstance { DagId = "d", TaskId = "a", RunId = run.RunId, State = TaskInstanceState.Failed, TryNumber = 2, MaxTries = 2 };
        var running = failed with { TaskId = "b", State = TaskInstanceState.Running, TryNumber = 1 };
        await Insert(failed);
        await Insert(running);
        var actor = new StateActor("ops", "CLI");

        // A stale view (try 1 where the row has try 2) is refused, naming what the row holds now.
        var stale = await Assert.ThrowsAsync<StateConflictException>(() => Store.MarkTaskInstanceAsync(failed with { TryNumber = 1 }, TaskInstanceState.Success, actor, Utc(2024, 1, 2)));
        Assert.Contains("failed (try 2)", stale.Message, StringComparison.Ordinal);

        var dry = await Store.ClearTaskInstancesAsync(new ClearRequest { DagId = "d", RunIds = [run.RunId], DryRun = true, Actor = actor }, Utc(2024, 1, 2));
        Assert.Equal(["a", "b"], dry.Select(t => t.TaskId));
        Assert.Equal(TaskInstanceState.Failed, (await Store.GetTaskInstanceAsync("d", "a", run.RunId))!.State);

        var cleared = await Store.ClearTaskInstancesAsync(new ClearRequest { DagId = "d", RunIds = [run.RunId], OnlyFailed = true, Retries = new Dictionary<string, int> { ["a"] = 1 }, Actor = actor }, Utc(2024, 1, 2));
        Assert.Equal("a", Assert.Single(cleared).TaskId);
        var a = (await Store.GetTaskInstanceAsync("d", "a", run.RunId))!;
        Assert.Equal((TaskInstanceState.None, 4, "ops via CLI"), (a.State, a.MaxTries, a.ChangedBy));
        Assert.Equal(DagRunState.Queued, (await Store.GetDagRunAsync("d", run.RunId))!.State);

        // Clearing a running task instance is allowed: its scheduler ends the try when it sees the change.
        await Store.ClearTaskInstancesAsync(new ClearRequest { DagId = "d", RunIds = [run.RunId], TaskIds = ["b"], Actor = actor }, Utc(2024, 1, 2));
        Assert.Equal(TaskInstanceState.None, (await Store.GetTaskInstanceAsync("d", "b", run.RunId))!.State);

        var queued = (await Store.GetDagRunAsync("d", run.RunId))!;
        var marked = await Store.MarkDagRunAsync(queued, DagRunState.Success, actor, Utc(2024, 1, 3));
        Assert.Equal(DagRunState.Success, marked.State);
        Assert.All(await Store.ListTaskInstancesAsync("d", run.RunId), t => Assert.Equal((TaskInstanceState.Success, "ops via CLI"), (t.State, t.ChangedBy)));
        await Assert.ThrowsAsync<StateConflictException>(() => Store.MarkDagRunAsync(queued, DagRunState.Failed, actor, Utc(2024, 1, 3)));
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
        await Store.SaveAsync(new StateBatch
        {
            TaskInstances = [TaskInstanceChange.Insert(new TaskInstance { DagId = "d", TaskId = "t", RunId = run.RunId })],
            FinishedTries = [new TaskInstanceTry { DagId = "d", TaskId = "t", RunId = run.RunId, TryNumber = 1 }],
        });
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
    public async Task A_state_batch_that_fails_is_written_not_at_all()
    {
        var run = Run("d", Utc(2024, 1, 1), DagRunState.Running);
        await Store.CreateDagRunAsync(run);
        var ti = new TaskInstance { DagId = "d", TaskId = "t", RunId = run.RunId, State = TaskInstanceState.Running, TryNumber = 1 };
        await Insert(ti);

        // The second task instance violates NOT NULL: the first change and the run's must roll back with it.
        var broken = new TaskInstance { DagId = null!, TaskId = "x", RunId = run.RunId };
        await Assert.ThrowsAnyAsync<Exception>(() => Store.SaveAsync(new StateBatch
        {
            TaskInstances = [new TaskInstanceChange(ti, ti with { State = TaskInstanceState.Success }), TaskInstanceChange.Insert(broken)],
            DagRuns = [new DagRunChange(DagRunState.Running, run with { State = DagRunState.Failed })],
        }));
        Assert.Equal(TaskInstanceState.Running, (await Store.GetTaskInstanceAsync("d", "t", run.RunId))!.State);
        Assert.Equal(DagRunState.Running, (await Store.GetDagRunAsync("d", run.RunId))!.State);
    }

    [Fact]
    public async Task Syncing_dags_records_them_deactivates_the_missing_and_replaces_import_errors()
    {
        await Store.SyncDagsAsync(new DagSync([new DagModel { DagId = "a", IsPaused = true }, new DagModel { DagId = "b" }], [new ImportErrorRecord("/dags/x.py", "bad", Utc(2024, 1, 1))]));
        Assert.True(await Store.SetDagPausedAsync("a", false));
        await Store.SyncDagsAsync(new DagSync([new DagModel { DagId = "a", IsPaused = true }], [new ImportErrorRecord("/dags/y.py", "worse", Utc(2024, 1, 2))]));
        var dags = await Store.ListDagsAsync();
        Assert.Equal([("a", true, false), ("b", false, false)], dags.Select(d => (d.DagId, d.IsActive, d.IsPaused)));
        Assert.Equal("/dags/y.py", Assert.Single(await Store.ListImportErrorsAsync()).FileName);
    }

    [Fact]
    public async Task Dag_warnings_are_replaced_at_each_sync_and_listed_by_dag()
    {
        var first = new DagSync([new DagModel { DagId = "a" }, new DagModel { DagId = "b" }], [])
        {
            Warnings =
            [
                new DagWarningRecord("b", "kubernetes model", "/dags/b.py:3:7: task 't': wrong", Utc(2024, 1, 1)),
                new DagWarningRecord("a", "kubernetes model", "/dags/a.py:9:1: task 'u': wrong too", Utc(2024, 1, 1)),
                new DagWarningRecord("a", "kubernetes model", "/dags/a.py:9:1: task 'u': wrong too", Utc(2024, 1, 1)),
            ],
        };
        await Store.SyncDagsAsync(first);
        Assert.Equal(["a", "b"], (await Store.ListDagWarningsAsync()).Select(w => w.DagId));
        var b = Assert.Single(await Store.ListDagWarningsAsync("b"));
        Assert.Equal(("kubernetes model", "/dags/b.py:3:7: task 't': wrong", Utc(2024, 1, 1)), (b.WarningType, b.Message, b.Timestamp));

        await Store.SyncDagsAsync(new DagSync([new DagModel { DagId = "a" }, new DagModel { DagId = "b" }], []));
        Assert.Empty(await Store.ListDagWarningsAsync());
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
        await Store.UpsertUserAsync(new User("admin", "hash2", "Viewer", Active: false, SessionsValidAfter: Utc(2024, 5, 1, 12)));
        Assert.Equal("Viewer", (await Store.GetUserAsync("admin"))!.Role);
        Assert.Equal(Utc(2024, 5, 1, 12), (await Store.GetUserAsync("admin"))!.SessionsValidAfter);
        Assert.Single(await Store.ListUsersAsync());
        Assert.True(await Store.DeleteUserAsync("admin"));
        Assert.Null(await Store.GetUserAsync("admin"));

        await Store.SetPoolAsync(new Pool("k8s", 4));
        Assert.Equal(2, (await Store.ListPoolsAsync()).Count);
        await Assert.ThrowsAsync<SiroccoException>(() => Store.SetPoolAsync(new Pool("bad", -2)));
        await Store.SetPoolAsync(new Pool("any", -1, "no limit"));
        Assert.True((await Store.ListPoolsAsync()).Single(p => p.Name == "any").Unlimited);
        Assert.True(await Store.DeletePoolAsync("any"));
        Assert.False(await Store.DeletePoolAsync("any"));
        Assert.Contains("cannot be deleted", (await Assert.ThrowsAsync<SiroccoException>(() => Store.DeletePoolAsync(Pool.DefaultName))).Message, StringComparison.Ordinal);
        Assert.Equal([Pool.DefaultName, "k8s"], (await Store.ListPoolsAsync()).Select(p => p.Name));
    }

    [Fact]
    public async Task Clean_purges_finished_runs_before_a_time_keeping_each_dags_latest_and_running_ones()
    {
        for (var day = 1; day <= 3; day++)
        {
            await Store.CreateDagRunAsync(Run("old", Utc(2024, 1, day), DagRunState.Success) with { StartDate = Utc(2024, 1, day, 1), EndDate = Utc(2024, 1, day, 2) });
        }

        await Store.CreateDagRunAsync(Run("old", Utc(2023, 12, 1), DagRunState.Running) with { StartDate = Utc(2023, 12, 1, 1) });
        var first = Run("old", Utc(2024, 1, 1));
        await Store.SaveAsync(new StateBatch { TaskInstances = [TaskInstanceChange.Insert(new TaskInstance { DagId = "old", TaskId = "t", RunId = first.RunId, State = TaskInstanceState.Success, TryNumber = 1 })] });
        await Store.AddEventLogAsync(new EventLogEntry(0, Utc(2023, 6, 1), "cli_test", "me", "cli"));

        var dry = await Store.CleanAsync(Utc(2025, 1, 1), IMetadataStore.CleanableTables, dryRun: true);
        Assert.Equal(2, dry.Single(c => c.Table == "dag_run").Rows);
        Assert.Equal(1, dry.Single(c => c.Table == "task_instance").Rows);
        Assert.Equal(1, dry.Single(c => c.Table == "log").Rows);
        Assert.Equal(4, (await Store.ListDagRunsAsync(new DagRunQuery { DagId = "old" })).Count);

        var done = await Store.CleanAsync(Utc(2025, 1, 1), ["dag_run", "log"], dryRun: false);
        Assert.Equal([("xcom", 0), ("task_instance_try", 0), ("task_instance", 1), ("dag_run", 2), ("log", 1)], done);
        var left = await Store.ListDagRunsAsync(new DagRunQuery { DagId = "old" });
        Assert.Equal([Utc(2024, 1, 3), Utc(2023, 12, 1)], left.Select(r => r.LogicalDate).OrderDescending());
        await Assert.ThrowsAsync<SiroccoException>(() => Store.CleanAsync(Utc(2025, 1, 1), ["session"], dryRun: true));
    }

    [Fact]
    public async Task Pool_stats_count_slots_by_state_across_every_pool_named()
    {
        await Store.SetPoolAsync(new Pool("k8s", 4));
        var run = Run("d", Utc(2024, 1, 1));
        await Store.CreateDagRunAsync(run);
        TaskInstanceChange Ti(string task, string pool, int slots, TaskInstanceState state) =>
            TaskInstanceChange.Insert(new TaskInstance { DagId = "d", TaskId = task, RunId = run.RunId, Pool = pool, PoolSlots = slots, State = state });
        await Store.SaveAsync(new StateBatch
        {
            TaskInstances =
            [
                Ti("a", "k8s", 2, TaskInstanceState.Running),
                Ti("b", "k8s", 1, TaskInstanceState.Queued),
                Ti("c", "k8s", 3, TaskInstanceState.Scheduled),
                Ti("d", "k8s", 5, TaskInstanceState.Success),
                Ti("e", "unknown_pool", 1, TaskInstanceState.Scheduled),
                Ti("f", "default_pool", 1, TaskInstanceState.Running),
            ],
        });

        var stats = (await Store.ListPoolStatsAsync()).ToDictionary(p => p.Name);
        Assert.Equal(new PoolStats("k8s", 4, 2, 1, 3), stats["k8s"]);
        Assert.Equal(new PoolStats("unknown_pool", null, 0, 0, 1), stats["unknown_pool"]); // named by a task, defined nowhere
        Assert.Equal(1, stats["default_pool"].Running);
        Assert.Equal(["default_pool", "k8s", "unknown_pool"], stats.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_audit_log_numbers_lines_in_order_and_filters_them()
    {
        var first = await Store.AddEventLogAsync(new EventLogEntry(0, Utc(2024, 1, 1, 1), "trigger", "alice", "ui", "etl", RunId: "manual__1"));
        var second = await Store.AddEventLogAsync(new EventLogEntry(0, Utc(2024, 1, 1, 2), "api.post_clear_task_instances", "bob", "api", "etl", "load", "manual__1", -1, 2, """{"only_failed":true}"""));
        var third = await Store.AddEventLogAsync(new EventLogEntry(0, Utc(2024, 1, 1, 3), "cli_variables_set", "ops", "cli"));
        Assert.Equal([first.Id + 1, first.Id + 2], new[] { second.Id, third.Id });
        Assert.Equal(second, await Store.GetEventLogAsync(second.Id));
        Assert.Null(await Store.GetEventLogAsync(third.Id + 100));

        var (all, total) = await Store.ListEventLogsAsync(new EventLogQuery());
        Assert.Equal(3, total);
        Assert.Equal([third.Id, second.Id, first.Id], all.Select(e => e.Id));
        var (etl, etlTotal) = await Store.ListEventLogsAsync(new EventLogQuery { DagId = "etl", Limit = 1, Descending = false });
        Assert.Equal((2, first.Id), (etlTotal, Assert.Single(etl).Id));
        Assert.Equal([second.Id], (await Store.ListEventLogsAsync(new EventLogQuery { Owner = "bob" })).Items.Select(e => e.Id));
        Assert.Equal([third.Id, first.Id], (await Store.ListEventLogsAsync(new EventLogQuery { ExcludedEvents = ["api.post_clear_task_instances"] })).Items.Select(e => e.Id));
        Assert.Equal([second.Id], (await Store.ListEventLogsAsync(new EventLogQuery { IncludedEvents = ["api.post_clear_task_instances", "nothing"], After = Utc(2024, 1, 1, 2), Before = Utc(2024, 1, 1, 3) })).Items.Select(e => e.Id));

        // Concurrent writers each get their own number.
        var many = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Store.AddEventLogAsync(new EventLogEntry(0, Utc(2024, 1, 2), "e" + i, "x", "api"))));
        Assert.Equal(20, many.Select(e => e.Id).Distinct().Count());
    }

    private static JobRecord Job(string id, DateTimeOffset beat, string type = "SchedulerJob") => new(id, type, "host-" + id, 100, "running", beat, null, beat);

    [Fact]
    public async Task Jobs_heartbeat_and_a_single_scheduler_database_refuses_a_live_second_one()
    {
        Assert.Null(await Store.GetHeartbeatAsync("SchedulerJob"));
        Assert.Null(await Store.StartJobAsync(Job("a", Utc(2024, 1, 1, 1))));
        Assert.True(await Store.HeartbeatJobAsync("a", Utc(2024, 1, 1, 2)));
        Assert.Equal(Utc(2024, 1, 1, 2), await Store.GetHeartbeatAsync("SchedulerJob"));
        Assert.Null(await Store.GetHeartbeatAsync("BackfillJob"));

        // A second job asking to be alone is refused while the first beat since the cutoff, and told who runs.
        var live = await Store.StartJobAsync(Job("b", Utc(2024, 1, 1, 2)), refuseIfAliveSince: Utc(2024, 1, 1, 1));
        Assert.Equal(("a", "host-a", 100), (live!.Id, live.Hostname, live.Pid));
        Assert.Null(await Store.StartJobAsync(Job("c", Utc(2024, 1, 1, 4)), refuseIfAliveSince: Utc(2024, 1, 1, 3)));
        Assert.Equal(["c", "a"], (await Store.ListJobsAsync("SchedulerJob", runningOnly: true)).Select(j => j.Id));

        await Store.EndJobAsync("c", Utc(2024, 1, 1, 5));
        Assert.False(await Store.HeartbeatJobAsync("c", Utc(2024, 1, 1, 6)));
        Assert.Equal("success", (await Store.ListJobsAsync()).Single(j => j.Id == "c").State);
    }

    [Fact]
    public async Task A_scheduler_lists_only_the_task_instances_changed_from_outside_in_the_active_runs_it_holds()
    {
        var held = Run("d", Utc(2024, 1, 1), DagRunState.Running);
        var other = Run("d", Utc(2024, 1, 2), DagRunState.Running);
        await Store.CreateDagRunAsync(held, claimedBy: "s1");
        await Store.CreateDagRunAsync(other, claimedBy: "s2");
        var running = new TaskInstance { DagId = "d", TaskId = "a", RunId = held.RunId, State = TaskInstanceState.Running, TryNumber = 1 };
        foreach (var ti in new[] { running, running with { TaskId = "b" }, running with { TaskId = "c" }, running with { RunId = other.RunId } })
        {
            await Insert(ti);
        }

        Assert.Empty(await Store.ListTaskInstancesChangedOutsideAsync("s1")); // what the scheduler wrote itself is not listed

        var actor = new StateActor("admin", "web UI");
        await Store.MarkTaskInstanceAsync(running, TaskInstanceState.Failed, actor, Utc(2024, 1, 1, 1));
        await Store.ClearTaskInstancesAsync(new ClearRequest { DagId = "d", RunIds = [held.RunId], TaskIds = ["b"], Actor = actor }, Utc(2024, 1, 1, 1));
        await Store.MarkTaskInstanceAsync(running with { RunId = other.RunId }, TaskInstanceState.Success, actor, Utc(2024, 1, 1, 1));

        var changed = await Store.ListTaskInstancesChangedOutsideAsync("s1");
        Assert.Equal([("a", TaskInstanceState.Failed), ("b", TaskInstanceState.None)], changed.OrderBy(t => t.TaskId, StringComparer.Ordinal).Select(t => (t.TaskId, t.State)));
        Assert.All(changed, t => Assert.Equal("admin via web UI", t.ChangedBy));
        Assert.Equal("a", Assert.Single(await Store.ListTaskInstancesChangedOutsideAsync("s2")).TaskId); // the other run's, by its holder

        // A finished run is no longer compared task by task (its own state says what happened).
        var now = (await Store.GetDagRunAsync("d", held.RunId))!;
        await Store.SaveAsync(new StateBatch { DagRuns = [new DagRunChange(now.State, now with { State = DagRunState.Failed })] });
        Assert.Empty(await Store.ListTaskInstancesChangedOutsideAsync("s1"));
    }

    [Fact]
    public async Task Runs_are_claimed_once_and_a_stale_jobs_runs_are_adopted_by_exactly_one_survivor()
    {
        for (var day = 1; day <= 3; day++)
        {
            await Store.CreateDagRunAsync(Run("d", Utc(2024, 1, day)));
        }

        await Store.CreateDagRunAsync(Run("d", Utc(2024, 1, 9), DagRunState.Success));
        await Store.StartJobAsync(Job("dead", Utc(2024, 1, 1)));
        await Store.StartJobAsync(Job("s1", Utc(2024, 1, 1, 1)));
        await Store.StartJobAsync(Job("s2", Utc(2024, 1, 1, 1)));

        var first = await Store.ClaimRunsAsync("dead", 2);
        Assert.Equal([1, 2], first.Select(r => r.LogicalDate.Day));
        Assert.Equal(3, Assert.Single(await Store.ClaimRunsAsync("s1", 10)).LogicalDate.Day); // finished runs are not claimed
        Assert.Empty(await Store.ClaimRunsAsync("s2", 10));
        Assert.False(await Store.ClaimRunAsync("s2", "d", first[0].RunId));
        Assert.True(await Store.ClaimRunAsync("dead", "d", first[0].RunId)); // its own claim again

        // Both survivors look for stale jobs: only one adopts the dead one's runs.
        var now = Utc(2024, 1, 1, 2);
        Assert.True(await Store.HeartbeatJobAsync("s1", now));
        Assert.True(await Store.HeartbeatJobAsync("s2", now));
        var adoptedBy1 = await Store.AdoptStaleJobsAsync("s1", now.AddSeconds(-30), now);
        var adoptedBy2 = await Store.AdoptStaleJobsAsync("s2", now.AddSeconds(-30), now);
        Assert.Equal("dead", Assert.Single(adoptedBy1).Id);
        Assert.Empty(adoptedBy2);
        Assert.Equal([1, 2, 3], (await Store.ListClaimedRunsAsync("s1")).Select(r => r.LogicalDate.Day).Order());
        Assert.False(await Store.HeartbeatJobAsync("dead", now)); // a dead job that wakes up learns it was adopted

        // A finished run is released; a job that ends cleanly releases what it holds.
        var run3 = (await Store.ListClaimedRunsAsync("s1")).Single(r => r.LogicalDate.Day == 3);
        await Store.SaveAsync(new StateBatch { DagRuns = [new DagRunChange(DagRunState.Queued, run3 with { State = DagRunState.Success })] });
        Assert.Equal(2, (await Store.ListClaimedRunsAsync("s1")).Count);
        await Store.EndJobAsync("s1", now);
        Assert.Equal(2, (await Store.ClaimRunsAsync("s2", 10)).Count);
    }

    [Fact]
    public async Task Concurrent_writers_do_not_lose_updates()
    {
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Store.SetVariable(new Variable($"k{i:D2}", i.ToString(System.Globalization.CultureInfo.InvariantCulture))))));
        Assert.Equal(50, Store.ListVariables().Count);
    }
}
