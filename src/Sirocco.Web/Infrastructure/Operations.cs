using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Connections;
using Sirocco.Storage;
using Sirocco.Variables;
using Sirocco.Web.Api;

namespace Sirocco.Web.Infrastructure;

/// <summary>What the API and the UI both do to the store: trigger, clear, mark, pause, Variables and Connections.</summary>
internal sealed class Operations
{
    private readonly WebState _state;

    public Operations(WebState state) => _state = state;

    /// <summary>The actor of a change made in the web UI.</summary>
    public static StateActor UI(Security.Principal? user) => new(user?.Username ?? "anonymous", "web UI");

    /// <summary>The actor of a change made through the REST API.</summary>
    public static StateActor Api(Security.Principal? user) => new(user?.Username ?? "anonymous", "REST API");

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

    public async Task<TaskInstance> RequireTaskInstanceAsync(string dagId, string runId, string taskId, CancellationToken ct, int mapIndex = -1)
    {
        await RequireRunAsync(dagId, runId, ct).ConfigureAwait(false);
        if (await _state.Store.GetTaskInstanceAsync(dagId, taskId, runId, mapIndex, ct).ConfigureAwait(false) is { } ti)
        {
            return ti;
        }

        var mapped = mapIndex == -1 ? await ListMappedAsync(dagId, runId, taskId, ct).ConfigureAwait(false) : [];
        throw ApiException.NotFound("Task instance not found", mapped.Count > 0
            ? $"Task '{taskId}' of run '{runId}' of DAG '{dagId}' is mapped into {mapped.Count} instances: give a map_index from 0 to {mapped.Count - 1}"
            : $"Task instance '{taskId}'{(mapIndex >= 0 ? $" (map index {mapIndex})" : string.Empty)} of run '{runId}' of DAG '{dagId}' not found");
    }

    /// <summary>The mapped instances (map index 0 and up) of a task in a run, in index order.</summary>
    public async Task<IReadOnlyList<TaskInstance>> ListMappedAsync(string dagId, string runId, string taskId, CancellationToken ct) =>
        [.. (await _state.Store.ListTaskInstancesAsync(dagId, runId, ct).ConfigureAwait(false)).Where(t => t.TaskId == taskId && t.MapIndex >= 0).OrderBy(t => t.MapIndex)];

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
            return JsonNode.Parse(text, documentOptions: ApiInput.ClientJson) as JsonObject ?? throw ApiException.BadRequest($"conf must be a JSON object, got: {Shorten(text)}");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // the second: half a surrogate pair, "\ud800"
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

        var parsed = _state.Dag(dagId);
        if (parsed is not null)
        {
            try
            {
                ParamValidation.Validate(parsed, conf);
            }
            catch (SiroccoException e)
            {
                throw ApiException.BadRequest(e.Message);
            }
        }

        var schedule = parsed?.Schedule;
        when = when.ToUniversalTime();
        var run = DagRun.Create(dagId, DagRunType.Manual, when, (schedule ?? Scheduling.Schedule.None).InferManualDataInterval(when), _state.Time.GetUtcNow(), conf, runId);
        try
        {
            await _state.Store.CreateDagRunAsync(run, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (DagRunExistsException e)
        {
            throw ApiException.Conflict(e.Message);
        }

        _state.WakeScheduler();
        return run;
    }

    /// <summary>
    /// Clears task instances (state none, one more try allowed) so the scheduler runs them again; finished runs go back to
    /// queued; running ones are ended by their scheduler. Returns the instances cleared (or that would be, when dry).
    /// </summary>
    public async Task<IReadOnlyList<TaskInstance>> ClearAsync(
        string dagId, IEnumerable<DagRun> runs, IReadOnlyCollection<string>? taskIds, bool onlyFailed, bool includeDownstream, bool dryRun, StateActor actor, CancellationToken ct)
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

        var request = new ClearRequest
        {
            DagId = dagId,
            RunIds = [.. runs.Select(r => r.RunId)],
            TaskIds = wanted,
            OnlyFailed = onlyFailed,
            DryRun = dryRun,
            Retries = dag?.Tasks.ToDictionary(t => t.TaskId, t => t.Retries, StringComparer.Ordinal) ?? [],
            Actor = actor,
        };
        var cleared = await Guard(() => _state.Store.ClearTaskInstancesAsync(request, _state.Time.GetUtcNow(), ct)).ConfigureAwait(false);
        if (!dryRun && cleared.Count > 0)
        {
            _state.WakeScheduler();
        }

        return cleared;
    }

    /// <summary>Sets a task instance's state to success, failed or skipped (Airflow's mark success / mark failed).</summary>
    public async Task<TaskInstance> MarkTaskInstanceAsync(TaskInstance ti, TaskInstanceState state, StateActor actor, CancellationToken ct)
    {
        if (state is not (TaskInstanceState.Success or TaskInstanceState.Failed or TaskInstanceState.Skipped))
        {
            throw ApiException.BadRequest($"new_state must be success, failed or skipped, got '{state.ToName()}'");
        }

        var marked = await Guard(() => _state.Store.MarkTaskInstanceAsync(ti, state, actor, _state.Time.GetUtcNow(), ct)).ConfigureAwait(false);
        _state.WakeScheduler();
        return marked;
    }

    /// <summary>Marks a run success or failed, and its unfinished task instances with it (or queues it again).</summary>
    public async Task<DagRun> MarkRunAsync(DagRun run, DagRunState state, StateActor actor, CancellationToken ct)
    {
        if (state is not (DagRunState.Success or DagRunState.Failed or DagRunState.Queued))
        {
            throw ApiException.BadRequest($"state must be success, failed or queued, got '{state.ToName()}'");
        }

        var updated = await Guard(() => _state.Store.MarkDagRunAsync(run, state, actor, _state.Time.GetUtcNow(), ct)).ConfigureAwait(false);
        _state.WakeScheduler();
        return updated;
    }

    /// <summary>A change that lost to another writer is a 409 naming the row and its state now.</summary>
    private static async Task<T> Guard<T>(Func<Task<T>> change)
    {
        try
        {
            return await change().ConfigureAwait(false);
        }
        catch (StateConflictException e)
        {
            throw ApiException.Conflict(e.Message);
        }
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
