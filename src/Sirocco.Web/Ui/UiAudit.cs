using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Sirocco.Storage;
using Sirocco.Web.Api;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

/// <summary>The Audit Log page: who changed what, when and from where, newest first, filtered by DAG, user or event.</summary>
internal static partial class UiPages
{
    private const int AuditPageSize = 100;

    private static void RegisterAudit(WebApplication app, Authenticator auth, WebState state) =>
        Get(app, auth, "/admin/audit-log", Role.Viewer, async (ctx, user) =>
        {
            var q = ctx.Request.Query;
            string? One(string name) => q[name].ToString() is { Length: > 0 } v ? v : null;
            var offset = int.TryParse(q["offset"], NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : 0;
            var query = new EventLogQuery
            {
                DagId = One("dag_id"),
                Owner = One("owner"),
                IncludedEvents = One("event") is { } e ? [e] : null,
                Limit = AuditPageSize,
                Offset = offset,
            };
            var (items, total) = await state.Store.ListEventLogsAsync(query, ctx.RequestAborted).ConfigureAwait(false);
            var sb = new StringBuilder("<h1>Audit Log</h1>");
            sb.Append("<form class=\"card filters\" method=\"get\" action=\"/admin/audit-log\">")
                .Append("<label class=\"field\"><span>DAG</span><input type=\"text\" name=\"dag_id\" value=\"").Append(E(query.DagId)).Append("\"></label>")
                .Append("<label class=\"field\"><span>User</span><input type=\"text\" name=\"owner\" value=\"").Append(E(query.Owner)).Append("\"></label>")
                .Append("<label class=\"field\"><span>Event</span><input type=\"text\" name=\"event\" value=\"").Append(E(One("event"))).Append("\"></label>")
                .Append("<button type=\"submit\">Filter</button></form>");
            sb.Append("<table class=\"list\" id=\"audit-log\"><thead><tr><th>When</th><th>Event</th><th>User</th><th>From</th><th>DAG</th><th>Task</th><th>Run</th><th>Details</th></tr></thead><tbody>");
            foreach (var entry in items)
            {
                sb.Append("<tr data-id=\"").Append(entry.Id.ToString(CultureInfo.InvariantCulture)).Append("\"><td>").Append(E(ApiJson.Iso(entry.When)))
                    .Append("</td><td>").Append(E(entry.Event)).Append("</td><td>").Append(E(entry.Owner)).Append("</td><td>").Append(E(entry.Origin))
                    .Append("</td><td>").Append(E(entry.DagId)).Append("</td><td>").Append(E(entry.TaskId)).Append("</td><td>").Append(E(entry.RunId))
                    .Append("</td><td><code>").Append(E(entry.Extra)).Append("</code></td></tr>");
            }

            sb.Append("</tbody></table><p class=\"muted\">")
                .Append(E(string.Create(CultureInfo.InvariantCulture, $"{(total == 0 ? 0 : offset + 1)}-{offset + items.Count} of {total}")));
            if (offset + items.Count < total)
            {
                var next = $"/admin/audit-log?dag_id={U(query.DagId)}&owner={U(query.Owner)}&event={U(One("event"))}&offset={offset + AuditPageSize}";
                sb.Append(" <a href=\"").Append(E(next)).Append("\">Older</a>");
            }

            sb.Append("</p>");
            return Page(ctx, user, "Audit Log", sb.ToString(), "audit");
        });
}
