using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Api;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

/// <summary>A DAG's pages: grid, graph, trigger, run, task instance and its live log.</summary>
internal static partial class UiPages
{
    private const int GridRuns = 25;

    private static void RegisterDag(WebApplication app, Authenticator auth, WebState state, Operations ops)
    {
        Get(app, auth, "/dags/{dag_id}", Role.Viewer, (ctx, _) => Task.FromResult(Results.Redirect($"/dags/{U(Route(ctx, "dag_id"))}/grid")));
        Get(app, auth, "/dags/{dag_id}/grid", Role.Viewer, (ctx, user) => GridPageAsync(ctx, user, state, ops));
        Get(app, auth, "/dags/{dag_id}/graph", Role.Viewer, (ctx, user) => GraphPageAsync(ctx, user, state, ops));
        Get(app, auth, "/dags/{dag_id}/trigger", Role.User, async (ctx, user) =>
        {
            var model = await ops.RequireDagAsync(Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
            var dag = state.Dag(model.DagId);
            var conf = dag is null || dag.Params.Count == 0 ? "{}" : ApiJson.Masked(System.Text.Json.JsonSerializer.SerializeToNode(dag.Params), state.Masker)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
            return TriggerPage(ctx, user, model.DagId, conf, string.Empty, null);
        });
        Post(app, auth, "/dags/{dag_id}/trigger", Role.User, async (ctx, user) =>
        {
            var dagId = Route(ctx, "dag_id");
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var confText = form["conf"].ToString();
            var dateText = form["logical_date"].ToString();
            try
            {
                var conf = Operations.ParseConf(confText);
                DateTimeOffset? logical = string.IsNullOrWhiteSpace(dateText) ? null : ApiInput.ParseDate("logical_date", dateText);
                var run = await ops.TriggerAsync(dagId, conf, logical, null, ctx.RequestAborted).ConfigureAwait(false);
                Flash(ctx, $"Triggered {dagId}: run {run.RunId}");
                return Results.Redirect($"/dags/{U(dagId)}/grid");
            }
            catch (ApiException e) when (e.Status is 400 or 409)
            {
                return TriggerPage(ctx, user, dagId, confText, dateText, e.Message, 400);
            }
        });
        Post(app, auth, "/dags/{dag_id}/pause", Role.User, async (ctx, _) =>
        {
            var dagId = Route(ctx, "dag_id");
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var paused = form["is_paused"].ToString() switch
            {
                "true" => true,
                "false" => false,
                var other => throw ApiException.BadRequest($"is_paused must be true or false, got '{other}'"),
            };
            await ops.SetPausedAsync(dagId, paused, ctx.RequestAborted).ConfigureAwait(false);
            Flash(ctx, $"{dagId} is {(paused ? "paused" : "active")}");
            return Results.Redirect(SafeNext(form["next"].ToString()));
        });

        Get(app, auth, "/dags/{dag_id}/runs/{run_id}", Role.Viewer, (ctx, user) => RunPageAsync(ctx, user, state, ops));
        Post(app, auth, "/dags/{dag_id}/runs/{run_id}/action", Role.User, async (ctx, user) =>
        {
            var run = await ops.RequireRunAsync(Route(ctx, "dag_id"), Route(ctx, "run_id"), ctx.RequestAborted).ConfigureAwait(false);
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var runUrl = $"/dags/{U(run.DagId)}/runs/{U(run.RunId)}";
            switch (form["action"].ToString())
            {
                case "clear":
                    var n = (await ops.ClearAsync(run.DagId, [run], null, form["only_failed"] == "true", false, false, Operations.UI(user), ctx.RequestAborted).ConfigureAwait(false)).Count;
                    Flash(ctx, $"{n} task instance(s) cleared");
                    return Results.Redirect(runUrl);
                case "success":
                case "failed":
                    await ops.MarkRunAsync(run, StateNames.ParseDagRunState(form["action"].ToString()), Operations.UI(user), ctx.RequestAborted).ConfigureAwait(false);
                    Flash(ctx, $"Run marked {form["action"]}");
                    return Results.Redirect(runUrl);
                case "delete":
                    await state.Store.DeleteDagRunAsync(run.DagId, run.RunId, ctx.RequestAborted).ConfigureAwait(false);
                    Flash(ctx, $"Run {run.RunId} deleted");
                    return Results.Redirect($"/dags/{U(run.DagId)}/grid");
                default:
                    throw ApiException.BadRequest($"unknown action '{form["action"]}': use clear, success, failed or delete");
            }
        });

        Get(app, auth, "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", Role.Viewer, (ctx, user) => TaskInstancePageAsync(ctx, user, state, ops));
        Post(app, auth, "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/action", Role.User, async (ctx, user) =>
        {
            var ti = await ops.RequireTaskInstanceAsync(Route(ctx, "dag_id"), Route(ctx, "run_id"), Route(ctx, "task_id"), ctx.RequestAborted, ApiInput.QueryInt(ctx, "map_index") ?? -1).ConfigureAwait(false);
            var run = (await state.Store.GetDagRunAsync(ti.DagId, ti.RunId, ctx.RequestAborted).ConfigureAwait(false))!;
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var url = $"/dags/{U(ti.DagId)}/runs/{U(ti.RunId)}/tasks/{U(ti.TaskId)}" + (ti.MapIndex >= 0 ? $"?map_index={ti.MapIndex}" : string.Empty);
            switch (form["action"].ToString())
            {
                case "clear":
                    var n = (await ops.ClearAsync(ti.DagId, [run], [ti.TaskId], false, form["downstream"] == "true", false, Operations.UI(user), ctx.RequestAborted).ConfigureAwait(false)).Count;
                    Flash(ctx, n == 0 ? "Nothing cleared: the task instance has no state yet" : $"{n} task instance(s) cleared");
                    return Results.Redirect(url);
                case "success":
                case "failed":
                    await ops.MarkTaskInstanceAsync(ti, StateNames.ParseTaskInstanceState(form["action"].ToString()), Operations.UI(user), ctx.RequestAborted).ConfigureAwait(false);
                    Flash(ctx, $"Task instance marked {form["action"]}");
                    return Results.Redirect(url);
                default:
                    throw ApiException.BadRequest($"unknown action '{form["action"]}': use clear, success or failed");
            }
        });

        // The live log's JSON feed (session cookie; GET only).
        Get(app, auth, "/ui/log", Role.Viewer, async (ctx, _) =>
        {
            var q = ctx.Request.Query;
            var ti = await ops.RequireTaskInstanceAsync(q["dag_id"].ToString(), q["run_id"].ToString(), q["task_id"].ToString(), ctx.RequestAborted, ApiInput.QueryInt(ctx, "map_index") ?? -1).ConfigureAwait(false);
            var run = (await state.Store.GetDagRunAsync(ti.DagId, ti.RunId, ctx.RequestAborted).ConfigureAwait(false))!;
            var tryNumber = ApiInput.QueryInt(ctx, "try") ?? Math.Max(ti.TryNumber, 1);
            if (ApiInput.QueryBool(ctx, "download") == true)
            {
                var path = await LogReader.LocateAsync(state, run, ti, tryNumber, ctx.RequestAborted).ConfigureAwait(false);
                ctx.Response.Headers.ContentDisposition = $"attachment; filename=\"{ti.TaskId}-try-{tryNumber}.log\"";
                return Results.Stream(output => LogReader.StreamAsync(state, path, 0, output, ctx.RequestAborted), "text/plain; charset=utf-8");
            }

            var chunk = await LogReader.ReadAsync(state, run, ti, tryNumber, LogReader.ParseToken(q["token"]), false, ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(new JsonObject
            {
                ["content"] = chunk.Content,
                ["continuation_token"] = LogReader.Token(chunk.NextOffset),
                ["end_of_log"] = chunk.EndOfLog,
                ["state"] = ti.State.ToName(),
            });
        });
    }

    private static string Route(HttpContext ctx, string name) => ApiInput.Route(ctx, name);

    private static string DagHeader(HttpContext ctx, Principal user, DagModel m, string tab)
    {
        var sb = new StringBuilder();
        sb.Append("<div class=\"actions\"><h1>DAG: ").Append(E(m.DagId)).Append("</h1>");
        if (user.Can(Role.User))
        {
            sb.Append("<form class=\"inline\" method=\"post\" action=\"/dags/").Append(U(m.DagId)).Append("/pause\">").Append(Csrf(ctx))
                .Append(Hidden("is_paused", m.IsPaused ? "false" : "true")).Append(Hidden("next", $"/dags/{U(m.DagId)}/{tab}"))
                .Append("<button type=\"submit\" class=\"toggle").Append(m.IsPaused ? string.Empty : " on").Append("\" aria-label=\"").Append(m.IsPaused ? "Unpause" : "Pause").Append("\" title=\"")
                .Append(m.IsPaused ? "Paused: click to unpause" : "Active: click to pause").Append("\"></button></form> <span class=\"muted\">").Append(m.IsPaused ? "paused" : "active").Append("</span>");
            sb.Append("<a class=\"btn primary\" href=\"/dags/").Append(U(m.DagId)).Append("/trigger\">&#9654; Trigger DAG</a>");
        }

        sb.Append("</div><div class=\"actions\">");
        sb.Append("<a class=\"btn").Append(tab == "grid" ? " primary" : string.Empty).Append("\" href=\"/dags/").Append(U(m.DagId)).Append("/grid\">Grid</a>");
        sb.Append("<a class=\"btn").Append(tab == "graph" ? " primary" : string.Empty).Append("\" href=\"/dags/").Append(U(m.DagId)).Append("/graph\">Graph</a>");
        sb.Append("<span class=\"muted\">Schedule: <span class=\"mono\">").Append(E(m.Schedule)).Append("</span>");
        if (m.FileLoc is not null)
        {
            sb.Append(" · File: <span class=\"mono\">").Append(E(m.FileLoc)).Append("</span>");
        }

        sb.Append("</span></div>");
        return sb.ToString();
    }

    private static async Task<IResult> GridPageAsync(HttpContext ctx, Principal user, WebState state, Operations ops)
    {
        var m = await ops.RequireDagAsync(Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
        var grid = await GridAsync(state, m, ctx.RequestAborted).ConfigureAwait(false);
        if (ctx.Request.Query["fragment"] == "1")
        {
            return Results.Content(grid, "text/html; charset=utf-8");
        }

        var legend = new StringBuilder("<div class=\"legend\">");
        foreach (var s in new[] { "success", "running", "failed", "upstream_failed", "up_for_retry", "queued", "scheduled", "skipped", "none" })
        {
            legend.Append("<span><span class=\"sw st-").Append(s).Append("\"></span>").Append(s).Append("</span>");
        }

        legend.Append("</div>");
        var warnings = await WarningsBannerAsync(state, m.DagId, ctx.RequestAborted).ConfigureAwait(false);
        return Page(ctx, user, m.DagId, warnings + DagHeader(ctx, user, m, "grid") + grid + legend, "dags");
    }

    /// <summary>The grid: task rows × the latest runs (oldest left), each cell coloured by state; live while a run is active.</summary>
    private static async Task<string> GridAsync(WebState state, DagModel m, CancellationToken ct)
    {
        var runs = (await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = m.DagId, Limit = GridRuns }, ct).ConfigureAwait(false)).Reverse().ToList();
        // Per run and task, the state shown: a mapped task's instances summed up as a group's are.
        var tis = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var counts = new Dictionary<(string Run, string Task), string>();
        foreach (var r in runs)
        {
            var byTask = (await state.Store.ListTaskInstancesAsync(m.DagId, r.RunId, ct).ConfigureAwait(false)).GroupBy(t => t.TaskId, StringComparer.Ordinal).ToList();
            tis[r.RunId] = byTask.ToDictionary(g => g.Key, g => g.Count() == 1 && g.First().MapIndex < 0 ? g.First().State.ToName() : GroupState(g.Select(t => t.State.ToName())), StringComparer.Ordinal);
            foreach (var g in byTask.Where(g => g.Any(t => t.MapIndex >= 0)))
            {
                counts[(r.RunId, g.Key)] = $" · {g.Count()} mapped: " + string.Join(", ", g.GroupBy(t => t.State.ToName()).Select(s => $"{s.Count()} {s.Key}"));
            }
        }

        var dag = state.Dag(m.DagId);

        // Tasks of one task group stay together, under a row for the group, in the order the group first appears.
        var groups = new Dictionary<string, string?>(StringComparer.Ordinal);
        var taskIds = dag is not null
            ? dag.TopologicalOrder().Select(t => (t.TaskId, Group: t.TaskGroupId)).ToList()
            : tis.Values.SelectMany(x => x.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(id => (TaskId: id, Group: (string?)null)).ToList();
        var firstSeen = taskIds.Select((t, i) => (t.Group, i)).Where(x => x.Group is not null).GroupBy(x => x.Group!).ToDictionary(g => g.Key, g => g.Min(x => x.i), StringComparer.Ordinal);
        taskIds = [.. taskIds.Select((t, i) => (t, i)).OrderBy(x => x.t.Group is null ? x.i : firstSeen[x.t.Group]).ThenBy(x => x.i).Select(x => x.t)];
        var active = runs.Any(r => r.State is DagRunState.Queued or DagRunState.Running);
        var sb = new StringBuilder();
        sb.Append("<div class=\"grid-wrap\" id=\"grid\" data-active=\"").Append(active ? "true" : "false").Append("\" data-src=\"/dags/").Append(U(m.DagId)).Append("/grid?fragment=1\">");
        if (runs.Count == 0)
        {
            sb.Append("<p class=\"muted\">No runs yet.</p></div>");
            return sb.ToString();
        }

        sb.Append("<table class=\"grid\"><thead><tr><th></th>");
        foreach (var r in runs)
        {
            sb.Append("<td><a class=\"runbar st-").Append(r.State.ToName()).Append("\" data-run-id=\"").Append(E(r.RunId)).Append("\" data-state=\"").Append(r.State.ToName())
                .Append("\" href=\"/dags/").Append(U(m.DagId)).Append("/runs/").Append(U(r.RunId)).Append("\" title=\"").Append(E(r.RunId)).Append(": ").Append(r.State.ToName()).Append("\"></a></td>");
        }

        sb.Append("</tr></thead><tbody>");
        string? currentGroup = null;
        foreach (var (taskId, group) in taskIds)
        {
            if (group is not null && group != currentGroup)
            {
                // The group's row: per run, the state that matters most among its tasks.
                sb.Append("<tr class=\"group\" data-group=\"").Append(E(group)).Append("\"><th class=\"task group\">&#9662; ").Append(E(group)).Append("</th>");
                var members = taskIds.Where(t => t.Group == group).Select(t => t.TaskId).ToList();
                foreach (var r in runs)
                {
                    var gs = GroupState(members.Select(id => tis[r.RunId].GetValueOrDefault(id, "none")));
                    sb.Append("<td><span class=\"cell st-").Append(gs).Append("\" data-group=\"").Append(E(group)).Append("\" data-run-id=\"").Append(E(r.RunId)).Append("\" data-state=\"").Append(gs)
                        .Append("\" title=\"").Append(E(group)).Append(" · ").Append(E(r.RunId)).Append(": ").Append(gs).Append("\"></span></td>");
                }

                sb.Append("</tr>");
            }

            currentGroup = group;
            var isMapped = dag is not null && dag.HasTask(taskId) && dag.GetTask(taskId).IsMapped;
            sb.Append("<tr").Append(group is null ? string.Empty : " class=\"in-group\"").Append("><th class=\"task\">").Append(E(taskId)).Append(isMapped ? " <span class=\"muted\">[ ]</span>" : string.Empty).Append("</th>");
            foreach (var r in runs)
            {
                var s = tis[r.RunId].GetValueOrDefault(taskId, "none");
                sb.Append("<td><a class=\"cell st-").Append(s).Append("\" data-task-id=\"").Append(E(taskId)).Append("\" data-run-id=\"").Append(E(r.RunId)).Append("\" data-state=\"").Append(s)
                    .Append("\" href=\"/dags/").Append(U(m.DagId)).Append("/runs/").Append(U(r.RunId)).Append("/tasks/").Append(U(taskId))
                    .Append("\" title=\"").Append(E(taskId)).Append(" · ").Append(E(r.RunId)).Append(": ").Append(s).Append(E(counts.GetValueOrDefault((r.RunId, taskId), string.Empty))).Append("\"></a></td>");
            }

            sb.Append("</tr>");
        }

        sb.Append("</tbody></table>");
        if (active)
        {
            sb.Append("<p class=\"live\">&#9679; live: refreshing while runs are active</p>");
        }

        sb.Append("</div>");
        return sb.ToString();
    }

    /// <summary>A task group's state in one run: failed before running before queued …, success only when all are.</summary>
    private static string GroupState(IEnumerable<string> states)
    {
        var all = states.ToList();
        foreach (var s in new[] { "failed", "upstream_failed", "up_for_retry", "running", "queued", "scheduled" })
        {
            if (all.Contains(s))
            {
                return s;
            }
        }

        return all.Count > 0 && all.All(s => s is "success" or "skipped") ? (all.All(s => s == "skipped") ? "skipped" : "success") : "none";
    }

    private static async Task<IResult> GraphPageAsync(HttpContext ctx, Principal user, WebState state, Operations ops)
    {
        var m = await ops.RequireDagAsync(Route(ctx, "dag_id"), ctx.RequestAborted).ConfigureAwait(false);
        var dag = state.Dag(m.DagId);
        var sb = new StringBuilder(DagHeader(ctx, user, m, "graph"));
        if (dag is null)
        {
            sb.Append("<div class=\"card muted\">The DAG's file is not loaded now, so its structure is unknown.</div>");
            return Page(ctx, user, m.DagId, sb.ToString(), "dags");
        }

        var runId = ctx.Request.Query["run_id"].ToString();
        var run = runId.Length > 0
            ? await ops.RequireRunAsync(m.DagId, runId, ctx.RequestAborted).ConfigureAwait(false)
            : (await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = m.DagId, Limit = 1 }, ctx.RequestAborted).ConfigureAwait(false)).FirstOrDefault();
        var states = run is null ? [] : (await state.Store.ListTaskInstancesAsync(m.DagId, run.RunId, ctx.RequestAborted).ConfigureAwait(false))
            .GroupBy(t => t.TaskId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => GroupState(g.Select(t => t.State.ToName())), StringComparer.Ordinal);

        // Layers: a task sits one column right of its furthest upstream task.
        var order = dag.TopologicalOrder();
        var layer = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in order)
        {
            layer[t.TaskId] = t.UpstreamTaskIds.Count == 0 ? 0 : t.UpstreamTaskIds.Where(layer.ContainsKey).Select(u => layer[u] + 1).DefaultIfEmpty(0).Max();
        }

