using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;
using Sirocco.Storage;

namespace Sirocco.Cli;

/// <summary>
/// Writes the audit log line of a CLI command that changed the metadata database (<c>cli_GROUP_COMMAND</c>, owner the
/// OS user, as Airflow's CLI does). Only the command and the name it acted on are kept: never a value, password or URI.
/// </summary>
internal static class CliAudit
{
    private static readonly HashSet<string> Changing = new(StringComparer.Ordinal)
    {
        "variables set", "variables delete", "variables import",
        "pools set", "pools delete", "pools import",
        "connections add", "connections delete", "connections import",
        "users create", "users delete", "users reset-password",
        "dags trigger", "dags backfill", "dags delete",
        "tasks clear", "tasks mark",
        "db migrate", "db clean", "rotate-fernet-key",
        "kubernetes cleanup-pods",
    };

    public static async Task RecordAsync(CliContext ctx, ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null && r.Parent is not null; r = r.Parent as CommandResult)
        {
            names.Insert(0, r.Command.Name);
        }

        var command = string.Join(' ', names);
        if (!Changing.Contains(command))
        {
            return;
        }

        var arguments = parse.CommandResult.Children.OfType<ArgumentResult>().Select(a => a.Tokens.FirstOrDefault()?.Value).ToList();
        var first = arguments.FirstOrDefault();
        var onDag = names[0] is "dags" or "tasks";
        var extra = new JsonObject { ["command"] = "sirocco " + command };
        if (!onDag && first is not null && names[0] is not "db")
        {
            extra["name"] = first;
        }

        var entry = new EventLogEntry(
            0, DateTimeOffset.UtcNow, "cli_" + command.Replace(' ', '_').Replace('-', '_'), Environment.UserName, "cli",
            DagId: onDag ? first : null,
            TaskId: names[0] == "tasks" ? arguments.ElementAtOrDefault(1) : null,
            Extra: ctx.Masker.Redact(extra.ToJsonString()));
        try
        {
            await ctx.Store.AddEventLogAsync(entry).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SiroccoException or System.Data.Common.DbException)
        {
            ctx.Error.WriteLine($"warning: the audit log could not record '{entry.Event}': {e.Message}");
        }
    }
}
