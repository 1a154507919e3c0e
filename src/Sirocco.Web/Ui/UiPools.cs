using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Api;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;
using static Sirocco.Web.Ui.Html;

namespace Sirocco.Web.Ui;

/// <summary>Admin &gt; Pools: each pool's slots and what takes them now, with add, edit and delete.</summary>
internal static partial class UiPages
{
    private static void RegisterPools(WebApplication app, Authenticator auth, WebState state)
    {
        Get(app, auth, "/admin/pools", Role.Op, async (ctx, user) =>
        {
            var (pools, usage) = await PoolEndpoints.LoadAsync(state, ctx.RequestAborted).ConfigureAwait(false);

            // Pools that task instances name but nobody created: their tasks wait until someone does.
            var defined = pools.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            var unknown = usage.Where(s => !defined.Contains(s.Name) && s.Name != Pool.DefaultName && s.Scheduled > 0).ToList();
            return PoolsPage(ctx, user, PoolEndpoints.ToJson(pools, usage), unknown);
        });
        Get(app, auth, "/admin/pools/add", Role.Op, (ctx, user) => Task.FromResult(PoolForm(ctx, user, null, ctx.Request.Query["name"].ToString(), "1", string.Empty, null)));
        Get(app, auth, "/admin/pools/edit/{name}", Role.Op, async (ctx, user) =>
        {
            var name = Route(ctx, "name");
            var pool = (await state.Store.ListPoolsAsync(ctx.RequestAborted).ConfigureAwait(false)).FirstOrDefault(p => p.Name == name)
                ?? throw ApiException.NotFound("Pool not found", $"Pool with name:'{name}' not found");
            return PoolForm(ctx, user, name, name, pool.Slots.ToString(CultureInfo.InvariantCulture), pool.Description ?? string.Empty, null);
        });
        Post(app, auth, "/admin/pools/save", Role.Op, async (ctx, user) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var original = form["original_name"].ToString();
            var name = form["pool_name"].ToString().Trim();
            var slotsText = form["slots"].ToString().Trim();
            var description = form["description"].ToString();
            try
            {
                if (!int.TryParse(slotsText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var slots))
                {
                    throw new SiroccoException($"slots must be a whole number (or -1 for no limit), got '{slotsText}'");
                }

                var existing = (await state.Store.ListPoolsAsync(ctx.RequestAborted).ConfigureAwait(false)).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
                if (name != original && existing.Contains(name))
                {
                    throw new SiroccoException($"Pool '{name}' already exists: edit it instead");
                }

                if (original == Pool.DefaultName && name != original)
                {
                    throw new SiroccoException($"{Pool.DefaultName} cannot be renamed");
                }

                await state.Store.SetPoolAsync(new Pool(name, slots, description.Length == 0 ? null : description), ctx.RequestAborted).ConfigureAwait(false);
                if (original.Length > 0 && original != name)
                {
                    await state.Store.DeletePoolAsync(original, ctx.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (SiroccoException e)
            {
                return PoolForm(ctx, user, original.Length > 0 ? original : null, name, slotsText, description, e.Message, 400);
            }

            Flash(ctx, $"Pool {name} saved");
            return Results.Redirect("/admin/pools");
        });
        Post(app, auth, "/admin/pools/delete", Role.Op, async (ctx, _) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            var name = form["pool_name"].ToString();
            try
            {
                Flash(ctx, await state.Store.DeletePoolAsync(name, ctx.RequestAborted).ConfigureAwait(false) ? $"Pool {name} deleted" : $"Pool {name} did not exist", error: false);
            }
            catch (SiroccoException e)
            {
                Flash(ctx, e.Message, error: true);
            }

            return Results.Redirect("/admin/pools");
        });
    }

    private static IResult PoolsPage(HttpContext ctx, Principal user, List<System.Text.Json.Nodes.JsonObject> pools, List<PoolStats> unknown)
    {
        var sb = new StringBuilder("<div class=\"actions\"><h1>List Pool</h1><a class=\"btn primary\" href=\"/admin/pools/add\">+ Add a new record</a></div>");
        foreach (var u in unknown)
        {
            sb.Append("<div class=\"flash error\" role=\"alert\" data-unknown-pool=\"").Append(E(u.Name)).Append("\">Pool <span class=\"mono\">").Append(E(u.Name))
                .Append("</span> does not exist: ").Append(u.Scheduled).Append(" task slot(s) wait for it and will not be scheduled until it is created. <a class=\"btn\" href=\"/admin/pools/add?name=")
                .Append(U(u.Name)).Append("\">Create it</a></div>");
        }

        sb.Append("<table class=\"list\" id=\"pools\"><thead><tr><th>Pool</th><th>Slots</th><th>Running Slots</th><th>Queued Slots</th><th>Scheduled Slots</th><th>Open Slots</th><th>Description</th><th></th></tr></thead><tbody>");
        foreach (var p in pools)
        {
            string V(string field) => p[field]?.ToString() ?? string.Empty;
            var name = V("name");
            var slots = V("slots") == "-1" ? "unlimited" : V("slots");
            var open = V("open_slots") == "-1" ? "unlimited" : V("open_slots");
            sb.Append("<tr data-pool=\"").Append(E(name)).Append("\"><td class=\"mono\">").Append(E(name)).Append("</td><td>").Append(E(slots))
                .Append("</td><td class=\"running\">").Append(E(V("running_slots"))).Append("</td><td class=\"queued\">").Append(E(V("queued_slots")))
                .Append("</td><td class=\"scheduled\">").Append(E(V("scheduled_slots"))).Append("</td><td class=\"open\">").Append(E(open))
                .Append("</td><td>").Append(E(V("description"))).Append("</td><td><a class=\"btn\" href=\"/admin/pools/edit/").Append(U(name)).Append("\">Edit</a> ");
            if (name != Pool.DefaultName)
            {
                sb.Append(ButtonForm(ctx, "/admin/pools/delete", "Delete", "danger", $"Delete pool {name}?", Hidden("pool_name", name)));
            }

            sb.Append("</td></tr>");
        }

        sb.Append("</tbody></table><p class=\"muted\">Slots are counted over every scheduler; a task takes its <span class=\"mono\">pool_slots</span> while queued or running. Also: <span class=\"mono\">sirocco pools</span>, <span class=\"mono\">/api/v1/pools</span>.</p>");
        return Page(ctx, user, "Pools", sb.ToString(), "pools");
    }

    private static IResult PoolForm(HttpContext ctx, Principal user, string? original, string name, string slots, string description, string? error, int status = 200)
    {
        var body = $"""
            <h1>{(original is null ? "Add Pool" : "Edit Pool")}</h1>
            {(error is null ? string.Empty : $"<div class=\"flash error\" role=\"alert\">{E(error)}</div>")}
            <form class="card" method="post" action="/admin/pools/save">
              {Csrf(ctx)}{Hidden("original_name", original ?? string.Empty)}
              <label class="field"><span>Pool</span><input type="text" name="pool_name" id="pool_name" value="{E(name)}" required maxlength="256"{(original == Pool.DefaultName ? " readonly" : string.Empty)}></label>
              <label class="field"><span>Slots <small>(-1 for no limit)</small></span><input type="number" name="slots" id="slots" value="{E(slots)}" min="-1" required></label>
              <label class="field"><span>Description</span><textarea name="description" id="description">{E(description)}</textarea></label>
              <button type="submit" class="primary">Save</button> <a class="btn" href="/admin/pools">Cancel</a>
            </form>
            """;
        return Page(ctx, user, "Pool", body, "pools", status);
    }
}
