using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Storage;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco pools</c>: Airflow's pools, with the slots their task instances take now.</summary>
internal static class PoolsCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(CliContext ctx)
    {
        var pools = new Command("pools", "Manage pools (a task waits for a free slot of its pool; unknown pools are never scheduled)");

        var output = CliApp.OutputOption();
        var list = new Command("list", "List pools with their used and open slots") { output };
        list.SetAction(async (pr, ct) =>
        {
            await PrintAsync(ctx, pr.GetValue(output)!, null, ct).ConfigureAwait(false);
            return 0;
        });
        pools.Subcommands.Add(list);

        var getName = new Argument<string>("name") { Description = "Pool name" };
        var getOutput = CliApp.OutputOption();
        var get = new Command("get", "Show one pool") { getName, getOutput };
        get.SetAction(async (pr, ct) =>
        {
            await PrintAsync(ctx, pr.GetValue(getOutput)!, pr.GetValue(getName)!, ct).ConfigureAwait(false);
            return 0;
        });
        pools.Subcommands.Add(get);

        var setName = new Argument<string>("name") { Description = "Pool name" };
        var setSlots = new Argument<string>("slots") { Description = "Number of slots (-1 for no limit)" };
        var setDescription = new Argument<string>("description") { Description = "Pool description" };
        var includeDeferred = new Option<bool>("--include-deferred") { Description = "Accepted for Airflow's CLI; Sirocco has no deferred state (every try is asynchronous)" };
        var set = new Command("set", "Create or update a pool") { setName, setSlots, setDescription, includeDeferred };
        set.SetAction(async (pr, ct) =>
        {
            var name = pr.GetValue(setName)!;
            var existed = (await ctx.Store.ListPoolsAsync(ct).ConfigureAwait(false)).Any(p => p.Name == name);
            await ctx.Store.SetPoolAsync(new Pool(name, ParseSlots(name, pr.GetValue(setSlots)!), Description(pr.GetValue(setDescription))), ct).ConfigureAwait(false);
            ctx.Out.WriteLine($"Pool {name} {(existed ? "updated" : "created")}");
            return 0;
        });
        pools.Subcommands.Add(set);

        var deleteName = new Argument<string>("name") { Description = "Pool name" };
        var delete = new Command("delete", "Delete a pool (not default_pool)") { deleteName };
        delete.SetAction(async (pr, ct) =>
        {
            var name = pr.GetValue(deleteName)!;
            if (!await ctx.Store.DeletePoolAsync(name, ct).ConfigureAwait(false))
            {
                throw new SiroccoException($"Pool {name} does not exist");
            }

            ctx.Out.WriteLine($"Pool {name} deleted");
            return 0;
        });
        pools.Subcommands.Add(delete);

        var importFile = new Argument<string>("file") { Description = "JSON file: {\"name\": {\"slots\": N, \"description\": \"…\"}, …}" };
        var import = new Command("import", "Create or update pools from a JSON file (as `pools export` writes it)") { importFile };
        import.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(importFile)!;
            var parsed = ReadPools(path);
            foreach (var pool in parsed)
            {
                await ctx.Store.SetPoolAsync(pool, ct).ConfigureAwait(false);
            }

            ctx.Out.WriteLine($"Uploaded {parsed.Count} pool(s)");
            return 0;
        });
        pools.Subcommands.Add(import);

        var exportFile = new Argument<string>("file") { Description = "JSON file to write" };
        var export = new Command("export", "Export every pool to a JSON file") { exportFile };
        export.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(exportFile)!;
            var all = await ctx.Store.ListPoolsAsync(ct).ConfigureAwait(false);
            var obj = new JsonObject();
            foreach (var p in all)
            {
                obj[p.Name] = new JsonObject { ["description"] = p.Description, ["slots"] = p.Slots, ["include_deferred"] = false };
            }

            File.WriteAllText(path, obj.ToJsonString(Indented) + "\n");
            ctx.Out.WriteLine($"Exported {all.Count} pools to {path}");
            return 0;
        });
        pools.Subcommands.Add(export);
        return pools;
    }

    private static string? Description(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static int ParseSlots(string pool, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var slots) && slots >= -1
            ? slots
            : throw new SiroccoException($"pool {pool}: slots must be a whole number, 0 or more (or -1 for no limit); got '{text}'");

    /// <summary>Reads a pools file; every entry is checked before any is stored, and an error names the entry.</summary>
    internal static List<Pool> ReadPools(string path)
    {
        var obj = VariablesCommands.ReadJsonObject(path);
        var pools = new List<Pool>();
        foreach (var (name, node) in obj)
        {
            if (node is not JsonObject entry)
            {
                throw new SiroccoException($"{path}: pool '{name}' must be an object with \"slots\" and \"description\"");
            }

            var slots = entry["slots"] switch
            {
                JsonValue v when v.TryGetValue<int>(out var n) => n.ToString(CultureInfo.InvariantCulture),
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                null => throw new SiroccoException($"{path}: pool '{name}' has no \"slots\""),
                var other => other.ToJsonString(),
            };
            var description = entry["description"] is JsonValue d && d.TryGetValue<string>(out var text) ? text : null;
            pools.Add(new Pool(name, ParseSlots(name, slots), Description(description)));
        }

        return pools;
    }

    private static async Task PrintAsync(CliContext ctx, string format, string? only, CancellationToken ct)
    {
        var defined = await ctx.Store.ListPoolsAsync(ct).ConfigureAwait(false);
        var usage = (await ctx.Store.ListPoolStatsAsync(ct).ConfigureAwait(false)).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var shown = defined.Where(p => only is null || p.Name == only).ToList();
        if (only is not null && shown.Count == 0)
        {
            throw new SiroccoException($"Pool {only} does not exist");
        }

        Output.Rows(
            ctx,
            format,
            ["pool", "slots", "description", "include_deferred", "running_slots", "queued_slots", "scheduled_slots", "open_slots"],
            shown.Select(p =>
            {
                var u = usage.GetValueOrDefault(p.Name);
                var open = p.OpenSlots(u)?.ToString(CultureInfo.InvariantCulture) ?? "unlimited";
                return (IReadOnlyList<string?>)[
                    p.Name, p.Slots.ToString(CultureInfo.InvariantCulture), p.Description, "False",
                    (u?.Running ?? 0).ToString(CultureInfo.InvariantCulture), (u?.Queued ?? 0).ToString(CultureInfo.InvariantCulture),
                    (u?.Scheduled ?? 0).ToString(CultureInfo.InvariantCulture), open];
            }));
    }
}
