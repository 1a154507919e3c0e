using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary><c>/dags</c>, <c>/dags/{id}/details</c>, <c>/dags/{id}/tasks</c>.</summary>
internal static class DagEndpoints
{
    private const string P = "/api/v1";

    public static void Register(ApiRegistry api, WebState state, Operations ops)
    {
        api.Add(
            new ApiRoute("GET", P + "/dags", "get_dags", "DAG", "List DAGs", Role.Viewer, "DAGCollection", Query:
            [
                new("limit", "integer", "Most items returned (1-1000, default 100)"),
                new("offset", "integer", "Items skipped"),
                new("order_by", "string", "dag_id, last_parsed_time or next_dagrun; '-' first for descending"),
                new("tags", "string", "Only DAGs with one of these tags (repeat or comma-separate)"),
                new("only_active", "boolean", "Only DAGs whose file still exists (default true)"),
                new("paused", "boolean", "Only paused (true) or unpaused (false) DAGs"),
                new("dag_id_pattern", "string", "Only DAG ids containing this text"),
            ]),
            async (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "dag_id", "dag_id", "last_parsed_time");
                var tags = ApiInput.QueryList(ctx, "tags");
                var onlyActive = ApiInput.QueryBool(ctx, "only_active") ?? true;
                var paused = ApiInput.QueryBool(ctx, "paused");
                var pattern = ctx.Request.Query["dag_id_pattern"].ToString();
                var models = (await state.Store.ListDagsAsync(ctx.RequestAborted).ConfigureAwait(false))
                    .Where(m => (!onlyActive || m.IsActive) && (paused is null || m.IsPaused == paused)
                        && (tags.Count == 0 || m.Tags.Any(tags.Contains))
                        && (pattern.Length == 0 || m.DagId.Contains(pattern, StringComparison.OrdinalIgnoreCase)))
                    .ToList();
                var errors = await ImportErrorFilesAsync(state, ctx.RequestAborted).ConfigureAwait(false);
                var page = ApiInput.Sort(models, order, (m, f) => f == "dag_id" ? m.DagId : m.LastParsedTime).Skip(offset).Take(limit);
                var items = new List<JsonObject>();
                foreach (var m in page)
                {
                    items.Add(await DagJsonAsync(state, m, errors, ctx.RequestAborted).ConfigureAwait(false));
                }

                return Results.Json(ApiJson.Collection("dags", items, models.Count));
            });

        api.Add(new ApiRoute("GET", P + "/dags/{dag_id}", "get_dag", "DAG", "Get a DAG", Role.Viewer, "DAG"), async (ctx, _) =>
        {
            var m = await ops.RequireDagAsync(ApiInput.Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(await DagJsonAsync(state, m, await ImportErrorFilesAsync(state, ctx.RequestAborted).ConfigureAwait(false), ctx.RequestAborted).ConfigureAwait(false));
        });

        api.Add(
            new ApiRoute("PATCH", P + "/dags/{dag_id}", "patch_dag", "DAG", "Pause or unpause a DAG", Role.User, "DAG", "DAGPatch", [new("update_mask", "string", "Fields to update: is_paused")]),
            async (ctx, _) =>
            {
                var dagId = ApiInput.Route(ctx, "dag_id");
                ApiInput.UpdateMask(ctx, "is_paused");
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var paused = ApiInput.Bool(body, "is_paused") ?? throw ApiException.BadRequest("'is_paused' is required: true or false");
                var m = await ops.SetPausedAsync(dagId, paused, ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(await DagJsonAsync(state, m, await ImportErrorFilesAsync(state, ctx.RequestAborted).ConfigureAwait(false), ctx.RequestAborted).ConfigureAwait(false));
            });

        api.Add(new ApiRoute("GET", P + "/dags/{dag_id}/details", "get_dag_details", "DAG", "Get a DAG's details", Role.Viewer, "DAGDetail"), async (ctx, _) =>
        {
            var m = await ops.RequireDagAsync(ApiInput.Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
            var dag = state.Dag(m.DagId);
            var recent = await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = m.DagId, Limit = 25 }, ctx.RequestAborted).ConfigureAwait(false);
            var errors = await ImportErrorFilesAsync(state, ctx.RequestAborted).ConfigureAwait(false);
            var next = m.IsPaused ? null : ApiJson.NextRun(dag, recent, state.Time.GetUtcNow(), CatchupDefault(state));
            return Results.Json(ApiJson.DagDetails(m, dag, m.FileLoc is not null && errors.Contains(m.FileLoc), next, state.Masker));
        });

        api.Add(
            new ApiRoute("GET", P + "/dags/{dag_id}/tasks", "get_tasks", "DAG", "List a DAG's tasks", Role.Viewer, "TaskCollection", Query: [new("order_by", "string", "task_id (default)")]),
            async (ctx, _) =>
            {
                var dag = await RequireParsedDagAsync(state, ops, ApiInput.Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
                var order = ApiInput.OrderBy(ctx, "task_id", "task_id");
                var tasks = ApiInput.Sort(dag.Tasks, order, (t, _) => t.TaskId).Select(ApiJson.Task).ToList();
                return Results.Json(ApiJson.Collection("tasks", tasks, tasks.Count));
            });

        api.Add(new ApiRoute("GET", P + "/dags/{dag_id}/tasks/{task_id}", "get_task", "DAG", "Get a task", Role.Viewer, "Task"), async (ctx, _) =>
        {
            var dag = await RequireParsedDagAsync(state, ops, ApiInput.Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
            var taskId = ApiInput.Route(ctx, "task_id");
            return dag.HasTask(taskId)
                ? Results.Json(ApiJson.Task(dag.GetTask(taskId)))
                : throw ApiException.NotFound("Task not found", $"Task with id '{taskId}' not found in DAG '{dag.DagId}'");
        });
    }

    public static bool CatchupDefault(WebState state) =>
        !state.Config.TryGet("scheduler", "catchup_by_default", out var v) || !string.Equals(v, "false", StringComparison.OrdinalIgnoreCase);

    public static async Task<Dag> RequireParsedDagAsync(WebState state, Operations ops, string dagId, CancellationToken ct)
    {
        await ops.RequireDagAsync(dagId, ct).ConfigureAwait(false);
        return state.Dag(dagId) ?? throw ApiException.NotFound("DAG not parsed", $"DAG '{dagId}' is known but its file is not loaded now (see importErrors)");
    }

    public static async Task<HashSet<string>> ImportErrorFilesAsync(WebState state, CancellationToken ct) =>
        (await state.Store.ListImportErrorsAsync(ct).ConfigureAwait(false)).Select(e => e.FileName).ToHashSet(StringComparer.Ordinal);

    private static async Task<JsonObject> DagJsonAsync(WebState state, DagModel m, HashSet<string> errorFiles, CancellationToken ct)
    {
        var dag = state.Dag(m.DagId);
        Scheduling.NextRunInfo? next = null;
        if (!m.IsPaused && dag is not null)
        {
            var recent = await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = m.DagId, Limit = 25 }, ct).ConfigureAwait(false);
            next = ApiJson.NextRun(dag, recent, state.Time.GetUtcNow(), CatchupDefault(state));
        }

        return ApiJson.Dag(m, dag, m.FileLoc is not null && errorFiles.Contains(m.FileLoc), next);
    }

    internal static Regex? SafeRegex(string? pattern) => string.IsNullOrEmpty(pattern) ? null : new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
}
