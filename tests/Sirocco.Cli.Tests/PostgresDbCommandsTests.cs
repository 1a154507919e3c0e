using System.Diagnostics;
using Sirocco.Testing;

namespace Sirocco.Cli.Tests;

/// <summary>One PostgreSQL server for the whole test assembly.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : PostgresCollectionDefinition;

/// <summary><c>sirocco db migrate</c> and <c>db check</c> against PostgreSQL, in child processes like a user runs them.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresDbCommandsTests(PostgresServer server) : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-cli-pg-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private async Task<(int Code, string Out, string Err)> Sirocco(Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sirocco.dll"));
        args.ToList().ForEach(psi.ArgumentList.Add);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("SIROCCO", StringComparison.Ordinal) || k.StartsWith("AIRFLOW", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(name);
        }

        psi.Environment["SIROCCO_HOME"] = _home;
        env.ToList().ForEach(kv => psi.Environment[kv.Key] = kv.Value);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Db_migrate_and_check_work_on_postgresql_by_either_option_name()
    {
        // The latest schema version is the number of migrations the store carries.
        var latest = typeof(Storage.MetadataStore).Assembly.GetManifestResourceNames().Count(n => n.StartsWith("Migrations/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal));
        var all = string.Join(", ", Enumerable.Range(1, latest));
        var url = await server.CreateDatabaseAsync();
        var sqlConn = new Dictionary<string, string> { ["SIROCCO__DATABASE__SQL_CONN"] = url };
        var check = await Sirocco(sqlConn, "db", "check");
        Assert.Equal((0, $"Connection successful; schema version {latest}.\n", string.Empty), check);

        // check migrated on first use; migrate has nothing left to do. A new database through Airflow's option name
        // and SQLAlchemy's driver spelling gets every migration from migrate.
        Assert.Equal((0, $"Database is up to date (schema version {latest}).\n", string.Empty), await Sirocco(sqlConn, "db", "migrate"));
        var airflowName = new Dictionary<string, string>
        {
            ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = (await server.CreateDatabaseAsync()).Replace("postgresql://", "postgresql+psycopg2://", StringComparison.Ordinal),
        };
        Assert.Equal((0, $"Applied migrations {all}; schema version {latest}.\n", string.Empty), await Sirocco(airflowName, "db", "migrate"));
        Assert.Equal((0, $"Connection successful; schema version {latest}.\n", string.Empty), await Sirocco(airflowName, "db", "check"));

        // The store is PostgreSQL, not a SQLite file in the home directory.
        Assert.Equal(0, (await Sirocco(sqlConn, "variables", "set", "where", "postgres")).Code);
        Assert.Equal((0, "postgres\n", string.Empty), await Sirocco(sqlConn, "variables", "get", "where"));
        Assert.False(File.Exists(Path.Combine(_home, "sirocco.db")));
    }

    [Fact]
    public async Task A_wrong_password_fails_check_without_showing_the_password()
    {
        var url = (await server.CreateDatabaseAsync()).Replace(Uri.EscapeDataString(server.Password), "wrong-s3cret", StringComparison.Ordinal);
        var (code, stdout, stderr) = await Sirocco(new() { ["SIROCCO__DATABASE__SQL_CONN"] = url }, "db", "check");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: [database] sql_conn 'postgresql://sirocco:***@127.0.0.1:{server.Port}/", stderr, StringComparison.Ordinal);
        Assert.Contains("cannot connect", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-s3cret", stdout + stderr, StringComparison.Ordinal);
    }
}
