using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Scheduler;
using Sirocco.Storage;
using Sirocco.Variables;

namespace Sirocco.Web.Infrastructure;

/// <summary>What the API and the UI both do to the store: trigger, clear, mark, pause, Variables and Connections.</summary>
internal sealed class Operations
{
    private readonly WebState _state;

    public Operations(WebState state) => _state = state;

    public async Task<DagModel> RequireDagAsync(string dagId, CancellationToken ct) =>
        await _state.Store.GetDagAsync(dagId, ct).ConfigureAwait(false)
            ?? throw ApiException.NotFound("DAG not found", $"DAG with dag_id: '{dagId}' not found");

    public async Task<DagRun> RequireRunAsync(string dagId, string runId, CancellationToken ct)
    {
        if (await _state.Store.GetDagRunAsync(dagId, runId, ct).ConfigureAwait(false) is { } run)
        {
            return run;
        }

        await RequireDagAsync(dagId, ct).ConfigureAwait(false); // names the DAG when it is the DAG that is missing
        throw ApiException.NotFound("DAGRun not found", $"DAGRun with DAG ID: '{dagId}' and DagRun ID: '{runId}' not found");
    }

    public async Task<TaskInstance> RequireTaskInstanceAsync(string dagId, string runId, string taskId, CancellationToken ct)
    {
        await RequireRunAsync(dagId, runId, ct).ConfigureAwait(false);
        return await _state.Store.GetTaskInstanceAsync(dagId, taskId, runId, -1, ct).ConfigureAwait(false)
            ?? throw ApiException.NotFound("Task instance not found", $"Task instance '{taskId}' of run '{runId}' of DAG '{dagId}' not found");
    }

    public async Task<DagModel> SetPausedAsync(string dagId, bool paused, CancellationToken ct)
    {
        await RequireDagAsync(dagId, ct).ConfigureAwait(false);
        await _state.Store.SetDagPausedAsync(dagId, paused, ct).ConfigureAwait(false);
        _state.WakeScheduler();
        return (await _state.Store.GetDagAsync(dagId, ct).ConfigureAwait(false))!;
    }

