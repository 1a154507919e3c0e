using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Sirocco.Storage;
using Sirocco.Web.Api;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

internal delegate Task<IResult> UiHandler(HttpContext context, Principal user);

/// <summary>The server-rendered UI: login, DAGs, a DAG's grid and graph, runs, task instances and logs, Admin pages.</summary>
internal static partial class UiPages
{
    public static void Register(WebApplication app, WebState state, Operations ops, Authenticator auth)
    {
        app.MapGet("/static/sirocco.css", (HttpContext ctx) => Static(ctx, Assets.Css, "text/css; charset=utf-8"));
        app.MapGet("/static/sirocco.js", (HttpContext ctx) => Static(ctx, Assets.Js, "text/javascript; charset=utf-8"));
        app.MapGet("/", () => Results.Redirect("/dags"));
        app.MapGet("/health", () => Results.Redirect("/api/v1/health"));

        app.MapGet("/login", (HttpContext ctx) => LoginPage(ctx, null));
        app.MapPost("/login", async (HttpContext ctx) =>
        {
            if (!await CsrfOkAsync(ctx).ConfigureAwait(false))
            {
                return LoginPage(ctx, "The form expired; please sign in again.", 400);
            }

            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var name = form["username"].ToString();
            var outcome = await auth.CheckPasswordAsync(name, form["password"].ToString(), ctx.RequestAborted).ConfigureAwait(false);
            if (outcome.User is not { } user)
            {
                await state.Audit.AuthAsync(ctx, outcome.LockedFor is null ? "login.failed" : "login.locked", name, "ui").ConfigureAwait(false);
                return outcome.LockedFor is { } locked ? LoginPage(ctx, LoginMessages.Locked(locked), 429) : LoginPage(ctx, "Invalid login. Please try again.", 401);
            }

            var session = await auth.SessionAsync(user.Username, CookieAuthenticationDefaults.AuthenticationScheme, ctx.RequestAborted).ConfigureAwait(false);
            await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, session).ConfigureAwait(false);
            await state.Audit.AuthAsync(ctx, "login", user.Username, "ui").ConfigureAwait(false);
            return Results.Redirect(SafeNext(form["next"].ToString()));
        }).RequireRateLimiting(SiroccoWebServer.AuthRateLimitPolicy);
        app.MapPost("/logout", async (HttpContext ctx) =>
        {
            if (!await CsrfOkAsync(ctx).ConfigureAwait(false))
            {
                return CsrfFailed(ctx, null);
            }

            // A logout ends every session and token of the user, not only this browser's cookie.
            if (await auth.AuthenticateSessionAsync(ctx).ConfigureAwait(false) is { } user)
            {
                await auth.RevokeAsync(user.Username, ctx.RequestAborted).ConfigureAwait(false);
                await state.Audit.AuthAsync(ctx, "logout", user.Username, "ui").ConfigureAwait(false);
            }

            await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
            return Results.Redirect("/login");
        });

