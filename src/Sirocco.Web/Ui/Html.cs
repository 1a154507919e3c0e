using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Sirocco.Web.Security;

namespace Sirocco.Web.Ui;

/// <summary>HTML building: encoding, the page layout, state badges, the CSRF field.</summary>
internal static class Html
{
    public const string FlashCookie = "sirocco_flash";

    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? string.Empty);

    public static string U(string? text) => Uri.EscapeDataString(text ?? string.Empty);

    public static string Csrf(HttpContext context)
    {
        var anti = context.RequestServices.GetRequiredService<IAntiforgery>();
        var tokens = anti.GetAndStoreTokens(context);
        return $"<input type=\"hidden\" name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">";
    }

    /// <summary>A POST form with its CSRF field and one button.</summary>
    public static string ButtonForm(HttpContext context, string action, string label, string cssClass = "", string? confirm = null, string hidden = "") =>
        $"<form class=\"inline\" method=\"post\" action=\"{E(action)}\"{(confirm is null ? string.Empty : $" data-confirm=\"{E(confirm)}\"")}>{Csrf(context)}{hidden}<button type=\"submit\" class=\"{cssClass}\">{E(label)}</button></form>";

    public static string Hidden(string name, string value) => $"<input type=\"hidden\" name=\"{E(name)}\" value=\"{E(value)}\">";

    public static string State(string? state) => $"<span class=\"state st-{E(state ?? "none")}\">{E(state ?? "none")}</span>";

    public static string State(TaskInstanceState state) => State(state.ToName());

    public static string State(DagRunState state) => State(state.ToName());

    public static string Time(DateTimeOffset? t) =>
        t is { } v ? $"<span class=\"mono\" title=\"{E(AirflowTime.IsoFormat(v.ToUniversalTime()))}\">{E(v.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture))}</span>" : "<span class=\"muted\">–</span>";

    public static IResult Page(HttpContext context, Principal? user, string title, string body, string nav = "", int status = 200)
    {
        var sb = new StringBuilder(body.Length + 2048);
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<title>").Append(E(title)).Append(" - Sirocco</title><link rel=\"stylesheet\" href=\"/static/sirocco.css\"></head><body>");
        sb.Append("<header class=\"top\"><a class=\"logo\" href=\"/dags\">Sir<span>occo</span></a>");
        if (user is not null)
        {
            sb.Append("<nav>");
            sb.Append(NavLink("/dags", "DAGs", nav == "dags"));
            if (user.Can(Role.Op))
            {
                var admin = nav is "variables" or "pools" or "connections" or "configuration" or "users" or "audit";
                sb.Append("<div class=\"menu\"><button type=\"button\" class=\"menu-button").Append(admin ? " active" : string.Empty)
                    .Append("\" aria-haspopup=\"true\">Admin &#9662;</button><div class=\"menu-items\">");
                sb.Append(NavLink("/admin/variables", "Variables", nav == "variables"));
                sb.Append(NavLink("/admin/pools", "Pools", nav == "pools"));
                sb.Append(NavLink("/admin/connections", "Connections", nav == "connections"));
                sb.Append(NavLink("/admin/configuration", "Configuration", nav == "configuration"));
                if (user.Can(Role.Admin))
                {
                    sb.Append(NavLink("/admin/users", "Users", nav == "users"));
                }

                sb.Append(NavLink("/admin/audit-log", "Audit Log", nav == "audit"));
                sb.Append("</div></div>");
            }

            sb.Append(NavLink("/api/v1/openapi.json", "API", false));
            sb.Append("</nav><div class=\"who\"><span>").Append(E(user.Username)).Append(" <span class=\"muted\">(").Append(E(user.Role.ToString())).Append(")</span></span>");
            sb.Append(ButtonForm(context, "/logout", "Log out"));
            sb.Append("</div>");
        }

        sb.Append("</header><main>");
        if (context.Request.Cookies.TryGetValue(FlashCookie, out var flash) && !string.IsNullOrEmpty(flash))
        {
            var error = flash.StartsWith('!');
            sb.Append("<div class=\"flash").Append(error ? " error" : string.Empty).Append("\" role=\"status\">").Append(E(error ? flash[1..] : flash)).Append("</div>");
            context.Response.Cookies.Delete(FlashCookie);
        }

        sb.Append(body).Append("</main><script src=\"/static/sirocco.js\"></script></body></html>");
        return Results.Content(sb.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    /// <summary>A message shown once on the next page (set before a redirect).</summary>
    public static void Flash(HttpContext context, string message, bool error = false) =>
        context.Response.Cookies.Append(FlashCookie, (error ? "!" : string.Empty) + message, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });

    private static string NavLink(string href, string text, bool active) =>
        $"<a href=\"{href}\"{(active ? " class=\"active\"" : string.Empty)}>{E(text)}</a>";
}
