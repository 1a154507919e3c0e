using System.Text;
using Sirocco.Web.Api;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

/// <summary>A mapped task's instances in one run: index, state, dates, each linking to its own page.</summary>
internal static class UiMapped
{
    public static string List(string dagId, string runId, string taskId, IReadOnlyList<TaskInstance> mapped)
    {
        var baseUrl = $"/dags/{U(dagId)}/runs/{U(runId)}/tasks/{U(taskId)}";
        var sb = new StringBuilder();
        sb.Append("<p><a href=\"/dags/").Append(U(dagId)).Append("/grid\">&larr; ").Append(E(dagId)).Append("</a> / <a href=\"/dags/").Append(U(dagId)).Append("/runs/").Append(U(runId)).Append("\">")
            .Append(E(runId)).Append("</a></p>");
        sb.Append("<h1>Task ").Append(E(taskId)).Append(" <span class=\"muted\">mapped into ").Append(mapped.Count).Append(" instances</span></h1>");
        sb.Append("<p class=\"muted\">").Append(E(string.Join(", ", mapped.GroupBy(t => t.State.ToName()).Select(g => $"{g.Count()} {g.Key}")))).Append("</p>");
        sb.Append("<table class=\"list\" id=\"mapped\"><thead><tr><th>Map index</th><th>Name</th><th>State</th><th>Try</th><th>Started</th><th>Ended</th><th>Duration</th><th>Pod</th></tr></thead><tbody>");
        foreach (var ti in mapped)
        {
            sb.Append("<tr data-map-index=\"").Append(ti.MapIndex).Append("\"><td><a href=\"").Append(baseUrl).Append("?map_index=").Append(ti.MapIndex).Append("\">").Append(ti.MapIndex).Append("</a></td><td>").Append(E(ti.RenderedMapIndex)).Append("</td><td>")
                .Append(State(ti.State)).Append("</td><td>").Append(ti.TryNumber).Append("</td><td>").Append(Time(ti.StartDate)).Append("</td><td>").Append(Time(ti.EndDate)).Append("</td><td>")
                .Append(E(ApiJson.Seconds(ti.Duration))).Append("</td><td class=\"mono\">").Append(E(ti.ExternalId)).Append("</td></tr>");
        }

        sb.Append("</tbody></table>");
        return sb.ToString();
    }
}