        Get(app, auth, "/dags", Role.Viewer, (ctx, user) => DagsPageAsync(ctx, user, state));
        RegisterDag(app, auth, state, ops);
        RegisterAdmin(app, auth, state, ops);
        RegisterPools(app, auth, state);
        RegisterAudit(app, auth, state);
    }

    public static IResult NotFound(HttpContext context) =>
        Page(context, null, "Not found", "<div class=\"card\"><h1>Page not found</h1><p><a href=\"/dags\">Back to the DAGs</a></p></div>", status: 404);

    private static IResult Static(HttpContext ctx, string text, string type)
    {
        ctx.Response.Headers.CacheControl = "public, max-age=3600";
        return Results.Text(text, type);
    }

    /// <summary>A page that needs a signed-in user with at least <paramref name="role"/>.</summary>
    private static void Get(WebApplication app, Authenticator auth, string pattern, Role role, UiHandler handler) =>
        app.MapGet(pattern, (Func<HttpContext, Task<IResult>>)(ctx => RunAsync(ctx, auth, role, handler, csrf: false)));

    /// <summary>A form target: signed-in user with at least <paramref name="role"/>, and a valid CSRF token.</summary>
    private static void Post(WebApplication app, Authenticator auth, string pattern, Role role, UiHandler handler) =>
        app.MapPost(pattern, (Func<HttpContext, Task<IResult>>)(ctx => RunAsync(ctx, auth, role, handler, csrf: true, pattern)));

    private static async Task<IResult> RunAsync(HttpContext ctx, Authenticator auth, Role role, UiHandler handler, bool csrf, string? pattern = null)
    {
        var user = await auth.AuthenticateSessionAsync(ctx).ConfigureAwait(false);
        if (user is null)
        {
            return ctx.Request.Path.StartsWithSegments("/ui", StringComparison.Ordinal)
                ? Problem.Result(401, "Unauthorized", "The session has ended; sign in again")
                : Results.Redirect("/login?next=" + U(ctx.Request.Path + ctx.Request.QueryString));
        }

        if (!user.Can(role))
        {
            return Page(ctx, user, "Access denied", $"<div class=\"card\"><h1>Access denied</h1><p>This needs the {E(role.ToString())} role or higher; you are {E(user.Role.ToString())}.</p></div>", status: 403);
        }

        if (csrf && !await CsrfOkAsync(ctx).ConfigureAwait(false))
        {
            return CsrfFailed(ctx, user);
        }

        try
        {
            var result = await handler(ctx, user).ConfigureAwait(false);
            if (pattern is not null && result is not IStatusCodeHttpResult { StatusCode: >= 400 })
            {
                await ctx.RequestServices.GetRequiredService<WebState>().Audit.UiAsync(ctx, pattern, user).ConfigureAwait(false);
            }

            return result;
        }
        catch (ApiException e)
        {
            return Page(ctx, user, e.Title, $"<div class=\"card\"><h1>{E(e.Title)}</h1><p>{E(e.Message)}</p><p><a href=\"/dags\">Back to the DAGs</a></p></div>", status: e.Status);
        }
    }

    private static async Task<bool> CsrfOkAsync(HttpContext ctx)
    {
        try
        {
            await ctx.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(ctx).ConfigureAwait(false);
            return true;
        }
        catch (AntiforgeryValidationException)
        {
            return false;
        }
    }

    private static IResult CsrfFailed(HttpContext ctx, Principal? user) =>
        Page(ctx, user, "Bad request", "<div class=\"card\"><h1>Bad request</h1><p>The form's CSRF token is missing or invalid: it expired or the form did not come from this site. Reload the page and try again.</p></div>", status: 400);

    private static string SafeNext(string next) =>
        next.StartsWith('/') && !next.StartsWith("//", StringComparison.Ordinal) && !next.StartsWith("/\\", StringComparison.Ordinal) ? next : "/dags";

    internal static IResult LoginPage(HttpContext ctx, string? error, int status = 200)
    {
        var next = ctx.Request.HasFormContentType ? ctx.Request.Form["next"].ToString() : ctx.Request.Query["next"].ToString();
        var body = $"""
            <div class="login card">
              <h1>Sign in to Sirocco</h1>
              {(error is null ? string.Empty : $"<div class=\"flash error\" role=\"alert\">{E(error)}</div>")}
              <form method="post" action="/login">
                {Csrf(ctx)}{Hidden("next", SafeNext(next))}
                <label class="field"><span>Username</span><input type="text" name="username" autocomplete="username" autofocus required></label>
                <label class="field"><span>Password</span><input type="password" name="password" autocomplete="current-password" required></label>
                <button type="submit" class="primary">Sign in</button>
              </form>
            </div>
            """;
        return Page(ctx, null, "Sign in", body, status: status);
    }

    private static async Task<IResult> DagsPageAsync(HttpContext ctx, Principal user, WebState state)
    {
        var ct = ctx.RequestAborted;
        var search = ctx.Request.Query["search"].ToString();
        var models = (await state.Store.ListDagsAsync(ct).ConfigureAwait(false))
            .Where(m => m.IsActive && (search.Length == 0 || m.DagId.Contains(search, StringComparison.OrdinalIgnoreCase))).ToList();
        var errors = await state.Store.ListImportErrorsAsync(ct).ConfigureAwait(false);
        var sb = new StringBuilder();
        if (errors.Count > 0)
        {
            sb.Append("<div class=\"banner-error\" id=\"import-errors\"><details open><summary>Import errors (").Append(errors.Count).Append(")</summary>");
            foreach (var e in errors)
            {
                sb.Append("<div><strong>Broken DAG: [").Append(E(e.FileName)).Append("]</strong><pre class=\"mono\">").Append(E(state.Masker.Redact(e.Message))).Append("</pre></div>");
            }

            sb.Append("</details></div>");
        }

        sb.Append(await WarningsBannerAsync(state, null, ct).ConfigureAwait(false));
        sb.Append("<div class=\"actions\"><h1>DAGs</h1>");
        sb.Append("<form method=\"get\" action=\"/dags\"><input type=\"search\" name=\"search\" placeholder=\"Search DAGs\" value=\"").Append(E(search)).Append("\"></form></div>");
        sb.Append("<table class=\"list\" id=\"dags\"><thead><tr><th></th><th>DAG</th><th>Owner</th><th>Runs</th><th>Schedule</th><th>Last run</th><th>Next run</th><th>Actions</th></tr></thead><tbody>");
        var now = state.Time.GetUtcNow();
        foreach (var m in models)
        {
            var dag = state.Dag(m.DagId);
            var recent = await state.Store.ListDagRunsAsync(new DagRunQuery { DagId = m.DagId, Limit = 25 }, ct).ConfigureAwait(false);
            var next = m.IsPaused ? null : ApiJson.NextRun(dag, recent, now, DagEndpoints.CatchupDefault(state));
            sb.Append("<tr data-dag-id=\"").Append(E(m.DagId)).Append("\"><td>");
            if (user.Can(Role.User))
            {
                sb.Append("<form class=\"inline\" method=\"post\" action=\"/dags/").Append(U(m.DagId)).Append("/pause\">").Append(Csrf(ctx))
                    .Append(Hidden("is_paused", m.IsPaused ? "false" : "true")).Append(Hidden("next", "/dags"))
                    .Append("<button type=\"submit\" class=\"toggle").Append(m.IsPaused ? string.Empty : " on").Append("\" title=\"")
                    .Append(m.IsPaused ? "Paused: click to unpause" : "Active: click to pause").Append("\" aria-label=\"").Append(m.IsPaused ? "Unpause " : "Pause ").Append(E(m.DagId)).Append("\"></button></form>");
            }
            else
            {
                sb.Append(m.IsPaused ? "<span class=\"muted\">paused</span>" : "<span>active</span>");
            }

            sb.Append("</td><td><a href=\"/dags/").Append(U(m.DagId)).Append("/grid\"><strong>").Append(E(m.DagId)).Append("</strong></a>");
            foreach (var t in m.Tags)
            {
                sb.Append("<span class=\"tag\">").Append(E(t)).Append("</span>");
            }

            if (m.Description is { Length: > 0 } d)
            {
                sb.Append("<div class=\"muted\">").Append(E(d)).Append("</div>");
            }

            sb.Append("</td><td>").Append(E(m.Owners)).Append("</td><td>");
            foreach (var g in recent.GroupBy(r => r.State).OrderBy(g => g.Key))
            {
                sb.Append("<span class=\"circle st-").Append(g.Key.ToName()).Append("\" title=\"").Append(g.Key.ToName()).Append("\">").Append(g.Count()).Append("</span>");
            }

            sb.Append("</td><td class=\"mono\">").Append(E(m.Schedule)).Append("</td><td>").Append(Html.Time(recent.FirstOrDefault()?.LogicalDate)).Append("</td><td>").Append(Html.Time(next?.LogicalDate)).Append("</td><td>");
            if (user.Can(Role.User))
            {
                sb.Append("<a class=\"btn\" href=\"/dags/").Append(U(m.DagId)).Append("/trigger\" title=\"Trigger DAG\">&#9654; Trigger</a>");
            }

            sb.Append("</td></tr>");
        }

        if (models.Count == 0)
        {
            sb.Append("<tr><td colspan=\"8\" class=\"muted\">No DAGs").Append(search.Length > 0 ? " match the search" : " yet: put DAG files in the dags folder").Append(".</td></tr>");
        }

        sb.Append("</tbody></table>");
        return Page(ctx, user, "DAGs", sb.ToString(), "dags");
    }
}
