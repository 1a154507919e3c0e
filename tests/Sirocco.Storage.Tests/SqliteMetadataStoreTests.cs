namespace Sirocco.Storage.Tests;

/// <summary>The contract suite on SQLite, one database file per test.</summary>
public sealed class SqliteMetadataStoreTests : MetadataStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sirocco-store-").FullName;

    protected override Task<string> CreateDatabaseAsync() => Task.FromResult($"sqlite:///{Path.Combine(_dir, "sirocco.db")}");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void The_database_is_one_file_in_wal_mode()
    {
        Assert.True(File.Exists(Path.Combine(_dir, "sirocco.db")));
        Assert.True(File.Exists(Path.Combine(_dir, "sirocco.db-wal")) || File.Exists(Path.Combine(_dir, "sirocco.db-shm")));
    }

    [Fact]
    public async Task A_second_store_on_the_same_file_sees_the_first_ones_writes()
    {
        Store.SetVariable(new Sirocco.Variables.Variable("shared", "yes"));
        await using var second = MetadataStore.Open($"sqlite:///{Path.Combine(_dir, "sirocco.db")}");
        Assert.Equal("yes", second.GetVariable("shared")!.Value);
    }

    [Theory]
    [InlineData("mysql://localhost/airflow", "is not supported")]
    [InlineData("postgresql+asyncpg://localhost/airflow", "is not supported")]
    [InlineData("sqlite:///", "give a file path")]
    public void Unsupported_urls_are_named(string url, string message)
    {
        var e = Assert.Throws<SiroccoException>(() => MetadataStore.Open(url));
        Assert.Contains(url, e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
