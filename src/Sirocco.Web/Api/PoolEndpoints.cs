using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary>Pools as Airflow's REST API has them, with the slots their task instances take across every scheduler.</summary>
internal static class PoolEndpoints
{
    private const string P = "/api/v1";

    public static void Register(ApiRegistry api, WebState state)
    {
        ApiParam[] page = [new("limit", "integer", "Most items returned (1-1000, default 100)"), new("offset", "integer", "Items skipped")];
        api.Add(
            new ApiRoute("GET", P + "/pools", "get_pools", "Pool", "List pools", Role.Viewer, "PoolCollection", Query: [.. page, new("order_by", "string", "name (default), '-name'")]),
            async (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var order = ApiInput.OrderBy(ctx, "name", "name");
                var all = await ListAsync(state, ctx.RequestAborted).ConfigureAwait(false);
                var items = ApiInput.Sort(all, order, (p, _) => p["name"]!.GetValue<string>()).Skip(offset).Take(limit);
                return Results.Json(ApiJson.Collection("pools", items, all.Count));
            });
        api.Add(new ApiRoute("GET", P + "/pools/{pool_name}", "get_pool", "Pool", "Get a pool", Role.Viewer, "Pool"), async (ctx, _) =>
        {
            var name = ApiInput.Route(ctx, "pool_name");
            return Results.Json(await GetAsync(state, name, ctx.RequestAborted).ConfigureAwait(false));
        });
        api.Add(new ApiRoute("POST", P + "/pools", "post_pool", "Pool", "Create a pool", Role.Op, "Pool", "Pool"), async (ctx, _) =>
        {
            var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
            var name = ApiInput.Str(body, "name", required: true)!;
            var slots = ApiInput.Int(body, "slots") ?? throw ApiException.BadRequest("'slots' is required");
            if ((await state.Store.ListPoolsAsync(ctx.RequestAborted).ConfigureAwait(false)).Any(p => p.Name == name))
            {
                throw ApiException.Conflict($"Pool: {name} already exists");
            }

            await SetAsync(state, new Pool(name, slots, Description(ApiInput.Str(body, "description"))), ctx.RequestAborted).ConfigureAwait(false);
            return Results.Json(await GetAsync(state, name, ctx.RequestAborted).ConfigureAwait(false));
        });
        api.Add(
            new ApiRoute("PATCH", P + "/pools/{pool_name}", "patch_pool", "Pool", "Update a pool (default_pool: its slots only)", Role.Op, "Pool", "Pool", [new("update_mask", "string", "Fields to update: name, slots, description, include_deferred")]),
            async (ctx, _) =>
            {
                var name = ApiInput.Route(ctx, "pool_name");
                var mask = ApiInput.UpdateMask(ctx, "name", "slots", "description", "include_deferred");
                var body = await ApiInput.BodyAsync(ctx).ConfigureAwait(false);
                var current = (await state.Store.ListPoolsAsync(ctx.RequestAborted).ConfigureAwait(false)).FirstOrDefault(p => p.Name == name)
                    ?? throw NotFound(name);
                bool Wanted(string field) => mask is null ? body.ContainsKey(field) : mask.Contains(field);
                var newName = Wanted("name") ? ApiInput.Str(body, "name") ?? name : name;
                if (name == Pool.DefaultName && (newName != name || Wanted("description")))
                {
                    throw ApiException.BadRequest("Only slots and include_deferred can be modified on Default Pool");
                }

                var updated = current with
                {
                    Name = newName,
                    Slots = Wanted("slots") ? ApiInput.Int(body, "slots") ?? throw ApiException.BadRequest("'slots' must be a whole number") : current.Slots,
                    Description = Wanted("description") ? Description(ApiInput.Str(body, "description")) : current.Description,
                };
                await SetAsync(state, updated, ctx.RequestAborted).ConfigureAwait(false);
                if (newName != name)
                {
                    await state.Store.DeletePoolAsync(name, ctx.RequestAborted).ConfigureAwait(false);
                }

                return Results.Json(await GetAsync(state, newName, ctx.RequestAborted).ConfigureAwait(false));
            });
        api.Add(new ApiRoute("DELETE", P + "/pools/{pool_name}", "delete_pool", "Pool", "Delete a pool (not default_pool)", Role.Op, "Empty"), async (ctx, _) =>
        {
            var name = ApiInput.Route(ctx, "pool_name");
            if (name == Pool.DefaultName)
            {
                throw ApiException.BadRequest("Default Pool can't be deleted");
            }

            return await state.Store.DeletePoolAsync(name, ctx.RequestAborted).ConfigureAwait(false) ? Results.NoContent() : throw NotFound(name);
        });
    }

    private static ApiException NotFound(string name) => ApiException.NotFound("Pool not found", $"Pool with name:'{name}' not found");

    private static string? Description(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static async Task SetAsync(WebState state, Pool pool, CancellationToken ct)
    {
        try
        {
            await state.Store.SetPoolAsync(pool, ct).ConfigureAwait(false);
        }
        catch (SiroccoException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
    }

    private static async Task<JsonObject> GetAsync(WebState state, string name, CancellationToken ct) =>
        (await ListAsync(state, ct).ConfigureAwait(false)).FirstOrDefault(p => p["name"]!.GetValue<string>() == name) ?? throw NotFound(name);

    /// <summary>Every pool with what its task instances take, read once: for the API's JSON and the Pools page.</summary>
    internal static async Task<(IReadOnlyList<Pool> Pools, IReadOnlyList<PoolStats> Usage)> LoadAsync(WebState state, CancellationToken ct) =>
        (await state.Store.ListPoolsAsync(ct).ConfigureAwait(false), await state.Store.ListPoolStatsAsync(ct).ConfigureAwait(false));

    /// <summary>Every pool as the API shows it: Airflow's fields, the open slots counted over every scheduler's tries.</summary>
    internal static async Task<List<JsonObject>> ListAsync(WebState state, CancellationToken ct)
    {
        var (pools, usage) = await LoadAsync(state, ct).ConfigureAwait(false);
        return ToJson(pools, usage);
    }

    internal static List<JsonObject> ToJson(IReadOnlyList<Pool> pools, IReadOnlyList<PoolStats> usage)
    {
        var byName = usage.ToDictionary(s => s.Name, StringComparer.Ordinal);
        return [.. pools.Select(p =>
        {
            var u = byName.GetValueOrDefault(p.Name);
            var running = u?.Running ?? 0;
            var queued = u?.Queued ?? 0;
            return new JsonObject
            {
                ["name"] = p.Name,
                ["slots"] = p.Slots,
                ["occupied_slots"] = running + queued,
                ["running_slots"] = running,
                ["queued_slots"] = queued,
                ["scheduled_slots"] = u?.Scheduled ?? 0,
                ["open_slots"] = p.OpenSlots(u) ?? -1,
                ["deferred_slots"] = 0,
                ["description"] = p.Description,
                ["include_deferred"] = false,
            };
        })];
    }
}
