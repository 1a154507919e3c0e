namespace Sirocco.Scheduler.Tests;

public class DagSyncTests
{
    [Fact]
    public async Task Sync_records_dags_keeps_paused_flags_deactivates_vanished_dags_and_replaces_import_errors()
    {
        await using var f = new Fixture(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var a = new Dag("a") { FileLoc = "/dags/a.cs", Tags = ["x"], Tasks = { new EmptyOperator("t") { Owner = "team-a" } } };
        var b = new Dag("b") { FileLoc = "/dags/b.cs", IsPausedUponCreation = true, Tasks = { new EmptyOperator("t") } };
        var now = f.Time.GetUtcNow();
        await SiroccoScheduler.SyncDagsAsync(f.Store, new DagCollection(new Dictionary<string, Dag> { ["a"] = a, ["b"] = b }, [new DagFileError("/dags/bad.cs", "bad.cs(1,1): error")]), f.Options, now, default);

        var stored = (await f.Store.ListDagsAsync()).ToDictionary(d => d.DagId);
        Assert.False(stored["a"].IsPaused); // DagsArePausedAtCreation is false in the fixture
        Assert.True(stored["b"].IsPaused); // the DAG's own setting wins
        Assert.Equal("team-a", stored["a"].Owners);
        Assert.Equal(["x"], stored["a"].Tags);
        Assert.Single(await f.Store.ListImportErrorsAsync());

        await f.Store.SetDagPausedAsync("a", true);
        await SiroccoScheduler.SyncDagsAsync(f.Store, new DagCollection(new Dictionary<string, Dag> { ["a"] = a }, []), f.Options, now, default);
        stored = (await f.Store.ListDagsAsync()).ToDictionary(d => d.DagId);
        Assert.True(stored["a"].IsPaused); // a user's pause survives re-parsing
        Assert.False(stored["b"].IsActive); // its file is gone: inactive, history kept
        Assert.Empty(await f.Store.ListImportErrorsAsync()); // the broken file was fixed or removed
    }
}
