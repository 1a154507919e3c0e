using Sirocco.Testing;

namespace Sirocco.Storage.Tests;

/// <summary>One PostgreSQL server for the whole test assembly.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : PostgresCollectionDefinition;

/// <summary>The contract suite on PostgreSQL, a fresh database per test on the assembly's server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMetadataStoreTests(PostgresServer server) : MetadataStoreContract
{
    protected override Task<string> CreateDatabaseAsync() => server.CreateDatabaseAsync();

    [Fact]
    public async Task Both_databases_run_the_same_migration_scripts()
    {
        Assert.Equal(SqlMetadataStore.Migrations().Max(m => m.Version), await Store.GetSchemaVersionAsync());
        Assert.Equal(["0001_initial.sql", "0002_task_instance_run_index.sql", "0003_job_heartbeat.sql"], SqlMetadataStore.Migrations().Select(m => m.Name).Take(3));
    }

    [Fact]
    public async Task A_second_store_on_the_same_database_sees_the_first_ones_writes()
    {
        var url = await server.CreateDatabaseAsync();
        await using var first = MetadataStore.Open(url);
        await first.MigrateAsync();
        first.SetVariable(new Sirocco.Variables.Variable("shared", "yes"));
        await using var second = MetadataStore.Open(url);
        Assert.Empty(await second.MigrateAsync());
        Assert.Equal("yes", second.GetVariable("shared")!.Value);
    }

    [Fact]
    public async Task Processes_starting_together_on_a_new_database_migrate_it_once()
    {
        var url = await server.CreateDatabaseAsync();
        var stores = Enumerable.Range(0, 4).Select(_ => MetadataStore.Open(url)).ToList();
        try
        {
            var applied = await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync())));
            var latest = SqlMetadataStore.Migrations().Max(m => m.Version);
            Assert.Equal(latest, applied.Sum(a => a.Count)); // every migration applied exactly once, by one of them
            Assert.All(stores, s => Assert.Equal(latest, s.GetSchemaVersionAsync().GetAwaiter().GetResult()));
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_store_never_opens_more_connections_than_its_pool_allows()
    {
        var url = await server.CreateDatabaseAsync();
        var database = url[(url.LastIndexOf('/') + 1)..];
        await using var store = MetadataStore.Open(url, options: new MetadataStoreOptions { PoolSize = 2, MaxOverflow = 1 });
        await store.MigrateAsync();
        var run = new DagRun { DagId = "d", RunId = "r", RunType = DagRunType.Manual, LogicalDate = DateTimeOffset.UnixEpoch, DataInterval = new Sirocco.Scheduling.DataInterval(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch), State = DagRunState.Running };
        await store.CreateDagRunAsync(run);
        var tis = Enumerable.Range(0, 300).Select(i => new TaskInstance { DagId = "d", TaskId = $"t{i}", RunId = "r", State = TaskInstanceState.Running, TryNumber = 1 }).ToList();
        await store.SaveAsync(new StateBatch { TaskInstances = [.. tis.Select(TaskInstanceChange.Insert)] });

        // 300 tries writing and 300 readers at once, against a pool of 3.
        var work = tis.Select(ti => Task.Run(() => store.RecordTryExternalIdAsync(ti, "ns/" + ti.TaskId)))
            .Concat(tis.Select(ti => Task.Run(async () => (await store.GetTaskInstanceAsync("d", ti.TaskId, "r")) is not null)))
            .ToList();
        var peak = 0;
        await using var observer = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(PostgresUrl.ToConnectionString(server.Url("postgres"))) { Pooling = false }.ConnectionString);
        await observer.OpenAsync();
        // Sampled at least once after the work ends too: the pool keeps its idle connections open, so a fast machine that
        // finishes before the first sample still shows them (a run that sampled nothing failed CI with a peak of 0).
        bool done;
        do
        {
            done = work.All(t => t.IsCompleted);
            await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = @db", observer);
            count.Parameters.AddWithValue("db", database);
            peak = Math.Max(peak, Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }
        while (!done);

        Assert.All(await Task.WhenAll(work).WaitAsync(TimeSpan.FromSeconds(60)), Assert.True);
        Assert.InRange(peak, 1, 3);
    }

    [Fact]
    public async Task A_pool_that_stays_busy_fails_a_waiting_caller_with_the_options_to_raise()
    {
        var url = await server.CreateDatabaseAsync();
        await using var store = MetadataStore.Open(url + "?connect_timeout=1", options: new MetadataStoreOptions { PoolSize = 1, MaxOverflow = 0 });
        await store.MigrateAsync();

        // The only connection is held inside a transaction (the decision of which tries to start) until released.
        using var release = new ManualResetEventSlim();
        using var holding = new ManualResetEventSlim();
        var holder = Task.Run(() => store.StartTriesAsync(new StateBatch(), _ =>
        {
            holding.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return new StateBatch();
        }));
        Assert.True(holding.Wait(TimeSpan.FromSeconds(30)));

        var e = await Assert.ThrowsAsync<SiroccoException>(() => store.ListDagsAsync()).WaitAsync(TimeSpan.FromSeconds(30));
        release.Set();
        await holder.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("all 1 connections of this process's pool stayed busy", e.Message, StringComparison.Ordinal);
        Assert.Contains("[database] sql_alchemy_pool_size = 1 + sql_alchemy_max_overflow = 0", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Password, e.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ListDagsAsync()); // and the pool serves again once its connection is back
    }

    [Fact]
    public async Task A_wrong_password_is_named_without_the_password()
    {
        var url = server.Url("postgres").Replace(Uri.EscapeDataString(server.Password), "not-the-password", StringComparison.Ordinal);
        await using var store = MetadataStore.Open(url);
        var e = await Assert.ThrowsAsync<SiroccoException>(() => store.GetSchemaVersionAsync());
        Assert.Contains($"postgresql://sirocco:***@127.0.0.1:{server.Port}/postgres", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot connect", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", e.Message, StringComparison.Ordinal);
    }
}