    /// <summary>Parses a trigger's conf text: empty means {}, otherwise a JSON object.</summary>
    public static JsonObject ParseConf(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw ApiException.BadRequest($"conf must be a JSON object, got: {Shorten(text)}");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"conf is not valid JSON: {e.Message}");
        }
    }

    public async Task<DagRun> TriggerAsync(string dagId, JsonObject conf, DateTimeOffset? logicalDate, string? runId, CancellationToken ct)
    {
        var model = await RequireDagAsync(dagId, ct).ConfigureAwait(false);
        if (!model.IsActive)
        {
            throw ApiException.BadRequest($"DAG '{dagId}' is not active: its file is gone");
        }

        var when = logicalDate ?? _state.Time.GetUtcNow();
        var id = runId ?? DagRun.GenerateRunId(DagRunType.Manual, when.ToUniversalTime());
        if (await _state.Store.GetDagRunAsync(dagId, id, ct).ConfigureAwait(false) is not null)
        {
            throw ApiException.Conflict($"DAGRun with DAG ID: '{dagId}' and DAGRun ID: '{id}' already exists");
        }

        var schedule = _state.Dag(dagId)?.Schedule;
        DagRun run;
        try
        {
            if (runId is null)
            {
                run = await SiroccoScheduler.CreateManualRunAsync(_state.Store, schedule, dagId, conf, when, _state.Time, ct).ConfigureAwait(false);
            }
            else
            {
                when = when.ToUniversalTime();
                run = new DagRun
                {
                    DagId = dagId,
                    RunId = runId,
                    RunType = DagRunType.Manual,
                    LogicalDate = when,
                    DataInterval = (schedule ?? Scheduling.Schedule.None).InferManualDataInterval(when),
                    Conf = conf,
                    QueuedAt = _state.Time.GetUtcNow(),
                };
                await _state.Store.CreateDagRunAsync(run, ct).ConfigureAwait(false);
            }
        }
        catch (SiroccoException e) when (e.Message.Contains("already exists", StringComparison.Ordinal))
        {
            // The store refuses a second run with the same id or logical date.
            throw ApiException.Conflict(e.Message);
        }

        _state.WakeScheduler();
        return run;
    }

    /// <summary>
    /// Clears task instances (state none, one more try allowed) so the scheduler runs them again; finished runs go back to
    /// queued. Running and queued instances are left alone. Returns the instances cleared (or that would be, when dry).
    /// </summary>
    public async Task<IReadOnlyList<TaskInstance>> ClearAsync(
        string dagId, IEnumerable<DagRun> runs, IReadOnlyCollection<string>? taskIds, bool onlyFailed, bool includeDownstream, bool dryRun, CancellationToken ct)
    {
        var dag = _state.Dag(dagId);
        HashSet<string>? wanted = null;
        if (taskIds is not null)
        {
            wanted = new HashSet<string>(taskIds, StringComparer.Ordinal);
            if (includeDownstream && dag is not null)
            {
                var queue = new Queue<string>(wanted);
                while (queue.TryDequeue(out var id))
                {
                    if (dag.HasTask(id))
                    {
                        foreach (var d in dag.GetTask(id).DownstreamTaskIds)
                        {
                            if (wanted.Add(d))
                            {
                                queue.Enqueue(d);
                            }
                        }
                    }
                }
            }
        }

        var cleared = new List<TaskInstance>();
        foreach (var run in runs)
        {
            var any = false;
            foreach (var ti in await _state.Store.ListTaskInstancesAsync(dagId, run.RunId, ct).ConfigureAwait(false))
            {
                if ((wanted is not null && !wanted.Contains(ti.TaskId)) || ti.State is TaskInstanceState.Running or TaskInstanceState.Queued)
                {
                    continue;
                }

                if (onlyFailed && ti.State is not (TaskInstanceState.Failed or TaskInstanceState.UpstreamFailed))
                {
                    continue;
                }

                cleared.Add(ti);
                any = true;
                if (!dryRun)
                {
                    var retries = dag is not null && dag.HasTask(ti.TaskId) ? dag.GetTask(ti.TaskId).Retries : 0;
                    await _state.Store.UpsertTaskInstanceAsync(ti with { State = TaskInstanceState.None, MaxTries = ti.TryNumber + retries + 1, NextRetryAt = null }, ct).ConfigureAwait(false);
                }
            }

            if (any && !dryRun && run.State is DagRunState.Success or DagRunState.Failed)
            {
                await _state.Store.UpdateDagRunAsync(run with { State = DagRunState.Queued, EndDate = null }, ct).ConfigureAwait(false);
            }
        }

        if (!dryRun && cleared.Count > 0)
        {
            _state.WakeScheduler();
        }

        return cleared;
    }

    /// <summary>Sets a task instance's state to success or failed (Airflow's mark success / mark failed).</summary>
    public async Task<TaskInstance> MarkTaskInstanceAsync(TaskInstance ti, TaskInstanceState state, CancellationToken ct)
    {
        if (state is not (TaskInstanceState.Success or TaskInstanceState.Failed))
        {
            throw ApiException.BadRequest($"new_state must be success or failed, got '{state.ToName()}'");
        }

        var now = _state.Time.GetUtcNow();
        var marked = ti with { State = state, EndDate = ti.EndDate ?? now, StartDate = ti.StartDate ?? now };
        await _state.Store.UpsertTaskInstanceAsync(marked, ct).ConfigureAwait(false);
        var run = await _state.Store.GetDagRunAsync(ti.DagId, ti.RunId, ct).ConfigureAwait(false);
        if (run is { State: DagRunState.Success or DagRunState.Failed })
        {
            // Queued again, the scheduler re-decides the run's state from its task instances.
            await _state.Store.UpdateDagRunAsync(run with { State = DagRunState.Queued, EndDate = null }, ct).ConfigureAwait(false);
        }

        _state.WakeScheduler();
        return marked;
    }

    /// <summary>Marks a run success or failed, and its unfinished task instances with it.</summary>
    public async Task<DagRun> MarkRunAsync(DagRun run, DagRunState state, CancellationToken ct)
    {
        if (state is not (DagRunState.Success or DagRunState.Failed or DagRunState.Queued))
        {
            throw ApiException.BadRequest($"state must be success, failed or queued, got '{state.ToName()}'");
        }

        var now = _state.Time.GetUtcNow();
        if (state != DagRunState.Queued)
        {
            var tiState = state == DagRunState.Success ? TaskInstanceState.Success : TaskInstanceState.Failed;
            foreach (var ti in await _state.Store.ListTaskInstancesAsync(run.DagId, run.RunId, ct).ConfigureAwait(false))
            {
                if (!ti.State.IsFinished())
                {
                    await _state.Store.UpsertTaskInstanceAsync(ti with { State = tiState, EndDate = now, StartDate = ti.StartDate ?? now }, ct).ConfigureAwait(false);
                }
            }
        }

        var updated = run with { State = state, EndDate = state == DagRunState.Queued ? null : now, StartDate = run.StartDate ?? now };
        await _state.Store.UpdateDagRunAsync(updated, ct).ConfigureAwait(false);
        _state.WakeScheduler();
        return updated;
    }

    public static void ValidateKey(string what, string key)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Length > 250 || key.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw ApiException.BadRequest($"{what} '{Shorten(key)}' is not valid: 1 to 250 characters, no spaces or control characters");
        }
    }

    public void SetVariable(string key, string value, string? description)
    {
        ValidateKey("variable key", key);
        _state.Store.SetVariable(new Variable(key, value, string.IsNullOrEmpty(description) ? null : description));
        _state.Masker.AddIfSensitive(key, value);
    }

    /// <summary>Checks and stores a connection; its secrets are registered with the masker.</summary>
    public void SetConnection(Connection connection)
    {
        ValidateKey("connection_id", connection.ConnId);
        if (string.IsNullOrWhiteSpace(connection.ConnType))
        {
            throw ApiException.BadRequest("conn_type is required, e.g. kubernetes");
        }

        if (connection.Port is < 0 or > 65535)
        {
            throw ApiException.BadRequest($"port must be between 0 and 65535, got {connection.Port}");
        }

        if (connection.Extra is not null)
        {
            try
            {
                _ = Connection.ValidateExtra(connection.ConnId, connection.Extra);
            }
            catch (SiroccoException e)
            {
                throw ApiException.BadRequest(e.Message);
            }
        }

        ConnectionAccessor.Register(_state.Masker, connection);
        _state.Store.SetConnection(connection);
    }

    public static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
