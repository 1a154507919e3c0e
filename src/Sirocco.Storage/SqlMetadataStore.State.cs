using System.Data.Common;
using System.Text.Json;

namespace Sirocco.Storage;

/// <summary>
/// The state transitions: every write of runs and task instances, each a compare-and-set on the state (and try number)
/// the writer saw, in one transaction. This is the only code that writes those rows.
/// </summary>
internal abstract partial class SqlMetadataStore
{
    public async Task SyncDagsAsync(DagSync sync, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sync);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var present = sync.Dags.Select(d => d.DagId).ToHashSet(StringComparer.Ordinal);
        foreach (var dag in sync.Dags)
        {
            await ExecAsync(conn, tx, SqlDagUpsert, DagParameters(dag), ct).ConfigureAwait(false);
        }

        foreach (var id in await QueryAsync(conn, tx, "SELECT dag_id FROM dag WHERE is_active = 1", [], r => r.GetString(0), ct).ConfigureAwait(false))
        {
            if (!present.Contains(id))
            {
                await ExecAsync(conn, tx, "UPDATE dag SET is_active = 0 WHERE dag_id = @id", [("id", id)], ct).ConfigureAwait(false);
            }
        }

        var errorFiles = sync.ImportErrors.Select(e => e.FileName).ToHashSet(StringComparer.Ordinal);
        foreach (var file in await QueryAsync(conn, tx, "SELECT filename FROM import_error", [], r => r.GetString(0), ct).ConfigureAwait(false))
        {
            if (!errorFiles.Contains(file))
            {
                await ExecAsync(conn, tx, "DELETE FROM import_error WHERE filename = @f", [("f", file)], ct).ConfigureAwait(false);
            }
        }

        foreach (var e in sync.ImportErrors)
        {
            await ExecAsync(conn, tx, SqlImportErrorUpsert, [("f", e.FileName), ("m", e.Message), ("t", Time(e.Timestamp))], ct).ConfigureAwait(false);
        }

