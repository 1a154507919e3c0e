using System.Data.Common;

namespace Sirocco.Storage;

/// <summary>
/// Jobs and run claims: each scheduler (or backfill) has a job row with its heartbeat, and holds the runs it claimed.
/// A job whose heartbeat is stale is adopted by exactly one survivor: the job row's compare-and-set decides who.
/// </summary>
internal abstract partial class SqlMetadataStore
{
    public abstract bool SupportsManySchedulers { get; }

    /// <summary>What a claiming <c>SELECT</c> ends with: <c>FOR UPDATE SKIP LOCKED</c> where the database has row locks.</summary>
    protected virtual string SkipLocked => string.Empty;

    public async Task<JobRecord?> StartJobAsync(JobRecord job, DateTimeOffset? refuseIfAliveSince = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (refuseIfAliveSince is { } since)
        {
            var alive = await QueryAsync(conn, tx, SqlJobSelect + " WHERE job_type = @type AND state = 'running' AND latest_heartbeat >= @since AND id <> @id ORDER BY latest_heartbeat DESC", [("type", job.JobType), ("since", Time(since)), ("id", job.Id)], ReadJob, ct).ConfigureAwait(false);
            if (alive.Count > 0)
            {
                return alive[0];
            }
        }

        await ExecAsync(conn, tx, "INSERT INTO job (id, job_type, hostname, pid, state, start_date, end_date, latest_heartbeat) VALUES (@id, @type, @host, @pid, 'running', @start, NULL, @beat)", [("id", job.Id), ("type", job.JobType), ("host", job.Hostname), ("pid", job.Pid), ("start", Time(job.StartDate)), ("beat", Time(job.LatestHeartbeat))], ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return null;
    }

    public async Task<bool> HeartbeatJobAsync(string jobId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var conn = await OpenForHeartbeatAsync(cancellationToken).ConfigureAwait(false);
        return await ExecAsync(conn, null, "UPDATE job SET latest_heartbeat = @t WHERE id = @id AND state = 'running'", [("t", Time(at)), ("id", jobId)], cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>
    /// A connection for a heartbeat. A server database keeps one apart from the pool, so that a pool busy with
    /// thousands of tries' writes never makes a live scheduler look dead to the others.
    /// </summary>
    protected virtual Task<DbConnection> OpenForHeartbeatAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    public async Task EndJobAsync(string jobId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var n = await ExecAsync(conn, tx, "UPDATE job SET state = 'success', end_date = @t WHERE id = @id AND state = 'running'", [("t", Time(at)), ("id", jobId)], ct).ConfigureAwait(false);
        if (n > 0)
        {
            // Only a job that still owns its runs releases them; an adopted one's runs are the adopter's now.
            await ExecAsync(conn, tx, "UPDATE dag_run SET claimed_by = NULL WHERE claimed_by = @id", [("id", jobId)], ct).ConfigureAwait(false);
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<JobRecord>> ListJobsAsync(string? jobType = null, bool runningOnly = false, CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        if (jobType is not null)
        {
            where.Add("job_type = @type");
            args.Add(("type", jobType));
        }

        if (runningOnly)
        {
            where.Add("state = 'running'");
        }

        var sql = SqlJobSelect + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty) + " ORDER BY latest_heartbeat DESC";
        return QueryAsync(sql, [.. args], ReadJob, cancellationToken);
    }

    public async Task<IReadOnlyList<JobRecord>> AdoptStaleJobsAsync(string adopterId, DateTimeOffset staleBefore, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var adopted = new List<JobRecord>();
        var stale = await QueryAsync(conn, tx, SqlJobSelect + " WHERE state = 'running' AND latest_heartbeat < @cutoff AND id <> @me", [("cutoff", Time(staleBefore)), ("me", adopterId)], ReadJob, ct).ConfigureAwait(false);
        foreach (var job in stale)
        {
            // The compare-and-set on the job row decides which survivor adopts it.
            var won = await ExecAsync(conn, tx, "UPDATE job SET state = 'failed', end_date = @now WHERE id = @id AND state = 'running' AND latest_heartbeat < @cutoff", [("now", Time(now)), ("id", job.Id), ("cutoff", Time(staleBefore))], ct).ConfigureAwait(false);
            if (won > 0)
            {
                await ExecAsync(conn, tx, "UPDATE dag_run SET claimed_by = @me WHERE claimed_by = @id", [("me", adopterId), ("id", job.Id)], ct).ConfigureAwait(false);
                adopted.Add(job);
            }
        }

        // Claims of a job that is not running (it ended, or died before registering: a run created for it longer ago
        // than the threshold): take them too.
        await ExecAsync(
            conn,
            tx,
            """
            UPDATE dag_run SET claimed_by = @me
            WHERE claimed_by IS NOT NULL AND claimed_by <> @me AND state IN ('queued', 'running')
              AND NOT EXISTS (SELECT 1 FROM job WHERE job.id = dag_run.claimed_by AND job.state = 'running')
              AND (EXISTS (SELECT 1 FROM job WHERE job.id = dag_run.claimed_by) OR queued_at < @cutoff)
            """,
            [("me", adopterId), ("cutoff", Time(staleBefore))],
            ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return adopted;
    }

    public async Task<IReadOnlyList<DagRun>> ClaimRunsAsync(string jobId, int limit, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var free = await QueryAsync(conn, tx, SqlDagRunSelect + " WHERE claimed_by IS NULL AND state IN ('queued', 'running') ORDER BY logical_date, dag_id, run_id LIMIT @n" + SkipLocked, [("n", limit)], ReadDagRun, ct).ConfigureAwait(false);
        var claimed = new List<DagRun>(free.Count);
        foreach (var run in free)
        {
            if (await ExecAsync(conn, tx, SqlClaim, [("me", jobId), ("dag", run.DagId), ("run", run.RunId)], ct).ConfigureAwait(false) > 0)
            {
                claimed.Add(run);
            }
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
        return claimed;
    }

    public async Task<bool> ClaimRunAsync(string jobId, string dagId, string runId, CancellationToken cancellationToken = default) =>
        await ExecAsync(SqlClaim, [("me", jobId), ("dag", dagId), ("run", runId)], cancellationToken).ConfigureAwait(false) > 0;

    public Task<IReadOnlyList<DagRun>> ListClaimedRunsAsync(string jobId, CancellationToken cancellationToken = default) =>
        QueryAsync(SqlDagRunSelect + " WHERE claimed_by = @me AND state IN ('queued', 'running')", [("me", jobId)], ReadDagRun, cancellationToken);

    public async Task<DateTimeOffset?> GetHeartbeatAsync(string jobType, CancellationToken cancellationToken = default) =>
        (await ListJobsAsync(jobType, runningOnly: true, cancellationToken).ConfigureAwait(false)).FirstOrDefault()?.LatestHeartbeat;

    private const string SqlClaim = "UPDATE dag_run SET claimed_by = @me WHERE dag_id = @dag AND run_id = @run AND (claimed_by IS NULL OR claimed_by = @me)";

    private const string SqlJobSelect = "SELECT id, job_type, hostname, pid, state, start_date, end_date, latest_heartbeat FROM job";

    private static JobRecord ReadJob(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), ParseTime(r, 5)!.Value, ParseTime(r, 6), ParseTime(r, 7)!.Value);
}
