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