        await ExecAsync(conn, tx, "DELETE FROM dag_warning", [], ct).ConfigureAwait(false);
        foreach (var w in sync.Warnings.DistinctBy(w => (w.DagId, w.WarningType, w.Message)))
        {
            await ExecAsync(conn, tx, "INSERT INTO dag_warning (dag_id, warning_type, message, timestamp) VALUES (@d, @w, @m, @t)", [("d", w.DagId), ("w", w.WarningType), ("m", w.Message), ("t", Time(w.Timestamp))], ct).ConfigureAwait(false);
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task CreateDagRunAsync(DagRun run, string? claimedBy = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (await FindRunByKeyAsync(conn, tx, run, ct).ConfigureAwait(false) is { } existing)
        {
            throw RunExists(run, existing);
        }

        var inserted = await ExecAsync(conn, tx, SqlDagRunInsert, [.. DagRunParameters(run), ("claim", claimedBy)], ct).ConfigureAwait(false);
        if (inserted == 0)
        {
            // Another writer inserted it between the lookup and the insert.
            var winner = await FindRunByKeyAsync(conn, tx, run, ct).ConfigureAwait(false);
            throw RunExists(run, winner ?? run);
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StateConflict>> SaveAsync(StateBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.IsEmpty)
        {
            return [];
        }

        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var conflicts = await ApplyAsync(conn, tx, batch, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return conflicts;
    }

    public async Task<IReadOnlyList<StateConflict>> StartTriesAsync(StateBatch pending, Func<SlotUsage, StateBatch> decide, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(decide);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var conflicts = pending.IsEmpty ? [] : (await ApplyAsync(conn, tx, pending, ct).ConfigureAwait(false)).ToList();
        await LockForStartAsync(conn, tx, ct).ConfigureAwait(false);
        var rows = await QueryAsync(conn, tx, SqlSlotUsage, [], r => (Kind: r.GetString(0), Key: r.GetString(1), Count: Convert.ToInt32(r.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
        var usage = new SlotUsage(
            rows.Where(r => r.Kind == "pool").ToDictionary(r => r.Key, r => r.Count, StringComparer.Ordinal),
            rows.Where(r => r.Kind == "dag").ToDictionary(r => r.Key, r => r.Count, StringComparer.Ordinal))
        {
            InstancesPerTask = rows.Where(r => r.Kind == "task").ToDictionary(r => r.Key, r => r.Count, StringComparer.Ordinal),
            InstancesPerTaskRun = rows.Where(r => r.Kind == "taskrun").ToDictionary(r => r.Key, r => r.Count, StringComparer.Ordinal),
        };
        var batch = decide(usage);
        if (!batch.IsEmpty)
        {
            conflicts.AddRange(await ApplyAsync(conn, tx, batch, ct).ConfigureAwait(false));
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
        return conflicts;
    }

    /// <summary>
    /// Serializes starting tries across schedulers for the rest of the transaction (a database whose write
    /// transactions are already serialized, such as SQLite, needs nothing).
    /// </summary>
    protected virtual Task LockForStartAsync(DbConnection conn, DbTransaction tx, CancellationToken ct) => Task.CompletedTask;

    private async Task<IReadOnlyList<StateConflict>> ApplyAsync(DbConnection conn, DbTransaction tx, StateBatch batch, CancellationToken ct)
    {
        // First every compare-and-set, then what depends on winning (XComs cleared, try records), then the finished tries.
        // Rows are changed in key order, the order tries' own writes use too (GroupCommit): two transactions changing
        // some of the same task instances never lock them in opposite orders (a deadlock on PostgreSQL).
        var tiChanges = batch.TaskInstances.OrderBy(c => RowOrder(c.After.DagId, c.After.TaskId, c.After.RunId, c.After.MapIndex), StringComparer.Ordinal).ToList();
        var runChanges = batch.DagRuns.ToList();
        var sets = new List<(string Sql, (string, object?)[] Args)>(tiChanges.Count + runChanges.Count);
        sets.AddRange(tiChanges.Select(c => c.Before is null ? (SqlTaskInstanceInsert, TaskInstanceParameters(c.After)) : (SqlTaskInstanceSet, TaskInstanceSetParameters(c.Before, c.After))));
        sets.AddRange(runChanges.Select(c => (SqlDagRunSet, DagRunSetParameters(c.ExpectedState, c.After))));
        var affected = await ExecManyAsync(conn, tx, sets, ct).ConfigureAwait(false);

        var conflicts = new List<StateConflict>();
        var follow = new List<(string Sql, (string, object?)[] Args)>();
        for (var i = 0; i < tiChanges.Count; i++)
        {
            var c = tiChanges[i];
            if (affected[i] == 0)
            {
                // A mapped task's expansion renames its unmapped instance (-1) to index 0: the row it expected is the old one.
                var stored = c.Before is { } b && b.MapIndex != c.After.MapIndex
                    ? await GetTaskInstanceAsync(conn, tx, b, ct).ConfigureAwait(false) ?? await GetTaskInstanceAsync(conn, tx, c.After, ct).ConfigureAwait(false)
                    : await GetTaskInstanceAsync(conn, tx, c.After, ct).ConfigureAwait(false);
                conflicts.Add(new StateConflict(c, stored, null, null));
                continue;
            }

            if (c.ClearXComs)
            {
                follow.Add((SqlXComDelete, KeyParameters(c.After)));
            }

            if (c.Try is { } t)
            {
                follow.Add((SqlTryUpsert, TryParameters(t)));
            }
        }

        for (var i = 0; i < runChanges.Count; i++)
        {
            if (affected[tiChanges.Count + i] == 0)
            {
                var c = runChanges[i];
                var stored = await FindRunAsync(conn, tx, c.After.DagId, c.After.RunId, ct).ConfigureAwait(false);
                conflicts.Add(new StateConflict(null, null, c, stored));
            }
        }

        follow.AddRange(batch.FinishedTries.Select(t => (SqlFinishedTryUpsert, TryParameters(t))));
        await ExecManyAsync(conn, tx, follow, ct).ConfigureAwait(false);
        if (tiChanges.Count(c => c.Before is null) >= BulkInsertRows)
        {
            await AfterBulkInsertAsync(conn, tx, ct).ConfigureAwait(false);
        }

        return conflicts;
    }

    public async Task<IReadOnlyList<TaskInstance>> ClearTaskInstancesAsync(ClearRequest request, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ct = cancellationToken;
        var wanted = request.TaskIds?.ToHashSet(StringComparer.Ordinal);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var cleared = new List<TaskInstance>();
        foreach (var runId in request.RunIds)
        {
            var run = await FindRunAsync(conn, tx, request.DagId, runId, ct).ConfigureAwait(false)
                ?? throw new StateConflictException($"DAG run {runId} of {request.DagId} no longer exists");
            var any = false;
            foreach (var ti in await QueryAsync(conn, tx, SqlTaskInstanceSelect + " WHERE dag_id = @dag AND run_id = @run ORDER BY task_id, map_index", [("dag", request.DagId), ("run", runId)], ReadTaskInstance, ct).ConfigureAwait(false))
            {
                if ((wanted is not null && !wanted.Contains(ti.TaskId))
                    || (request.OnlyFailed && ti.State is not (TaskInstanceState.Failed or TaskInstanceState.UpstreamFailed))
                    || ti.State == TaskInstanceState.None)
                {
                    continue;
                }

                cleared.Add(ti);
                any = true;
                if (!request.DryRun)
                {
                    var retries = request.Retries.GetValueOrDefault(ti.TaskId);
                    var after = ti with { State = TaskInstanceState.None, MaxTries = ti.TryNumber + retries + 1, NextRetryAt = null, ChangedBy = request.Actor.ToString() };
                    await SetOrConflictAsync(conn, tx, ti, after, ct).ConfigureAwait(false);
                }
            }

            if (any && !request.DryRun && run.State is DagRunState.Success or DagRunState.Failed)
            {
                await ExecAsync(conn, tx, SqlDagRunRequeue, [("dag", request.DagId), ("run", runId)], ct).ConfigureAwait(false);
            }
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
        return cleared;
    }

    public async Task<TaskInstance> MarkTaskInstanceAsync(TaskInstance expected, TaskInstanceState state, StateActor actor, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actor);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var marked = expected with { State = state, EndDate = expected.EndDate ?? now, StartDate = expected.StartDate ?? now, NextRetryAt = null, ChangedBy = actor.ToString() };
        await SetOrConflictAsync(conn, tx, expected, marked, ct).ConfigureAwait(false);

        // A finished run goes back to queued: its scheduler decides its state again from its task instances.
        await ExecAsync(conn, tx, SqlDagRunRequeue, [("dag", expected.DagId), ("run", expected.RunId)], ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return marked;
    }

    public async Task<DagRun> MarkDagRunAsync(DagRun expected, DagRunState state, StateActor actor, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actor);
        var ct = cancellationToken;
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (state != DagRunState.Queued)
        {
            var tiState = state == DagRunState.Success ? TaskInstanceState.Success : TaskInstanceState.Failed;
            foreach (var ti in await QueryAsync(conn, tx, SqlTaskInstanceSelect + " WHERE dag_id = @dag AND run_id = @run", [("dag", expected.DagId), ("run", expected.RunId)], ReadTaskInstance, ct).ConfigureAwait(false))
            {
                if (!ti.State.IsFinished())
                {
                    var after = ti with { State = tiState, EndDate = now, StartDate = ti.StartDate ?? now, NextRetryAt = null, ChangedBy = actor.ToString() };
                    await SetOrConflictAsync(conn, tx, ti, after, ct).ConfigureAwait(false);
                }
            }
        }

        var updated = expected with { State = state, EndDate = state == DagRunState.Queued ? null : now, StartDate = expected.StartDate ?? now };
        var n = await ExecAsync(conn, tx, SqlDagRunSet, DagRunSetParameters(expected.State, updated), ct).ConfigureAwait(false);
        if (n == 0)
        {
            var stored = await FindRunAsync(conn, tx, expected.DagId, expected.RunId, ct).ConfigureAwait(false);
            throw new StateConflictException(stored is null
                ? $"DAG run {expected.RunId} of {expected.DagId} no longer exists"
                : $"DAG run {expected.RunId} of {expected.DagId} changed meanwhile: it is {stored.State.ToName()}, not {expected.State.ToName()}; reload and try again");
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
        return updated;
    }

    public async Task<bool> RecordTryExternalIdAsync(TaskInstance running, string externalId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(running);
        (string, object?)[] args = [.. KeyParameters(running), ("try", running.TryNumber), ("ext", externalId)];
        // The try's row follows only while the task instance still runs this try (both in the same transaction).
        var affected = await Writes.RunAsync(
            RowOrder(running.DagId, running.TaskId, running.RunId, running.MapIndex),
            [
                ("UPDATE task_instance SET external_id = @ext WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @mi AND state = 'running' AND try_number = @try", args),
                ("""
                 UPDATE task_instance_try SET external_id = @ext WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @mi AND try_number = @try
                 AND EXISTS (SELECT 1 FROM task_instance t WHERE t.dag_id = @dag AND t.task_id = @task AND t.run_id = @run AND t.map_index = @mi AND t.state = 'running' AND t.try_number = @try)
                 """, args),
            ],
            cancellationToken).ConfigureAwait(false);
        return affected[0] > 0;
    }

    /// <summary>The order in which transactions lock task instances (and the rows that belong to one).</summary>
    private static string RowOrder(string dagId, string taskId, string runId, int mapIndex) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{dagId}\u0001{taskId}\u0001{runId}\u0001{mapIndex}");

    /// <summary>Tries' small writes, committed together (<see cref="GroupCommit"/>).</summary>
    private GroupCommit Writes => LazyInitializer.EnsureInitialized(ref _writes, () => new GroupCommit(ExecInOneTransactionAsync));

    private GroupCommit? _writes;

    private async Task<int[]> ExecInOneTransactionAsync(IReadOnlyList<(string Sql, (string, object?)[] Args)> statements)
    {
        // Not cancellable: other callers' writes ride on it. Bounded by the database's own command and pool timeouts.
        await using var conn = await OpenAsync(CancellationToken.None).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
        var affected = await ExecManyAsync(conn, tx, statements, CancellationToken.None).ConfigureAwait(false);
        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return affected;
    }

    /// <summary>How many task instances inserted at once make the planner's statistics worth refreshing.</summary>
    private const int BulkInsertRows = 500;

    /// <summary>
    /// After many task instances were inserted at once (a wide DAG's run): a database that plans from statistics
    /// refreshes them, so that each task instance's compare-and-set finds its row by key instead of filtering the run.
    /// </summary>
    protected virtual Task AfterBulkInsertAsync(DbConnection conn, DbTransaction tx, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// Runs statements in order within a transaction and returns each one's affected rows. Databases that send a batch
    /// in one round trip override it.
    /// </summary>
    protected virtual async Task<int[]> ExecManyAsync(DbConnection conn, DbTransaction tx, IReadOnlyList<(string Sql, (string, object?)[] Args)> statements, CancellationToken ct)
    {
        var affected = new int[statements.Count];
        for (var i = 0; i < statements.Count; i++)
        {
            affected[i] = await ExecAsync(conn, tx, statements[i].Sql, statements[i].Args, ct).ConfigureAwait(false);
        }

        return affected;
    }

    private async Task SetOrConflictAsync(DbConnection conn, DbTransaction tx, TaskInstance before, TaskInstance after, CancellationToken ct)
    {
        if (await ExecAsync(conn, tx, SqlTaskInstanceSet, TaskInstanceSetParameters(before, after), ct).ConfigureAwait(false) > 0)
        {
            return;
        }

        var stored = await GetTaskInstanceAsync(conn, tx, before, ct).ConfigureAwait(false);
        throw new StateConflictException(stored is null
            ? $"Task instance {before.TaskId} of run {before.RunId} of {before.DagId} no longer exists"
            : $"Task instance {before.TaskId} of run {before.RunId} of {before.DagId} changed meanwhile: it is {stored.State.ToName()} (try {stored.TryNumber}), not {before.State.ToName()} (try {before.TryNumber}); reload and try again");
    }

    private static async Task<TaskInstance?> GetTaskInstanceAsync(DbConnection conn, DbTransaction tx, TaskInstance key, CancellationToken ct) =>
        (await QueryAsync(conn, tx, SqlTaskInstanceSelect + SqlKeyWhere, KeyParameters(key), ReadTaskInstance, ct).ConfigureAwait(false)).FirstOrDefault();

    private static async Task<DagRun?> FindRunAsync(DbConnection conn, DbTransaction tx, string dagId, string runId, CancellationToken ct) =>
        (await QueryAsync(conn, tx, SqlDagRunSelect + " WHERE dag_id = @dag AND run_id = @run", [("dag", dagId), ("run", runId)], ReadDagRun, ct).ConfigureAwait(false)).FirstOrDefault();

    private static async Task<DagRun?> FindRunByKeyAsync(DbConnection conn, DbTransaction tx, DagRun run, CancellationToken ct) =>
        (await QueryAsync(conn, tx, SqlDagRunSelect + " WHERE dag_id = @dag AND (run_id = @run OR logical_date = @logical)", [("dag", run.DagId), ("run", run.RunId), ("logical", Time(run.LogicalDate))], ReadDagRun, ct).ConfigureAwait(false)).FirstOrDefault();

    private static DagRunExistsException RunExists(DagRun wanted, DagRun existing) =>
        new(wanted.DagId, existing.RunId, existing.RunId == wanted.RunId
            ? $"A DAG run of {wanted.DagId} with run id {wanted.RunId} already exists"
            : $"A DAG run of {wanted.DagId} with logical date {AirflowTime.IsoFormat(wanted.LogicalDate)} already exists: {existing.RunId}");

    private static async Task<IReadOnlyList<T>> QueryAsync<T>(DbConnection conn, DbTransaction? tx, string sql, (string, object?)[] args, Func<DbDataReader, T> map, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql, args);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(map(reader));
        }

        return list;
    }

    private static (string, object?)[] KeyParameters(TaskInstance ti) =>
        [("dag", ti.DagId), ("task", ti.TaskId), ("run", ti.RunId), ("mi", ti.MapIndex)];

    private static (string, object?)[] TaskInstanceParameters(TaskInstance ti) =>
        [.. KeyParameters(ti), ("state", ti.State.ToName()), ("try", ti.TryNumber), ("max", ti.MaxTries), ("start", Time(ti.StartDate)), ("end", Time(ti.EndDate)), ("queued", Time(ti.QueuedAt)), ("retry", Time(ti.NextRetryAt)), ("host", ti.Hostname), ("op", ti.Operator), ("pool", ti.Pool), ("slots", ti.PoolSlots), ("prio", ti.PriorityWeight), ("ext", ti.ExternalId), ("by", ti.ChangedBy), ("rmi", ti.RenderedMapIndex)];

    private static (string, object?)[] TaskInstanceSetParameters(TaskInstance before, TaskInstance after) =>
        [.. TaskInstanceParameters(after), ("xstate", before.State.ToName()), ("xtry", before.TryNumber), ("xmi", before.MapIndex)];

    private static (string, object?)[] DagRunSetParameters(DagRunState expected, DagRun after) =>
        [.. DagRunParameters(after), ("xstate", expected.ToName())];

    private static (string, object?)[] TryParameters(TaskInstanceTry t) =>
        [("dag", t.DagId), ("task", t.TaskId), ("run", t.RunId), ("mi", t.MapIndex), ("try", t.TryNumber), ("state", t.State.ToName()), ("start", Time(t.StartDate)), ("end", Time(t.EndDate)), ("host", t.Hostname), ("ext", t.ExternalId)];

    private static (string, object?)[] DagParameters(DagModel dag) =>
        [("id", dag.DagId), ("file", dag.FileLoc), ("paused", dag.IsPaused ? 1 : 0), ("active", dag.IsActive ? 1 : 0), ("parsed", Time(dag.LastParsedTime)), ("descr", dag.Description), ("sched", dag.Schedule), ("owners", dag.Owners), ("tags", JsonSerializer.Serialize(dag.Tags))];

    private const string SqlSlotUsage = """
        SELECT 'pool', pool, SUM(pool_slots) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY pool
        UNION ALL
        SELECT 'dag', dag_id, COUNT(*) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY dag_id
        UNION ALL
        SELECT 'task', dag_id || '/' || task_id, COUNT(*) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY dag_id, task_id
        UNION ALL
        SELECT 'taskrun', dag_id || '/' || task_id || '/' || run_id, COUNT(*) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY dag_id, task_id, run_id
        """;

    private const string SqlKeyWhere = " WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @mi";

    private const string SqlXComDelete = "DELETE FROM xcom" + SqlKeyWhere;

    private const string SqlDagUpsert = """
        INSERT INTO dag (dag_id, fileloc, is_paused, is_active, last_parsed_time, description, schedule, owners, tags)
        VALUES (@id, @file, @paused, @active, @parsed, @descr, @sched, @owners, @tags)
        ON CONFLICT (dag_id) DO UPDATE SET fileloc = excluded.fileloc, is_active = excluded.is_active,
          last_parsed_time = excluded.last_parsed_time, description = excluded.description,
          schedule = excluded.schedule, owners = excluded.owners, tags = excluded.tags
        """;

    private const string SqlImportErrorUpsert =
        "INSERT INTO import_error (filename, message, timestamp) VALUES (@f, @m, @t) ON CONFLICT (filename) DO UPDATE SET message = excluded.message, timestamp = excluded.timestamp";

    private const string SqlDagRunInsert = """
        INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end, state, conf, queued_at, start_date, end_date, claimed_by)
        VALUES (@dag, @run, @type, @logical, @dis, @die, @state, @conf, @queued, @start, @end, @claim)
        ON CONFLICT DO NOTHING
        """;

    // A finished run is held by no job: if it is cleared later, any scheduler may take it.
    private const string SqlDagRunSet = """
        UPDATE dag_run SET state = @state, conf = @conf, queued_at = @queued, start_date = @start, end_date = @end,
          data_interval_start = @dis, data_interval_end = @die,
          claimed_by = CASE WHEN @state IN ('success', 'failed') THEN NULL ELSE claimed_by END
        WHERE dag_id = @dag AND run_id = @run AND state = @xstate
        """;

    private const string SqlDagRunRequeue =
        "UPDATE dag_run SET state = 'queued', end_date = NULL WHERE dag_id = @dag AND run_id = @run AND state IN ('success', 'failed')";

    private const string SqlTryUpsert = """
        INSERT INTO task_instance_try (dag_id, task_id, run_id, map_index, try_number, state, start_date, end_date, hostname, external_id)
        VALUES (@dag, @task, @run, @mi, @try, @state, @start, @end, @host, @ext)
        ON CONFLICT (dag_id, task_id, run_id, map_index, try_number) DO UPDATE SET state = excluded.state,
          start_date = excluded.start_date, end_date = excluded.end_date, hostname = excluded.hostname,
          external_id = COALESCE(excluded.external_id, task_instance_try.external_id)
        """;

    // A finished try's record, unless its run was deleted meanwhile.
    private const string SqlFinishedTryUpsert = """
        INSERT INTO task_instance_try (dag_id, task_id, run_id, map_index, try_number, state, start_date, end_date, hostname, external_id)
        SELECT @dag, @task, @run, @mi, @try, @state, @start, @end, @host, @ext
        WHERE EXISTS (SELECT 1 FROM dag_run WHERE dag_id = @dag AND run_id = @run)
        ON CONFLICT (dag_id, task_id, run_id, map_index, try_number) DO UPDATE SET state = excluded.state,
          start_date = excluded.start_date, end_date = excluded.end_date, hostname = excluded.hostname,
          external_id = COALESCE(excluded.external_id, task_instance_try.external_id)
        """;

    private const string SqlTaskInstanceInsert = """
        INSERT INTO task_instance (dag_id, task_id, run_id, map_index, state, try_number, max_tries, start_date, end_date, queued_at, next_retry_at, hostname, operator, pool, pool_slots, priority_weight, external_id, changed_by, rendered_map_index)
        VALUES (@dag, @task, @run, @mi, @state, @try, @max, @start, @end, @queued, @retry, @host, @op, @pool, @slots, @prio, @ext, @by, @rmi)
        ON CONFLICT (dag_id, task_id, run_id, map_index) DO NOTHING
        """;

    private const string SqlTaskInstanceSet = """
        UPDATE task_instance SET state = @state, try_number = @try, max_tries = @max, start_date = @start, end_date = @end,
          queued_at = @queued, next_retry_at = @retry, hostname = @host, operator = @op, pool = @pool, pool_slots = @slots,
          priority_weight = @prio, external_id = @ext, changed_by = @by, map_index = @mi, rendered_map_index = @rmi
        WHERE dag_id = @dag AND task_id = @task AND run_id = @run AND map_index = @xmi AND state = @xstate AND try_number = @xtry
        """;
}