        var rows = new Dictionary<int, int>();
        var pos = new Dictionary<string, (int X, int Y)>(StringComparer.Ordinal);
        const int w = 170, h = 34, dx = 230, dy = 54;
        foreach (var t in order)
        {
            var col = layer[t.TaskId];
            var row = rows.GetValueOrDefault(col);
            rows[col] = row + 1;
            pos[t.TaskId] = (20 + (col * dx), 20 + (row * dy));
        }

        var groupBoxes = new StringBuilder();
        var width = 40 + ((rows.Count == 0 ? 1 : rows.Keys.Max() + 1) * dx);
        var height = 40 + ((rows.Count == 0 ? 1 : rows.Values.Max()) * dy);
        sb.Append("<p class=\"muted\">").Append(run is null ? "No runs yet." : $"States of run {E(run.RunId)}.").Append("</p>");
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"graph\"><svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Graph of {E(m.DagId)}\">");
        // Each task group: a box behind its tasks, with its id above them.
        foreach (var g in order.Where(t => t.TaskGroupId is not null).GroupBy(t => t.TaskGroupId!, StringComparer.Ordinal))
        {
            var x0 = g.Min(t => pos[t.TaskId].X) - 8;
            var y0 = g.Min(t => pos[t.TaskId].Y) - 18;
            var x1 = g.Max(t => pos[t.TaskId].X) + w + 8;
            var y1 = g.Max(t => pos[t.TaskId].Y) + h + 8;
            groupBoxes.Append(CultureInfo.InvariantCulture, $"<g class=\"taskgroup\" data-group=\"{E(g.Key)}\"><rect x=\"{x0}\" y=\"{y0}\" width=\"{x1 - x0}\" height=\"{y1 - y0}\" rx=\"8\"/><text x=\"{x0 + 8}\" y=\"{y0 + 12}\" font-size=\"10\">{E(g.Key)}</text></g>");
        }

        sb.Append(groupBoxes);
        sb.Append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#9aa5b1\"/></marker></defs>");
        foreach (var t in order)
        {
            foreach (var d in t.DownstreamTaskIds.Order(StringComparer.Ordinal))
            {
                if (pos.TryGetValue(d, out var to))
                {
                    var from = pos[t.TaskId];
                    sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{from.X + w}\" y1=\"{from.Y + (h / 2)}\" x2=\"{to.X - 2}\" y2=\"{to.Y + (h / 2)}\" marker-end=\"url(#arrow)\"/>");
                }
            }
        }

        foreach (var t in order)
        {
            var (x, y) = pos[t.TaskId];
            var s = states.GetValueOrDefault(t.TaskId, "none");
            var light = s is "success" or "failed" or "queued" or "skipped" or "upstream_failed";
            var href = run is null ? "#" : $"/dags/{U(m.DagId)}/runs/{U(run.RunId)}/tasks/{U(t.TaskId)}";
            sb.Append(CultureInfo.InvariantCulture, $"<a href=\"{E(href)}\" data-task-id=\"{E(t.TaskId)}\" data-state=\"{s}\"><rect class=\"node st-{s}\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"5\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 10}\" y=\"{y + 15}\"{(light ? " class=\"light\"" : string.Empty)}>{E(Shorten(t.TaskId, 24))}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 10}\" y=\"{y + 28}\" font-size=\"10\"{(light ? " class=\"light\"" : string.Empty)}>{E(t.OperatorName)}</text></a>");
        }

        sb.Append("</svg></div>");
        return Page(ctx, user, m.DagId, sb.ToString(), "dags");
    }

    private static string Shorten(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    private static IResult TriggerPage(HttpContext ctx, Principal user, string dagId, string conf, string date, string? error, int status = 200)
    {
        var body = $"""
            <h1>Trigger DAG: {E(dagId)}</h1>
            {(error is null ? string.Empty : $"<div class=\"flash error\" role=\"alert\">{E(error)}</div>")}
            <form class="card" method="post" action="/dags/{U(dagId)}/trigger">
              {Csrf(ctx)}
              <label class="field"><span>Logical date <small>(optional, ISO 8601; default: now)</small></span><input type="text" name="logical_date" placeholder="2024-01-31T00:00:00+00:00" value="{E(date)}"></label>
              <label class="field"><span>Configuration JSON <small>(dag_run.conf: a JSON object)</small></span><textarea name="conf" id="conf">{E(conf)}</textarea></label>
              <button type="submit" class="primary">Trigger</button> <a class="btn" href="/dags/{U(dagId)}/grid">Cancel</a>
            </form>
            """;
        return Page(ctx, user, "Trigger " + dagId, body, "dags", status);
    }

    private static async Task<IResult> RunPageAsync(HttpContext ctx, Principal user, WebState state, Operations ops)
    {
        var run = await ops.RequireRunAsync(Route(ctx, "dag_id"), Route(ctx, "run_id"), ctx.RequestAborted).ConfigureAwait(false);
        var tis = await state.Store.ListTaskInstancesAsync(run.DagId, run.RunId, ctx.RequestAborted).ConfigureAwait(false);
        var sb = new StringBuilder();
        sb.Append("<p><a href=\"/dags/").Append(U(run.DagId)).Append("/grid\">&larr; ").Append(E(run.DagId)).Append("</a></p>");
        sb.Append("<h1>Run ").Append(E(run.RunId)).Append(' ').Append(Html.State(run.State)).Append("</h1>");
        sb.Append("<div class=\"card\"><table class=\"kv\">");
        Row(sb, "Run type", E(run.RunType.ToName()));
        Row(sb, "Logical date", Html.Time(run.LogicalDate));
        Row(sb, "Data interval", Html.Time(run.DataInterval.Start) + " → " + Html.Time(run.DataInterval.End));
        Row(sb, "Queued at", Html.Time(run.QueuedAt));
        Row(sb, "Started", Html.Time(run.StartDate));
        Row(sb, "Ended", Html.Time(run.EndDate));
        Row(sb, "Duration", E(ApiJson.Seconds(run.StartDate is { } s && run.EndDate is { } e ? e - s : null)));
        Row(sb, "Conf", "<pre class=\"mono\">" + E(ApiJson.Masked(run.Conf, state.Masker)!.ToJsonString()) + "</pre>");
        sb.Append("</table></div>");
        if (user.Can(Role.User))
        {
            var action = $"/dags/{U(run.DagId)}/runs/{U(run.RunId)}/action";
            sb.Append("<div class=\"actions\">")
                .Append(ButtonForm(ctx, action, "Clear", hidden: Hidden("action", "clear")))
                .Append(ButtonForm(ctx, action, "Clear failed", hidden: Hidden("action", "clear") + Hidden("only_failed", "true")))
                .Append(ButtonForm(ctx, action, "Mark success", hidden: Hidden("action", "success")))
                .Append(ButtonForm(ctx, action, "Mark failed", hidden: Hidden("action", "failed")))
                .Append(ButtonForm(ctx, action, "Delete run", "danger", "Delete this run and its task instances?", Hidden("action", "delete")))
                .Append("</div>");
        }

        sb.Append("<table class=\"list\"><thead><tr><th>Task</th><th>State</th><th>Try</th><th>Started</th><th>Duration</th><th>Operator</th><th>Pod</th></tr></thead><tbody>");
        foreach (var ti in tis.OrderBy(t => t.StartDate ?? DateTimeOffset.MaxValue).ThenBy(t => t.TaskId, StringComparer.Ordinal))
        {
            sb.Append("<tr><td><a href=\"/dags/").Append(U(run.DagId)).Append("/runs/").Append(U(run.RunId)).Append("/tasks/").Append(U(ti.TaskId)).Append("\">").Append(E(ti.TaskId)).Append("</a></td><td>")
                .Append(Html.State(ti.State)).Append("</td><td>").Append(ti.TryNumber).Append('/').Append(ti.MaxTries).Append("</td><td>").Append(Html.Time(ti.StartDate)).Append("</td><td>")
                .Append(E(ApiJson.Seconds(ti.Duration))).Append("</td><td>").Append(E(ti.Operator)).Append("</td><td class=\"mono\">").Append(E(ti.ExternalId)).Append("</td></tr>");
        }

        sb.Append("</tbody></table>");
        return Page(ctx, user, run.RunId, sb.ToString(), "dags");
    }

    private static void Row(StringBuilder sb, string label, string html) => sb.Append("<tr><th>").Append(E(label)).Append("</th><td>").Append(html).Append("</td></tr>");

    private static async Task<IResult> TaskInstancePageAsync(HttpContext ctx, Principal user, WebState state, Operations ops)
    {
        var ct = ctx.RequestAborted;
        var mapIndex = ApiInput.QueryInt(ctx, "map_index") ?? -1;
        if (mapIndex == -1 && await ops.ListMappedAsync(Route(ctx, "dag_id"), Route(ctx, "run_id"), Route(ctx, "task_id"), ct).ConfigureAwait(false) is { Count: > 0 } mapped
            && await state.Store.GetTaskInstanceAsync(Route(ctx, "dag_id"), Route(ctx, "task_id"), Route(ctx, "run_id"), -1, ct).ConfigureAwait(false) is null)
        {
            return Page(ctx, user, Route(ctx, "task_id"), UiMapped.List(Route(ctx, "dag_id"), Route(ctx, "run_id"), Route(ctx, "task_id"), mapped), "dags");
        }

        var ti = await ops.RequireTaskInstanceAsync(Route(ctx, "dag_id"), Route(ctx, "run_id"), Route(ctx, "task_id"), ct, mapIndex).ConfigureAwait(false);
        var run = (await state.Store.GetDagRunAsync(ti.DagId, ti.RunId, ct).ConfigureAwait(false))!;
        var tries = await state.Store.ListTriesAsync(ti.DagId, ti.TaskId, ti.RunId, ti.MapIndex, ct).ConfigureAwait(false);
        var lastTry = Math.Max(ti.TryNumber, 1);
        var tryNumber = ApiInput.QueryInt(ctx, "try") ?? lastTry;
        if (tryNumber < 1 || tryNumber > lastTry)
        {
            throw ApiException.BadRequest($"try must be between 1 and {lastTry}, got {tryNumber}");
        }

        var baseUrl = $"/dags/{U(ti.DagId)}/runs/{U(ti.RunId)}/tasks/{U(ti.TaskId)}";
        var mi = ti.MapIndex >= 0 ? $"map_index={ti.MapIndex}&" : string.Empty;
        var sb = new StringBuilder();
        sb.Append("<p><a href=\"/dags/").Append(U(ti.DagId)).Append("/grid\">&larr; ").Append(E(ti.DagId)).Append("</a> / <a href=\"/dags/").Append(U(ti.DagId)).Append("/runs/").Append(U(ti.RunId)).Append("\">")
            .Append(E(ti.RunId)).Append("</a></p>");
        if (ti.MapIndex >= 0)
        {
            sb.Append("<p><a href=\"").Append(baseUrl).Append("\">&larr; all mapped instances of ").Append(E(ti.TaskId)).Append("</a></p>");
        }

        sb.Append("<h1>Task ").Append(E(ti.TaskId)).Append(ti.MapIndex >= 0 ? $" [{(ti.RenderedMapIndex is { } name ? E(name) : ti.MapIndex)}]" : string.Empty).Append(" <span id=\"ti-state\" class=\"state st-").Append(ti.State.ToName()).Append("\">").Append(ti.State.ToName()).Append("</span></h1>");
        sb.Append("<div class=\"card\"><table class=\"kv\">");
        Row(sb, "Operator", E(ti.Operator));
        Row(sb, "Try", $"{ti.TryNumber} of {ti.MaxTries}");
        Row(sb, "Started", Html.Time(ti.StartDate));
        Row(sb, "Ended", Html.Time(ti.EndDate));
        Row(sb, "Duration", E(ApiJson.Seconds(ti.Duration)));
        Row(sb, "Host", E(ti.Hostname));
        if (ti.ExternalId is { } ext)
        {
            var slash = ext.IndexOf('/', StringComparison.Ordinal);
            Row(sb, "Pod namespace", "<span class=\"mono\">" + E(slash > 0 ? ext[..slash] : string.Empty) + "</span>");
            Row(sb, "Pod name", "<span class=\"mono\">" + E(slash > 0 ? ext[(slash + 1)..] : ext) + "</span>");
        }

        Row(sb, "Pool", E(ti.Pool));
        if (ti.State == TaskInstanceState.Scheduled && ti.Pool != Pool.DefaultName
            && !(await state.Store.ListPoolsAsync(ctx.RequestAborted).ConfigureAwait(false)).Any(p => p.Name == ti.Pool))
        {
            Row(sb, "Waiting", $"<span id=\"ti-waiting\">pool <span class=\"mono\">{E(ti.Pool)}</span> does not exist, so this task is not scheduled: "
                + (user.Can(Role.Op) ? $"<a href=\"/admin/pools/add?name={U(ti.Pool)}\">create it</a>" : "ask an operator to create it") + "</span>");
        }

        sb.Append("</table></div>");
        if (user.Can(Role.User))
        {
            var action = baseUrl + "/action" + (ti.MapIndex >= 0 ? $"?map_index={ti.MapIndex}" : string.Empty);
            sb.Append("<div class=\"actions\">")
                .Append(ButtonForm(ctx, action, "Clear", hidden: Hidden("action", "clear")))
                .Append(ButtonForm(ctx, action, "Clear with downstream", hidden: Hidden("action", "clear") + Hidden("downstream", "true")))
                .Append(ButtonForm(ctx, action, "Mark success", hidden: Hidden("action", "success")))
                .Append(ButtonForm(ctx, action, "Mark failed", hidden: Hidden("action", "failed")))
                .Append("</div>");
        }

        var (fields, renderError) = TemplateView.Render(state, run, ti);
        if (fields is { Count: > 0 } || renderError is not null)
        {
            sb.Append("<h2>Rendered template fields</h2><div class=\"card\">");
            if (renderError is not null)
            {
                sb.Append("<div class=\"flash error\">").Append(E(renderError)).Append("</div>");
            }

            sb.Append("<table class=\"kv\">");
            foreach (var (k, v) in fields ?? [])
            {
                Row(sb, k, "<pre class=\"mono\">" + E(v) + "</pre>");
            }

            sb.Append("</table></div>");
        }

        if (tries.Count > 0)
        {
            sb.Append("<h2>Tries</h2><table class=\"list\"><thead><tr><th>Try</th><th>State</th><th>Started</th><th>Ended</th><th>Duration</th><th>Host</th><th>Pod</th></tr></thead><tbody>");
            foreach (var t in tries)
            {
                sb.Append("<tr><td><a href=\"").Append(baseUrl).Append('?').Append(mi).Append("try=").Append(t.TryNumber).Append("\">").Append(t.TryNumber).Append("</a></td><td>").Append(Html.State(t.State)).Append("</td><td>")
                    .Append(Html.Time(t.StartDate)).Append("</td><td>").Append(Html.Time(t.EndDate)).Append("</td><td>")
                    .Append(E(ApiJson.Seconds(t.StartDate is { } s && t.EndDate is { } e ? e - s : null))).Append("</td><td>").Append(E(t.Hostname)).Append("</td><td class=\"mono\">").Append(E(t.ExternalId)).Append("</td></tr>");
            }

            sb.Append("</tbody></table>");
        }

        var (chunk, skipped) = await LogReader.ReadTailAsync(state, run, ti, tryNumber, ct).ConfigureAwait(false);
        sb.Append("<h2>Log <span id=\"log-status\" class=\"").Append(chunk.EndOfLog ? "muted\">finished" : "live\">&#9679; live").Append("</span></h2><div class=\"tabs\">");
        for (var i = 1; i <= lastTry; i++)
        {
            sb.Append("<a href=\"").Append(baseUrl).Append('?').Append(mi).Append("try=").Append(i).Append('"').Append(i == tryNumber ? " class=\"active\"" : string.Empty).Append(">Try ").Append(i).Append("</a>");
        }

        var src = $"/ui/log?dag_id={U(ti.DagId)}&run_id={U(ti.RunId)}&task_id={U(ti.TaskId)}&{mi}try={tryNumber}";
        sb.Append("</div>");
        if (skipped > 0)
        {
            sb.Append("<p class=\"muted\" id=\"log-skipped\">The first ").Append(skipped.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Append(" bytes are not shown. <a href=\"").Append(E(src + "&download=true")).Append("\">Download the whole log</a></p>");
        }

        sb.Append("<pre class=\"log\" id=\"log\" data-src=\"").Append(E(src)).Append("\" data-token=\"").Append(E(LogReader.Token(chunk.NextOffset))).Append("\" data-done=\"")
            .Append(chunk.EndOfLog ? "true" : "false").Append("\">").Append(E(chunk.Exists || !chunk.EndOfLog ? chunk.Content : "(no log for this try)")).Append("</pre>");
        return Page(ctx, user, ti.TaskId, sb.ToString(), "dags");
    }
}
