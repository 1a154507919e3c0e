using System.CommandLine;
using System.Globalization;

namespace Sirocco.Cli.Commands;

/// <summary>
/// <c>sirocco dags report</c>, as Airflow's: each DAG file's parse time and its DAG and task counts, slowest first, to
/// find the files that slow the DAG processor down.
/// </summary>
internal static class DagsReportCommand
{
    public static Command Create(CliContext ctx)
    {
        var output = CliApp.OutputOption();
        var cmd = new Command("report", "Parse the dags folder and show each file's parse time and its DAG and task counts, slowest first") { output };
        cmd.SetAction(async (pr, ct) =>
        {
            using var bag = Hosting.CreateDagBag(ctx, watch: false);
            var result = await bag.CollectAsync(ct);
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["file", "duration", "dag_num", "task_num", "dags"],
                result.FileStats
                    .OrderByDescending(f => f.Duration)
                    .ThenBy(f => f.FileName, StringComparer.Ordinal)
                    .Select(f => (IReadOnlyList<string?>)
                    [
                        "/" + Path.GetRelativePath(bag.DagsFolder, f.FileName),
                        f.Duration.ToString(@"h\:mm\:ss\.ffffff", CultureInfo.InvariantCulture),
                        f.DagCount.ToString(CultureInfo.InvariantCulture),
                        f.TaskCount.ToString(CultureInfo.InvariantCulture),
                        string.Join(',', f.DagIds),
                    ]));
            if (result.ImportErrors.Count > 0)
            {
                await ctx.Error.WriteLineAsync($"warning: {result.ImportErrors.Count} DAG file(s) failed to load; see `sirocco dags list-import-errors`");
            }

            return 0;
        });
        return cmd;
    }
}
