using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary>The audit log, as Airflow's <c>/api/v1/eventLogs</c> serves it.</summary>
internal static class EventLogEndpoints
{
    private const string P = "/api/v1";

    public static void Register(ApiRegistry api, WebState state)
    {
        api.Add(
            new ApiRoute(
                "GET", P + "/eventLogs", "get_event_logs", "EventLog", "List audit log entries (who changed what, from the UI, the API or the CLI), newest first", Role.Viewer, "EventLogCollection",
                Query:
                [
                    new("limit", "integer", "Most items returned (1-1000, default 100)"), new("offset", "integer", "Items skipped"),
                    new("order_by", "string", "event_log_id or when; '-' first for descending (default -event_log_id)"),
                    new("dag_id", "string", "Only this DAG"), new("task_id", "string", "Only this task"), new("run_id", "string", "Only this run"),
                    new("owner", "string", "Only this user"), new("event", "string", "Only this event"),
                    new("included_events", "string", "Only these events (comma-separated)"), new("excluded_events", "string", "Not these events (comma-separated)"),
                    new("after", "string", "Only entries at or after this time (ISO 8601)"), new("before", "string", "Only entries before this time (ISO 8601)"),
                ]),
            async (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var (_, descending) = ApiInput.OrderBy(ctx, "-event_log_id", "event_log_id", "when");
                var q = ctx.Request.Query;
                string? One(string name) => q[name].ToString() is { Length: > 0 } v ? v : null;
                IReadOnlyCollection<string>? List(string name) => One(name)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var included = List("included_events");
                if (One("event") is { } single)
                {
                    included = [.. included ?? [], single];
                }

                var query = new EventLogQuery
                {
                    DagId = One("dag_id"),
                    TaskId = One("task_id"),
                    RunId = One("run_id"),
                    Owner = One("owner"),
                    IncludedEvents = included,
                    ExcludedEvents = List("excluded_events"),
                    After = One("after") is { } a ? ApiInput.ParseDate("after", a) : null,
                    Before = One("before") is { } b ? ApiInput.ParseDate("before", b) : null,
                    Limit = limit,
                    Offset = offset,
                    Descending = descending,
                };
                var (items, total) = await state.Store.ListEventLogsAsync(query, ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(ApiJson.Collection("event_logs", items.Select(Json), total));
            });
        api.Add(new ApiRoute("GET", P + "/eventLogs/{event_log_id}", "get_event_log", "EventLog", "Get an audit log entry", Role.Viewer, "EventLog"), async (ctx, _) =>
        {
            var text = ApiInput.Route(ctx, "event_log_id");
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw ApiException.BadRequest($"event_log_id must be a number, got '{Operations.Shorten(text)}'");
            }

            var entry = await state.Store.GetEventLogAsync(id, ctx.RequestAborted).ConfigureAwait(false)
                ?? throw ApiException.NotFound("Event Log not found", $"Event Log with id: {id} not found");
            return Results.Json(Json(entry));
        });
    }

    public static JsonObject Json(EventLogEntry e) => new()
    {
        ["event_log_id"] = e.Id,
        ["when"] = ApiJson.Iso(e.When),
        ["event"] = e.Event,
        ["owner"] = e.Owner,
        ["origin"] = e.Origin,
        ["dag_id"] = e.DagId,
        ["task_id"] = e.TaskId,
        ["run_id"] = e.RunId,
        ["map_index"] = e.MapIndex,
        ["try_number"] = e.TryNumber,
        ["execution_date"] = null,
        ["extra"] = e.Extra,
    };
}
