using System.Reflection;
using Microsoft.Data.Sqlite;
using Sirocco.Storage;

namespace Sirocco.Scheduler.Tests;

/// <summary>A metadata database that fails a pass: the pass's changes are kept and written by the next one.</summary>
public class DatabaseFaultTests
{
    private static readonly DateTimeOffset Now = new(2024, 1, 3, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Changes_of_a_pass_the_database_failed_are_written_by_the_next_pass_and_every_task_runs_once()
    {
        await using var f = new Fixture(Now);
        var a = ScriptedOperator.Ok("a");
        var b = ScriptedOperator.Ok("b");
        _ = a >> b;
        var dag = new Dag("faulty") { Schedule = "@once", StartDate = Now.AddDays(-1), Tasks = { a, b } };

        // The first start of tries (which also carries the new run's task instances) and the first plain write fail,
        // as a dropped connection does, after the database has done nothing.
        var store = FaultyStore.Wrap(f.Store, ["StartTriesAsync", "SaveAsync"]);
        var scheduler = new SiroccoScheduler(store, new StaticDagSource([dag]), f.Services, f.Options, renderer: null, time: f.Time);
        var failures = 0;
        for (var pass = 0; pass < 10; pass++)
        {
            try
            {
                await scheduler.StepAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (SqliteException e) when (e.Message.Contains("injected", StringComparison.Ordinal))
            {
                failures++;
            }
        }

        Assert.Equal(2, failures);
        var run = Assert.Single(await f.RunsAsync("faulty"));
        Assert.Equal(DagRunState.Success, run.State);
        foreach (var task in new[] { "a", "b" })
        {
            var attempt = Assert.Single(await f.Store.ListTriesAsync("faulty", task, run.RunId));
            Assert.Equal(TaskInstanceState.Success, attempt.State);
            Assert.Equal(1, attempt.TryNumber);
        }
    }

    [Fact]
    public async Task The_scheduler_loop_retries_a_pass_the_database_failed_and_logs_each_retry()
    {
        await using var f = new Fixture(Now);
        var dag = new Dag("retried") { Schedule = "@once", StartDate = DateTimeOffset.UtcNow.AddDays(-1), Tasks = { ScriptedOperator.Ok("only") } };
        var echo = new List<string>();
        var options = f.Options with { LogEcho = line => { lock (echo) { echo.Add(line); } } };
        var store = FaultyStore.Wrap(f.Store, ["StartTriesAsync", "StartTriesAsync"]);
        var scheduler = new SiroccoScheduler(store, new StaticDagSource([dag]), f.Services, options, renderer: null, time: TimeProvider.System);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scheduler.TaskInstanceFinished += ti => finished.TrySetResult();

        var loop = scheduler.RunAsync(stop.Token);
        await finished.Task.WaitAsync(stop.Token);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));

        string[] retries;
        lock (echo)
        {
            retries = [.. echo.Where(l => l.StartsWith("scheduler pass failed on the metadata database", StringComparison.Ordinal))];
        }

        Assert.Equal(2, retries.Length);
        Assert.Contains("(attempt 1 of 10), retried in 1 s: SqliteException: injected failure of StartTriesAsync", retries[0], StringComparison.Ordinal);
        Assert.Contains("(attempt 2 of 10), retried in 2 s", retries[1], StringComparison.Ordinal);
        var run = Assert.Single(await f.RunsAsync("retried"));
        Assert.Equal(TaskInstanceState.Success, Assert.Single(await f.Store.ListTriesAsync("retried", "only", run.RunId)).State);
    }
}

/// <summary>
/// The real store, whose named methods fail once each time they are listed (before reaching the database), with the
/// error a database driver raises.
/// </summary>
public class FaultyStore : DispatchProxy
{
    private IMetadataStore _inner = null!;
    private readonly List<string> _failures = [];

    internal static IMetadataStore Wrap(IMetadataStore inner, IEnumerable<string> failures)
    {
        var proxy = Create<IMetadataStore, FaultyStore>();
        var self = (FaultyStore)(object)proxy;
        self._inner = inner;
        self._failures.AddRange(failures);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        lock (_failures)
        {
            if (_failures.Remove(targetMethod.Name))
            {
                var error = new SqliteException($"injected failure of {targetMethod.Name}", 10);
                return targetMethod.ReturnType.IsGenericType
                    ? typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!.MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]).Invoke(null, [error])
                    : Task.FromException(error);
            }
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
