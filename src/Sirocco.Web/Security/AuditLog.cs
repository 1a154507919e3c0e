using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;

namespace Sirocco.Web.Security;

/// <summary>
/// Writes the audit log for the web server: every change made through the UI or the API (after it succeeded), logins,
/// failed logins and logouts. The DAG, task and run come from the route; details name what was changed, never a value.
/// </summary>
internal sealed class AuditLog
{
    /// <summary>Form fields and route values that say what was changed (names and choices, never secrets or values).</summary>
    private static readonly string[] DetailKeys =
        ["key", "conn_id", "connection_id", "variable_key", "username", "pool_name", "role", "action", "only_failed", "is_paused", "logical_date", "new_state", "state"];

    private readonly WebState _state;

    public AuditLog(WebState state) => _state = state;

    /// <summary>Records an API call that changed something: event <c>api.OPERATION_ID</c>.</summary>
    public Task ApiAsync(HttpContext context, string operationId, Principal? user) =>
        WriteAsync(context, "api." + operationId, user?.Username, "api", Details(context, form: false));

    /// <summary>Records a UI form that changed something: event <c>ui.WHAT</c> from the form's path and action.</summary>
    public Task UiAsync(HttpContext context, string pattern, Principal user)
    {
        var names = new List<string>();
        foreach (var segment in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment.StartsWith('{') || segment is "dags" or "runs" or "tasks" or "admin")
            {
                continue;
            }

            var form = context.Request.HasFormContentType ? context.Request.Form : null;
            names.Add(segment switch
            {
                "action" => form?["action"].ToString() is { Length: > 0 } a ? a : segment,
                "pause" => form?["is_paused"].ToString() == "false" ? "unpause" : "pause",
                _ => segment,
            });
        }

        return WriteAsync(context, "ui." + string.Join('.', names), user.Username, "ui", Details(context, form: true));
    }

    /// <summary>Records a sign-in event (login, login.failed, login.locked, logout, token) for a user name.</summary>
    public Task AuthAsync(HttpContext context, string @event, string? username, string origin) =>
        WriteAsync(context, @event, username, origin, new JsonObject { ["remote_addr"] = context.Connection.RemoteIpAddress?.ToString() });

    private async Task WriteAsync(HttpContext context, string @event, string? owner, string origin, JsonObject extra)
    {
        var route = context.Request.RouteValues;
        string? Route(string name) => route.TryGetValue(name, out var v) && v is not null ? v.ToString() : null;
        int? Int(string name) => int.TryParse(Route(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;
        var entry = new EventLogEntry(
            0, _state.Time.GetUtcNow(), @event, owner, origin,
            Route("dag_id"), Route("task_id"), Route("dag_run_id") ?? Route("run_id"), Int("map_index"), Int("task_try_number"),
            extra.Count > 0 ? _state.Masker.Redact(extra.ToJsonString()) : null);
        try
        {
            // The change itself is done: a failed audit write is reported, not turned into a failed request.
            await _state.Store.AddEventLogAsync(entry, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // reported below; the caller's change already happened
        catch (Exception e)
#pragma warning restore CA1031
        {
            _state.Warn($"web server: the audit log could not record '{@event}' by {owner}: {e.Message}");
        }
    }

    private static JsonObject Details(HttpContext context, bool form)
    {
        var extra = new JsonObject();
        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is not null && DetailKeys.Contains(name, StringComparer.Ordinal))
            {
                extra[name] = value.ToString();
            }
        }

        if (form && context.Request.HasFormContentType)
        {
            foreach (var key in DetailKeys)
            {
                if (context.Request.Form.TryGetValue(key, out var v) && v.ToString().Length > 0)
                {
                    extra[key] = v.ToString();
                }
            }
        }

        return extra;
    }
}
