using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary>DAG runs, task instances, logs, XComs and clearing.</summary>
internal static class RunEndpoints
{
    private const string P = "/api/v1";
    private const string Run = P + "/dags/{dag_id}/dagRuns/{dag_run_id}";
    private const string Ti = Run + "/taskInstances/{task_id}";
    private static readonly string[] RunOrder = ["execution_date", "logical_date", "start_date", "end_date", "state", "dag_run_id", "dag_id"];
    private static readonly string[] TiOrder = ["task_id", "start_date", "end_date", "duration", "state", "try_number", "priority_weight", "dag_run_id"];

    public static void Register(ApiRegistry api, WebState state, Operations ops)
    {
        ApiParam[] page = [new("limit", "integer", "Most items returned (1-1000, default 100)"), new("offset", "integer", "Items skipped")];

        api.Add(
            new ApiRoute("GET", P + "/dags/{dag_id}/dagRuns", "get_dag_runs", "DAGRun", "List DAG runs ('~' as dag_id: all DAGs)", Role.Viewer, "DAGRunCollection", Query:
            [
                .. page,
                new("order_by", "string", string.Join(", ", RunOrder) + "; '-' first for descending (default -execution_date)"),
                new("state", "string", "Only runs in these states (repeat or comma-separate)"),
            ]),
            async (ctx, _) =>
            {
                var dagId = ApiInput.Route(ctx, "dag_id");
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "-execution_date", RunOrder);
                var states = ParseRunStates(ApiInput.QueryList(ctx, "state"));
                if (dagId != "~")
                {
                    await ops.RequireDagAsync(dagId, ctx.RequestAborted).ConfigureAwait(false);
                }

                return Results.Json(await ListRunsAsync(state, dagId == "~" ? null : [dagId], states, order, limit, offset, ctx.RequestAborted).ConfigureAwait(false));
            });

        api.Add(
            new ApiRoute("POST", P + "/dags/~/dagRuns/list", "get_dag_runs_batch", "DAGRun", "List DAG runs of several DAGs", Role.Viewer, "DAGRunCollection", "ListDagRunsForm"),
            async (ctx, _) =>
            {
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var limit = ApiInput.Int(body, "page_limit") ?? 100;
                var offset = ApiInput.Int(body, "page_offset") ?? 0;
                if (limit is < 1 or > ApiInput.MaxLimit || offset < 0)
                {
                    throw ApiException.BadRequest($"page_limit must be 1 to {ApiInput.MaxLimit} and page_offset 0 or more, got {limit} and {offset}");
                }

                var orderText = ApiInput.Str(body, "order_by") ?? "-execution_date";
                var field = orderText.TrimStart('-');
                if (!RunOrder.Contains(field, StringComparer.Ordinal))
                {
                    throw ApiException.BadRequest($"order_by '{orderText}' is not allowed; use one of: {string.Join(", ", RunOrder)}");
                }

                var states = ParseRunStates(ApiInput.StrList(body, "states") ?? []);
                var dagIds = ApiInput.StrList(body, "dag_ids");
                return Results.Json(await ListRunsAsync(state, dagIds is { Count: > 0 } ? dagIds : null, states, (field, orderText.StartsWith('-')), limit, offset, ctx.RequestAborted).ConfigureAwait(false));
            });

