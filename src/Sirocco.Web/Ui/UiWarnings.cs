using System.Text;
using Sirocco.Web.Infrastructure;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

/// <summary>DAG warnings (what a DAG file's loader accepted but a user should fix), above the DAG list and a DAG's pages.</summary>
internal static partial class UiPages
{
    private static async Task<string> WarningsBannerAsync(WebState state, string? dagId, CancellationToken ct)
    {
        var warnings = await state.Store.ListDagWarningsAsync(dagId, ct).ConfigureAwait(false);
        if (warnings.Count == 0)
        {
            return string.Empty;
        }

        var sb = new StringBuilder("<div class=\"banner-warning\" id=\"dag-warnings\"><details open><summary>DAG warnings (").Append(warnings.Count).Append(")</summary>");
        foreach (var w in warnings)
        {
            sb.Append("<div><strong>").Append(E(w.DagId)).Append("</strong> <span class=\"muted\">").Append(E(w.WarningType)).Append("</span><pre class=\"mono\">")
                .Append(E(state.Masker.Redact(w.Message))).Append("</pre></div>");
        }

        return sb.Append("</details></div>").ToString();
    }
}
