using System.CommandLine;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco dags</c>: DAGs known to the metadata store.</summary>
internal static class DagsCommands
{
    public static Command Create(CliContext ctx)
    {
        var dags = new Command("dags", "Manage DAGs");

        var output = CliApp.OutputOption();
        var list = new Command("list", "List the DAGs the scheduler has loaded") { output };
        list.SetAction(async (pr, ct) =>
        {
            var all = await ctx.Store.ListDagsAsync(ct);
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["dag_id", "fileloc", "owners", "is_paused", "schedule"],
                all.Where(d => d.IsActive).Select(d => (IReadOnlyList<string?>)[d.DagId, d.FileLoc, d.Owners, d.IsPaused ? "True" : "False", d.Schedule]));
            return 0;
        });
        dags.Subcommands.Add(list);

        dags.Subcommands.Add(Pause(ctx, "pause", paused: true));
        dags.Subcommands.Add(Pause(ctx, "unpause", paused: false));

        var errorsOutput = CliApp.OutputOption();
        var importErrors = new Command("list-import-errors", "List DAG files that failed to load") { errorsOutput };
        importErrors.SetAction(async (pr, ct) =>
        {
            var errors = await ctx.Store.ListImportErrorsAsync(ct);
            Output.Rows(ctx, pr.GetValue(errorsOutput)!, ["filepath", "error"], errors.Select(e => (IReadOnlyList<string?>)[e.FileName, e.Message]));
            return 0;
        });
        dags.Subcommands.Add(importErrors);
        return dags;
    }

    private static Command Pause(CliContext ctx, string name, bool paused)
    {
        var dagId = new Argument<string>("dag_id") { Description = "DAG id" };
        var cmd = new Command(name, paused ? "Pause a DAG" : "Resume a paused DAG") { dagId };
        cmd.SetAction(async (pr, ct) =>
        {
            var id = pr.GetValue(dagId)!;
            if (!await ctx.Store.SetDagPausedAsync(id, paused, ct))
            {
                throw new SiroccoException($"Dag id {id} not found");
            }

            ctx.Out.WriteLine($"Dag: {id}, paused: {paused}");
            return 0;
        });
        return cmd;
    }
}