        api.Add(
            new ApiRoute("POST", P + "/dags/{dag_id}/dagRuns", "post_dag_run", "DAGRun", "Trigger a DAG run", Role.User, "DAGRun", "DAGRunTrigger"),
            async (ctx, _) =>
            {
                var dagId = ApiInput.Route(ctx, "dag_id");
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var conf = body["conf"] switch
                {
                    null => [],
                    JsonObject o => (JsonObject)o.DeepClone(),
                    var other => throw ApiException.BadRequest($"'conf' must be a JSON object, got {other.ToJsonString()}"),
                };
                var logical = ApiInput.Date(body, "logical_date") ?? ApiInput.Date(body, "execution_date");
                var runId = ApiInput.Str(body, "dag_run_id");
                if (runId is not null)
                {
                    Operations.ValidateKey("dag_run_id", runId);
                }

                var run = await ops.TriggerAsync(dagId, conf, logical, runId, ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(ApiJson.DagRun(run, state.Masker));
            });

        api.Add(new ApiRoute("GET", Run, "get_dag_run", "DAGRun", "Get a DAG run", Role.Viewer, "DAGRun"), async (ctx, _) =>
        {
            var run = await ops.RequireRunAsync(ApiInput.Route(ctx, "dag_id"), ApiInput.Route(ctx, "dag_run_id"), ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(ApiJson.DagRun(run, state.Masker));
        });

        api.Add(
            new ApiRoute("PATCH", Run, "update_dag_run_state", "DAGRun", "Mark a DAG run success, failed or queued", Role.User, "DAGRun", "UpdateDagRunState"),
            async (ctx, user) =>
            {
                var run = await ops.RequireRunAsync(ApiInput.Route(ctx, "dag_id"), ApiInput.Route(ctx, "dag_run_id"), ctx.RequestAborted).ConfigureAwait(false);
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var text = ApiInput.Str(body, "state", required: true)!;
                var target = Parse(() => StateNames.ParseDagRunState(text));
                return Results.Json(ApiJson.DagRun(await ops.MarkRunAsync(run, target, Operations.Api(user), ctx.RequestAborted).ConfigureAwait(false), state.Masker));
            });

        api.Add(new ApiRoute("DELETE", Run, "delete_dag_run", "DAGRun", "Delete a DAG run with its task instances", Role.User, "Empty"), async (ctx, _) =>
        {
            var run = await ops.RequireRunAsync(ApiInput.Route(ctx, "dag_id"), ApiInput.Route(ctx, "dag_run_id"), ctx.RequestAborted).ConfigureAwait(false);
            await state.Store.DeleteDagRunAsync(run.DagId, run.RunId, ctx.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });

        api.Add(
            new ApiRoute("POST", Run + "/clear", "clear_dag_run", "DAGRun", "Clear a DAG run's task instances", Role.User, "TaskInstanceReferenceCollection", "ClearDagRun"),
            async (ctx, user) =>
            {
                var run = await ops.RequireRunAsync(ApiInput.Route(ctx, "dag_id"), ApiInput.Route(ctx, "dag_run_id"), ctx.RequestAborted).ConfigureAwait(false);
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var dry = ApiInput.Bool(body, "dry_run") ?? false;
                var cleared = await ops.ClearAsync(run.DagId, [run], null, onlyFailed: false, includeDownstream: false, dry, Operations.Api(user), ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(References(cleared, run));
            });

        api.Add(
            new ApiRoute("POST", P + "/dags/{dag_id}/clearTaskInstances", "post_clear_task_instances", "TaskInstance", "Clear task instances of a DAG", Role.User, "TaskInstanceReferenceCollection", "ClearTaskInstances"),
            async (ctx, user) =>
            {
                var dagId = ApiInput.Route(ctx, "dag_id");
                await ops.RequireDagAsync(dagId, ctx.RequestAborted).ConfigureAwait(false);
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var dry = ApiInput.Bool(body, "dry_run") ?? true;
                var taskIds = ApiInput.StrList(body, "task_ids");
                var runId = ApiInput.Str(body, "dag_run_id");
                var onlyFailed = ApiInput.Bool(body, "only_failed") ?? true;
                var downstream = ApiInput.Bool(body, "include_downstream") ?? false;
                var start = ApiInput.Date(body, "start_date");
                var end = ApiInput.Date(body, "end_date");
                if (start is not null && end is not null && start > end)
                {
                    throw ApiException.BadRequest("start_date must not be after end_date");
                }

                IEnumerable<DagRun> runs = runId is not null
                    ? [await ops.RequireRunAsync(dagId, runId, ctx.RequestAborted).ConfigureAwait(false)]
                    : (await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = dagId, Limit = 1_000_000 }, ctx.RequestAborted).ConfigureAwait(false))
                        .Where(r => (start is null || r.LogicalDate >= start) && (end is null || r.LogicalDate <= end));
                var runList = runs.ToList();
                var cleared = await ops.ClearAsync(dagId, runList, taskIds, onlyFailed, downstream, dry, Operations.Api(user), ctx.RequestAborted).ConfigureAwait(false);
                var byRun = runList.ToDictionary(r => r.RunId, StringComparer.Ordinal);
                return Results.Json(new JsonObject
                {
                    ["task_instances"] = new JsonArray([.. cleared.Select(t => (JsonNode)Reference(t, byRun.GetValueOrDefault(t.RunId)))]),
                });
            });

        api.Add(
            new ApiRoute("GET", Run + "/taskInstances", "get_task_instances", "TaskInstance", "List a run's task instances ('~' for dag_id or dag_run_id: all)", Role.Viewer, "TaskInstanceCollection", Query:
            [
                .. page,
                new("order_by", "string", string.Join(", ", TiOrder) + "; '-' first for descending (default task_id)"),
                new("state", "string", "Only these states (repeat or comma-separate; 'none' for no state)"),
            ]),
            async (ctx, _) =>
            {
                var dagId = ApiInput.Route(ctx, "dag_id");
                var runId = ApiInput.Route(ctx, "dag_run_id");
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "task_id", TiOrder);
                var states = ApiInput.QueryList(ctx, "state").Select(s => Parse(() => StateNames.ParseTaskInstanceState(s))).ToHashSet();
                var ct = ctx.RequestAborted;
                List<DagRun> runs;
                if (dagId != "~" && runId != "~")
                {
                    runs = [await ops.RequireRunAsync(dagId, runId, ct).ConfigureAwait(false)];
                }
                else
                {
                    if (dagId != "~")
                    {
                        await ops.RequireDagAsync(dagId, ct).ConfigureAwait(false);
                    }

                    runs = [.. (await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = dagId == "~" ? null : dagId, Limit = 1_000_000 }, ct).ConfigureAwait(false))
                        .Where(r => runId == "~" || r.RunId == runId)];
                }

                var all = new List<(TaskInstance Ti, DagRun Run)>();
                foreach (var r in runs)
                {
                    foreach (var ti in await state.Store.ListTaskInstancesAsync(r.DagId, r.RunId, ct).ConfigureAwait(false))
                    {
                        if (states.Count == 0 || states.Contains(ti.State))
                        {
                            all.Add((ti, r));
                        }
                    }
                }

                var sorted = ApiInput.Sort(all, order, (x, f) => f switch
                {
                    "start_date" => x.Ti.StartDate,
                    "end_date" => x.Ti.EndDate,
                    "duration" => x.Ti.Duration,
                    "state" => x.Ti.State.ToName(),
                    "try_number" => x.Ti.TryNumber,
                    "priority_weight" => x.Ti.PriorityWeight,
                    "dag_run_id" => x.Ti.RunId,
                    _ => x.Ti.TaskId,
                });
                var items = sorted.Skip(offset).Take(limit).Select(x => ApiJson.TaskInstance(x.Ti, x.Run));
                return Results.Json(ApiJson.Collection("task_instances", items, all.Count));
            });

        api.Add(new ApiRoute("GET", Ti, "get_task_instance", "TaskInstance", "Get a task instance (with its tries and rendered template fields)", Role.Viewer, "TaskInstance"), GetTaskInstanceAsync);
        api.Add(new ApiRoute("GET", Ti + "/{map_index}", "get_mapped_task_instance", "TaskInstance", "Get one instance of a mapped task (with its tries and rendered template fields)", Role.Viewer, "TaskInstance"), GetTaskInstanceAsync);
        api.Add(
            new ApiRoute("GET", Ti + "/listMapped", "get_mapped_task_instances", "TaskInstance", "List the instances of a mapped task in a run", Role.Viewer, "TaskInstanceCollection", Query: page),
            async (ctx, _) =>
            {
                var dagId = ApiInput.Route(ctx, "dag_id");
                var runId = ApiInput.Route(ctx, "dag_run_id");
                var run = await ops.RequireRunAsync(dagId, runId, ctx.RequestAborted).ConfigureAwait(false);
                var taskId = ApiInput.Route(ctx, "task_id");
                var mapped = await ops.ListMappedAsync(dagId, runId, taskId, ctx.RequestAborted).ConfigureAwait(false);
                if (mapped.Count == 0 && await state.Store.GetTaskInstanceAsync(dagId, taskId, runId, -1, ctx.RequestAborted).ConfigureAwait(false) is null)
                {
                    throw ApiException.NotFound("Task instance not found", $"Task '{taskId}' has no instances in run '{runId}' of DAG '{dagId}'");
                }

                var (limit, offset) = (ApiInput.QueryInt(ctx, "limit") ?? 100, ApiInput.QueryInt(ctx, "offset") ?? 0);
                return Results.Json(ApiJson.Collection("task_instances", mapped.Skip(Math.Max(0, offset)).Take(Math.Clamp(limit, 0, 10_000)).Select(t => ApiJson.TaskInstance(t, run)), mapped.Count));
            });

        async Task<IResult> GetTaskInstanceAsync(HttpContext ctx, Principal? user)
        {
            var (ti, run) = await RequireTiAsync(ops, ctx).ConfigureAwait(false);
            var rendered = TemplateView.Render(state, run, ti);
            var o = ApiJson.TaskInstance(ti, run, rendered.Fields, state.Masker);
            if (rendered.Error is not null)
            {
                o["rendered_fields_error"] = rendered.Error;
            }

            var tries = await state.Store.ListTriesAsync(ti.DagId, ti.TaskId, ti.RunId, ti.MapIndex, ctx.RequestAborted).ConfigureAwait(false);
            o["tries"] = new JsonArray([.. tries.Select(t => (JsonNode)ApiJson.Try(t))]);
            return Results.Json(o);
        }

        api.Add(new ApiRoute("PATCH", Ti, "patch_task_instance", "TaskInstance", "Mark a task instance success or failed", Role.User, "TaskInstance", "UpdateTaskInstance"), PatchTaskInstanceAsync);
        api.Add(new ApiRoute("PATCH", Ti + "/{map_index}", "patch_mapped_task_instance", "TaskInstance", "Mark one instance of a mapped task success or failed", Role.User, "TaskInstance", "UpdateTaskInstance"), PatchTaskInstanceAsync);

        async Task<IResult> PatchTaskInstanceAsync(HttpContext ctx, Principal? user)
        {
            var (ti, run) = await RequireTiAsync(ops, ctx).ConfigureAwait(false);
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var text = ApiInput.Str(body, "new_state", required: true)!;
            var target = Parse(() => StateNames.ParseTaskInstanceState(text));
            if (ApiInput.Bool(body, "dry_run") == true)
            {
                return Results.Json(ApiJson.TaskInstance(ti with { State = target }, run));
            }

            return Results.Json(ApiJson.TaskInstance(await ops.MarkTaskInstanceAsync(ti, target, Operations.Api(user), ctx.RequestAborted).ConfigureAwait(false), run));
        }

        api.Add(
            new ApiRoute("GET", Ti + "/logs/{task_try_number}", "get_log", "TaskInstance", "A try's log (JSON with a continuation token, or text/plain)", Role.Viewer, "InstanceLog", Query:
            [
                new("full_content", "boolean", "The whole log at once (default: up to 1 MiB of whole lines)"),
                new("token", "string", "The continuation_token of the previous read: returns only what was written since"),
                new("map_index", "integer", "For a mapped task: which instance (default -1, an unmapped task)"),
            ], TextResponse: true),
            async (ctx, _) =>
            {
                var (ti, run) = await RequireTiAsync(ops, ctx).ConfigureAwait(false);
                var tryText = ApiInput.Route(ctx, "task_try_number");
                if (!int.TryParse(tryText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var tryNumber) || tryNumber < 1)
                {
                    throw ApiException.BadRequest($"task_try_number must be a positive integer, got '{tryText}'");
                }

                if (tryNumber > Math.Max(ti.TryNumber, 1))
                {
                    throw ApiException.NotFound("Log not found", $"Task instance '{ti.TaskId}' has no try {tryNumber} (its latest try is {ti.TryNumber})");
                }

                var full = ApiInput.QueryBool(ctx, "full_content") ?? false;
                var offset = LogReader.ParseToken(ctx.Request.Query["token"]);
                var plain = ctx.Request.Headers.Accept.ToString().Contains("text/plain", StringComparison.OrdinalIgnoreCase);
                if (full && plain)
                {
                    // A whole log as text is streamed line by line, however large.
                    var path = await LogReader.LocateAsync(state, run, ti, tryNumber, ctx.RequestAborted).ConfigureAwait(false);
                    return Results.Stream(output => LogReader.StreamAsync(state, path, offset, output, ctx.RequestAborted), "text/plain; charset=utf-8");
                }

                var chunk = await LogReader.ReadAsync(state, run, ti, tryNumber, offset, full, ctx.RequestAborted).ConfigureAwait(false);
                var token = LogReader.Token(chunk.NextOffset);
                if (plain)
                {
                    ctx.Response.Headers["X-Continuation-Token"] = token;
                    return Results.Text(chunk.Content, "text/plain; charset=utf-8");
                }

                return Results.Json(new JsonObject
                {
                    ["content"] = chunk.Content,
                    ["continuation_token"] = token,
                    ["end_of_log"] = chunk.EndOfLog,
                });
            });

        api.Add(
            new ApiRoute("GET", Ti + "/xcomEntries", "get_xcom_entries", "XCom", "List a task instance's XComs", Role.Viewer, "XComCollection", Query: page),
            async (ctx, _) =>
            {
                var (ti, run) = await RequireTiAsync(ops, ctx).ConfigureAwait(false);
                var (limit, offset) = ApiInput.Page(ctx);
                var all = await state.Store.ListXComsAsync(ti.DagId, ti.RunId, ti.TaskId, ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(ApiJson.Collection("xcom_entries", all.Skip(offset).Take(limit).Select(x => ApiJson.XCom(x, run, state.Masker, withValue: false)), all.Count));
            });

        api.Add(new ApiRoute("GET", Ti + "/xcomEntries/{xcom_key}", "get_xcom_entry", "XCom", "Get an XCom with its value", Role.Viewer, "XCom"), async (ctx, _) =>
        {
            var (ti, run) = await RequireTiAsync(ops, ctx).ConfigureAwait(false);
            var key = ApiInput.Route(ctx, "xcom_key");
            var x = await state.Store.GetXComAsync(ti.DagId, ti.TaskId, ti.RunId, key, ti.MapIndex, ctx.RequestAborted).ConfigureAwait(false)
                ?? throw ApiException.NotFound("XCom entry not found", $"XCom '{key}' of task '{ti.TaskId}' in run '{ti.RunId}' not found");
            return Results.Json(ApiJson.XCom(x, run, state.Masker, withValue: true));
        });
    }

    private static async Task<(TaskInstance Ti, DagRun Run)> RequireTiAsync(Operations ops, HttpContext ctx)
    {
        var dagId = ApiInput.Route(ctx, "dag_id");
        var runId = ApiInput.Route(ctx, "dag_run_id");
        var run = await ops.RequireRunAsync(dagId, runId, ctx.RequestAborted).ConfigureAwait(false);
        var mapText = ctx.Request.RouteValues.TryGetValue("map_index", out var routed) ? routed?.ToString() : null;
        int mapIndex;
        if (mapText is null)
        {
            mapIndex = ApiInput.QueryInt(ctx, "map_index") ?? -1;
        }
        else if (!int.TryParse(mapText, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out mapIndex) || mapIndex < -1)
        {
            throw ApiException.BadRequest($"map_index must be an integer of -1 or more, got '{mapText}'");
        }

        var ti = await ops.RequireTaskInstanceAsync(dagId, runId, ApiInput.Route(ctx, "task_id"), ctx.RequestAborted, mapIndex).ConfigureAwait(false);
        return (ti, run);
    }

    private static T Parse<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (SiroccoException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
    }

    private static List<DagRunState> ParseRunStates(IEnumerable<string> names) => [.. names.Select(n => Parse(() => StateNames.ParseDagRunState(n)))];

    private static async Task<JsonObject> ListRunsAsync(WebState state, IReadOnlyList<string>? dagIds, List<DagRunState> states, (string Field, bool Descending) order, int limit, int offset, CancellationToken ct)
    {
        var runs = new List<DagRun>();
        foreach (var id in dagIds ?? [null!])
        {
            runs.AddRange(await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = id, States = states.Count > 0 ? states : null, Limit = 1_000_000 }, ct).ConfigureAwait(false));
        }

        var sorted = ApiInput.Sort(runs, order, (r, f) => f switch
        {
            "start_date" => r.StartDate,
            "end_date" => r.EndDate,
            "state" => r.State.ToName(),
            "dag_run_id" => r.RunId,
            "dag_id" => r.DagId,
            _ => r.LogicalDate,
        });
        return ApiJson.Collection("dag_runs", sorted.Skip(offset).Take(limit).Select(r => ApiJson.DagRun(r, state.Masker)), runs.Count);
    }

    private static JsonObject Reference(TaskInstance t, DagRun? run) => new()
    {
        ["task_id"] = t.TaskId,
        ["dag_id"] = t.DagId,
        ["dag_run_id"] = t.RunId,
        ["execution_date"] = ApiJson.Iso(run?.LogicalDate),
    };

    private static JsonObject References(IEnumerable<TaskInstance> tis, DagRun run) =>
        new() { ["task_instances"] = new JsonArray([.. tis.Select(t => (JsonNode)Reference(t, run))]) };
}
