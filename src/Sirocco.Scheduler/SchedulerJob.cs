using System.Diagnostics;
using Sirocco.Storage;

namespace Sirocco.Scheduler;

/// <summary>The job types Sirocco records, with Airflow's names (<c>airflow jobs check --job-type SchedulerJob</c>).</summary>
public static class JobTypes
{
    /// <summary>A scheduler (<c>sirocco scheduler</c>, <c>sirocco standalone</c>).</summary>
    public const string Scheduler = "SchedulerJob";

    /// <summary>A run to completion in one process (<c>dags test</c>, <c>dags backfill</c>, <c>tasks test</c>).</summary>
    public const string Backfill = "BackfillJob";
}

/// <summary>The scheduler's job: its row and heartbeat, the runs it claims, and the adoption of dead schedulers' runs.</summary>
public sealed partial class SiroccoScheduler
{
    private bool _moreToClaim;

    /// <summary>This scheduler's job id (host, pid and a random suffix): the runs it holds are claimed under it.</summary>
    public string JobId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    private async Task StartJobAsync(string jobType, bool refuseOnSingleSchedulerDatabase, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var job = new JobRecord(JobId, jobType, _options.Hostname, Environment.ProcessId, "running", now, null, now);
        var exclusive = refuseOnSingleSchedulerDatabase && !_store.SupportsManySchedulers;
        var alive = await _store.StartJobAsync(job, exclusive ? now - _options.HealthCheckThreshold : null, ct).ConfigureAwait(false);
        if (alive is not null && alive.Hostname == _options.Hostname && !IsProcessAlive(alive.Pid))
        {
            // The other scheduler on this database ran here and its process is gone (a crash just now): adopt its runs.
            await _store.AdoptStaleJobsAsync(JobId, alive.LatestHeartbeat.AddTicks(1), now, ct).ConfigureAwait(false);
            alive = await _store.StartJobAsync(job, now - _options.HealthCheckThreshold, ct).ConfigureAwait(false);
        }

        if (alive is not null)
        {
            var ago = (now - alive.LatestHeartbeat).TotalSeconds;
            throw new SiroccoException(
                $"Another scheduler is running on this SQLite database: host {alive.Hostname}, pid {alive.Pid}, last heartbeat {AirflowTime.IsoFormat(alive.LatestHeartbeat)} ({ago:0} s ago). "
                + "SQLite supports one scheduler at a time: stop that one, or use PostgreSQL ([database] sql_conn = postgresql://user:password@host:5432/db) to run several.");
        }
    }

    /// <summary>
    /// Beats every <c>[scheduler] scheduler_heartbeat_sec</c> (at most a third of the health-check threshold) until
    /// <paramref name="loop"/> is cancelled. When the job is no longer running (another scheduler found it stale and
    /// adopted its runs) it cancels <paramref name="loop"/> and returns true. A database error is retried at the next
    /// beat, and written to the scheduler's echo when it has one.
    /// </summary>
    private async Task<bool> HeartbeatAsync(CancellationTokenSource loop, CancellationToken shutdown)
    {
        _ = shutdown;
        var interval = TimeSpan.FromTicks(Math.Min(_options.HeartbeatInterval.Ticks, _options.HealthCheckThreshold.Ticks / 3));
        while (!loop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _time, loop.Token).ConfigureAwait(false);
                SchedulerMetrics.Beat();
                if (!await _store.HeartbeatJobAsync(JobId, _time.GetUtcNow(), loop.Token).ConfigureAwait(false))
                {
                    await loop.CancelAsync().ConfigureAwait(false);
                    return true;
                }
            }
            catch (OperationCanceledException) when (loop.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception e) when (IsDatabaseFault(e))
            {
                _options.LogEcho?.Invoke($"scheduler heartbeat failed, retried in {interval.TotalSeconds:0.#} s: {e.Message}");
                SchedulerLog.HeartbeatFailed(_log, interval.TotalSeconds, e.Message);
            }
        }

        return false;
    }

    private static bool IsProcessAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Adopts the runs of schedulers whose heartbeat is stale, takes runs nobody holds (a bounded number per pass, so
    /// that several schedulers share them), and activates the runs this scheduler holds but has not loaded yet. Returns
    /// every active run this scheduler holds.
    /// </summary>
    private async Task<List<DagRun>> ClaimRunsAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        await _store.AdoptStaleJobsAsync(JobId, now - _options.HealthCheckThreshold, now, ct).ConfigureAwait(false);
        var claimed = await _store.ClaimRunsAsync(JobId, _options.MaxRunsToClaimPerLoop, ct).ConfigureAwait(false);
        _moreToClaim = claimed.Count >= _options.MaxRunsToClaimPerLoop;
        var held = (await _store.ListClaimedRunsAsync(JobId, ct).ConfigureAwait(false)).ToList();
        foreach (var run in held.OrderBy(r => r.LogicalDate))
        {
            if (!_runs.ContainsKey((run.DagId, run.RunId)) && _dags.ContainsKey(run.DagId))
            {
                await ActivateRunAsync(run, ct).ConfigureAwait(false);
            }
        }

        return held;
    }
}
