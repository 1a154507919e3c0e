using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sirocco.Scheduler;
using Sirocco.Storage;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco dags</c>: the DAGs of the dags folder and their runs.</summary>
internal static class DagsCommands
{
    public static Command Create(CliContext ctx)
    {
        var dags = new Command("dags", "Manage DAGs");

        var output = CliApp.OutputOption();
        var list = new Command("list", "Parse the dags folder and list its DAGs") { output };
        list.SetAction(async (pr, ct) =>
        {
            var collection = await Hosting.LoadDagsAsync(ctx, ct);
            var models = (await ctx.Store.ListDagsAsync(ct)).ToDictionary(d => d.DagId);
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["dag_id", "fileloc", "owners", "is_paused", "schedule"],
                collection.Dags.Values.OrderBy(d => d.DagId, StringComparer.Ordinal).Select(d => (IReadOnlyList<string?>)[d.DagId, d.FileLoc, models[d.DagId].Owners, models[d.DagId].IsPaused ? "True" : "False", d.Schedule.Description]));
            if (collection.ImportErrors.Count > 0)
            {
                ctx.Error.WriteLine($"warning: {collection.ImportErrors.Count} DAG file(s) failed to load; see `sirocco dags list-import-errors`");
            }

            if (collection.Dags.Values.Sum(d => d.Warnings.Count) is > 0 and var warned)
            {
                ctx.Error.WriteLine($"warning: {warned} DAG warning(s); see `sirocco dags list-warnings`");
            }

            return 0;
        });
        dags.Subcommands.Add(list);

        dags.Subcommands.Add(Pause(ctx, "pause", paused: true));
        dags.Subcommands.Add(Pause(ctx, "unpause", paused: false));
        dags.Subcommands.Add(Delete(ctx));
        dags.Subcommands.Add(DagsReportCommand.Create(ctx));

        var errorsOutput = CliApp.OutputOption();
        var importErrors = new Command("list-import-errors", "Parse the dags folder and list the files that failed to load") { errorsOutput };
        importErrors.SetAction(async (pr, ct) =>
        {
            await Hosting.LoadDagsAsync(ctx, ct);
            var errors = await ctx.Store.ListImportErrorsAsync(ct);
            Output.Rows(ctx, pr.GetValue(errorsOutput)!, ["filepath", "error"], errors.Select(e => (IReadOnlyList<string?>)[e.FileName, e.Message]));
            return 0;
        });
        dags.Subcommands.Add(importErrors);

        var warningsOutput = CliApp.OutputOption();
        var warningsDag = new Option<string>("--dag-id", "-d") { Description = "Only this DAG's warnings" };
        var warnings = new Command("list-warnings", "Parse the dags folder and list the DAG warnings (problems a DAG loaded with)") { warningsDag, warningsOutput };
        warnings.SetAction(async (pr, ct) =>
        {
            await Hosting.LoadDagsAsync(ctx, ct);
            var found = await ctx.Store.ListDagWarningsAsync(pr.GetValue(warningsDag), ct);
            Output.Rows(ctx, pr.GetValue(warningsOutput)!, ["dag_id", "warning_type", "message"], found.Select(w => (IReadOnlyList<string?>)[w.DagId, w.WarningType, w.Message]));
            return 0;
        });
        dags.Subcommands.Add(warnings);

        dags.Subcommands.Add(Details(ctx));
        dags.Subcommands.Add(Show(ctx));
        dags.Subcommands.Add(Trigger(ctx));
        dags.Subcommands.Add(ListRuns(ctx));
        dags.Subcommands.Add(Test(ctx));
        dags.Subcommands.Add(Backfill(ctx));
        return dags;
    }

    private static Argument<string> DagIdArgument() => new("dag_id") { Description = "DAG id" };

    private static Command Pause(CliContext ctx, string name, bool paused)
    {
        var dagId = DagIdArgument();
        var cmd = new Command(name, paused ? "Pause a DAG" : "Resume a paused DAG") { dagId };
        cmd.SetAction(async (pr, ct) =>
        {
            var id = pr.GetValue(dagId)!;
            if (await ctx.Store.GetDagAsync(id, ct) is null)
            {
                await Hosting.LoadDagsAsync(ctx, ct);
            }

            if (!await ctx.Store.SetDagPausedAsync(id, paused, ct))
            {
                throw new SiroccoException($"Dag id {id} not found");
            }

            ctx.Out.WriteLine($"Dag: {id}, paused: {paused}");
            return 0;
        });
        return cmd;
    }

    /// <summary><c>dags delete</c>: every record of a DAG, after a confirmation unless <c>--yes</c>, as Airflow's command.</summary>
    private static Command Delete(CliContext ctx)
    {
        var dagId = DagIdArgument();
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation" };
        var cmd = new Command("delete", "Delete every record of a DAG (runs, task instances, XComs); its file stays, so it comes back at the next parse") { dagId, yes };
        cmd.SetAction(async (pr, ct) =>
        {
            var id = pr.GetValue(dagId)!;
            if (!pr.GetValue(yes))
            {
                ctx.Out.Write("This will drop all existing records related to the specified DAG. Proceed? (y/n)");
                var answer = Console.In.ReadLine();
                if (!string.Equals(answer?.Trim(), "y", StringComparison.OrdinalIgnoreCase))
                {
                    ctx.Out.WriteLine();
                    ctx.Out.WriteLine("Cancelled");
                    return 1;
                }
            }

            var removed = await ctx.Store.DeleteDagAsync(id, ct);
            if (removed == 0)
            {
                throw new SiroccoException($"Dag id {id} not found");
            }

            ctx.Out.WriteLine($"Removed {removed} record(s)");
            return 0;
        });
        return cmd;
    }

    private static Command Details(CliContext ctx)
    {
        var dagId = DagIdArgument();
        var output = CliApp.OutputOption();
        var cmd = new Command("details", "Show a DAG's settings") { dagId, output };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            var model = await ctx.Store.GetDagAsync(dag.DagId, ct);
            string? Date(DateTimeOffset? d) => d is { } v ? AirflowTime.IsoFormat(v) : null;
            IReadOnlyList<string?>[] rows =
            [
                ["dag_id", dag.DagId], ["description", dag.Description], ["fileloc", dag.FileLoc], ["is_paused", model?.IsPaused.ToString()],
                ["schedule", dag.Schedule.Description], ["start_date", Date(dag.StartDate)], ["end_date", Date(dag.EndDate)],
                ["catchup", (dag.Catchup ?? ctx.Config.GetBool("scheduler", "catchup_by_default")).ToString()],
                ["max_active_runs", (dag.MaxActiveRuns ?? ctx.Config.GetInt("core", "max_active_runs_per_dag")).ToString(CultureInfo.InvariantCulture)],
                ["max_active_tasks", (dag.MaxActiveTasks ?? ctx.Config.GetInt("core", "max_active_tasks_per_dag")).ToString(CultureInfo.InvariantCulture)],
                ["dagrun_timeout", dag.DagrunTimeout?.ToString()], ["tags", string.Join(", ", dag.Tags)], ["tasks", string.Join(", ", dag.Tasks.Select(t => t.TaskId))],
            ];
            Output.Rows(ctx, pr.GetValue(output)!, ["property", "value"], rows);
            return 0;
        });
        return cmd;
    }

    private static Command Show(CliContext ctx)
    {
        var dagId = DagIdArgument();
        var format = new Option<string>("--format") { Description = "text (default) or dot", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "dot");
        var cmd = new Command("show", "Show a DAG's tasks and dependencies") { dagId, format };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            var sb = new StringBuilder();
            if (pr.GetValue(format) == "dot")
            {
                sb.Append("digraph \"").Append(dag.DagId).Append("\" {\n  rankdir=LR;\n");
                foreach (var t in dag.TopologicalOrder())
                {
                    sb.Append("  \"").Append(t.TaskId).Append("\" [label=\"").Append(t.TaskId).Append("\\n").Append(t.OperatorName).Append("\"];\n");
                }

                foreach (var t in dag.TopologicalOrder())
                {
                    foreach (var d in t.DownstreamTaskIds.Order(StringComparer.Ordinal))
                    {
                        sb.Append("  \"").Append(t.TaskId).Append("\" -> \"").Append(d).Append("\";\n");
                    }
                }

                sb.Append("}\n");
            }
            else
            {
                foreach (var t in dag.TopologicalOrder())
                {
                    sb.Append(t.TaskId).Append(" (").Append(t.OperatorName).Append(')');
                    if (t.DownstreamTaskIds.Count > 0)
                    {
                        sb.Append(" >> ").Append(string.Join(", ", t.DownstreamTaskIds.Order(StringComparer.Ordinal)));
                    }

                    sb.Append('\n');
                }
            }

            ctx.Out.Write(sb.ToString());
            return 0;
        });
        return cmd;
    }

    private static Command Trigger(CliContext ctx)
    {
        var dagId = DagIdArgument();
        var conf = new Option<string?>("--conf", "-c") { Description = "JSON object passed to the run as dag_run.conf" };
        var logicalDate = new Option<string?>("--logical-date", "-e", "--exec-date") { Description = "Logical date of the run (ISO 8601); now by default" };
        var cmd = new Command("trigger", "Create a manual run; the scheduler runs it") { dagId, conf, logicalDate };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            var runConf = ParseConf(pr.GetValue(conf));
            ParamValidation.Validate(dag, runConf);
            var run = await SiroccoScheduler.CreateManualRunAsync(ctx.Store, dag.Schedule, dag.DagId, runConf, pr.GetValue(logicalDate) is { } d ? AirflowTime.Parse(d) : DateTimeOffset.UtcNow, TimeProvider.System, ct);
            ctx.Out.WriteLine($"Created <DagRun {run.DagId} @ {AirflowTime.IsoFormat(run.LogicalDate)}: {run.RunId}, state:queued, queued_at: {AirflowTime.IsoFormat(run.QueuedAt!.Value)}. externally triggered: True>");
            return 0;
        });
        return cmd;
    }

    internal static JsonObject? ParseConf(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new SiroccoException($"--conf must be a JSON object, got: {text}");
        }
        catch (JsonException e)
        {
            throw new SiroccoException($"--conf is not valid JSON: {e.Message}", e);
        }
    }

    private static Command ListRuns(CliContext ctx)
    {
        var dagId = new Option<string?>("--dag-id", "-d") { Description = "DAG id" };
        var positional = new Argument<string?>("dag") { Description = "DAG id (or use -d)", Arity = ArgumentArity.ZeroOrOne };
        var state = new Option<string?>("--state") { Description = "Only runs in this state" };
        var output = CliApp.OutputOption();
        var cmd = new Command("list-runs", "List a DAG's runs, newest first") { positional, dagId, state, output };
        cmd.SetAction(async (pr, ct) =>
        {
            var id = pr.GetValue(dagId) ?? pr.GetValue(positional) ?? throw new SiroccoException("give a DAG id: sirocco dags list-runs -d DAG_ID");
            var query = new DagRunQuery { DagId = id, States = pr.GetValue(state) is { } s ? [StateNames.ParseDagRunState(s)] : null, Limit = 1000 };
            var runs = await ctx.Store.ListDagRunsAsync(query, ct);
            string? Date(DateTimeOffset? d) => d is { } v ? AirflowTime.IsoFormat(v) : null;
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["dag_id", "run_id", "state", "run_type", "logical_date", "start_date", "end_date"],
                runs.Select(r => (IReadOnlyList<string?>)[r.DagId, r.RunId, r.State.ToName(), r.RunType.ToName(), Date(r.LogicalDate), Date(r.StartDate), Date(r.EndDate)]));
            return 0;
        });
        return cmd;
    }

    private static Command Test(CliContext ctx)
    {
        var dagId = DagIdArgument();
        var date = new Argument<string?>("logical_date") { Description = "Logical date (ISO 8601); now by default", Arity = ArgumentArity.ZeroOrOne };
        var conf = new Option<string?>("--conf", "-c") { Description = "JSON object passed as dag_run.conf" };
        var cmd = new Command("test", "Run one DAG run in this process, every task, logs to the terminal; exit 0 iff it succeeds") { dagId, date, conf };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            foreach (var w in dag.Warnings)
            {
                ctx.Error.WriteLine($"DAG warning ({w.WarningType}): {w.Message}");
            }

            var logical = (pr.GetValue(date) is { } d ? AirflowTime.Parse(d) : DateTimeOffset.UtcNow).ToUniversalTime();
            var testConf = ParseConf(pr.GetValue(conf));
            ParamValidation.Validate(dag, testConf);
            var run = DagRun.Create(dag.DagId, DagRunType.Manual, logical, dag.Schedule.InferManualDataInterval(logical), DateTimeOffset.UtcNow, testConf);
            if (await ctx.Store.GetDagRunAsync(run.DagId, run.RunId, ct) is not null)
            {
                await ctx.Store.DeleteDagRunAsync(run.DagId, run.RunId, ct);
            }

            var sync = new Lock();
            using var telemetry = Telemetry.Start(ctx, prometheus: false);
            var scheduler = Hosting.CreateScheduler(ctx, new StaticDagSource(dag), line =>
            {
                lock (sync)
                {
                    ctx.Out.WriteLine(line);
                }
            });

            // Created held by this process, so that a running scheduler does not take the run as well.
            await ctx.Store.CreateDagRunAsync(run, scheduler.JobId, ct);
            using var shutdown = Hosting.ShutdownOnSignal();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, shutdown.Token);
            var result = (await scheduler.RunToCompletionAsync([run], linked.Token))[0];
            foreach (var ti in await ctx.Store.ListTaskInstancesAsync(run.DagId, run.RunId, ct))
            {
                ctx.Out.WriteLine($"{(ti.MapIndex >= 0 ? $"{ti.TaskId}[{ti.MapIndex}]" : ti.TaskId)}: {ti.State.ToName()}");
            }

            ctx.Out.WriteLine($"Dag run {result.RunId} finished: {result.State.ToName()}");
            return result.State == DagRunState.Success ? 0 : 1;
        });
        return cmd;
    }

    private static Command Backfill(CliContext ctx)
    {
        var dagId = DagIdArgument();
        var start = new Option<string>("--start-date", "-s") { Description = "First logical date (ISO 8601)", Required = true };
        var end = new Option<string>("--end-date", "-e") { Description = "Last logical date (ISO 8601)", Required = true };
        var cmd = new Command("backfill", "Run every scheduled interval whose logical date is in [start, end], in this process") { dagId, start, end };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            var from = AirflowTime.Parse(pr.GetValue(start)!);
            var to = AirflowTime.Parse(pr.GetValue(end)!);
            if (to < from)
            {
                throw new SiroccoException($"--end-date {pr.GetValue(end)} is before --start-date {pr.GetValue(start)}");
            }

            // Task log lines go through the progress display while it is drawn, so the bar stays whole.
            Action<string> echo = ctx.Out.WriteLine;
            using var telemetry = Telemetry.Start(ctx, prometheus: false);
            var scheduler = Hosting.CreateScheduler(ctx, new StaticDagSource(dag), line => echo(line));
            var runs = new List<DagRun>();
            Scheduling.DataInterval? last = null;
            while (dag.Schedule.Next(last, from, to, catchup: true, now: DateTimeOffset.MaxValue) is { } next && next.LogicalDate <= to)
            {
                last = next.Interval;
                var existing = (await ctx.Store.ListDagRunsAsync(new DagRunQuery { DagId = dag.DagId, Limit = 100_000 }, ct)).FirstOrDefault(r => r.LogicalDate == next.LogicalDate);
                if (existing is { State: DagRunState.Success })
                {
                    ctx.Out.WriteLine($"Skipping {existing.RunId}: already succeeded");
                    continue;
                }

                var run = existing ?? DagRun.Create(dag.DagId, DagRunType.Backfill, next.LogicalDate, next.Interval, DateTimeOffset.UtcNow);
                if (existing is null)
                {
                    await ctx.Store.CreateDagRunAsync(run, scheduler.JobId, ct);
                }

                runs.Add(run);
                if (runs.Count > 10_000)
                {
                    throw new SiroccoException("backfill would create more than 10,000 runs; narrow the dates");
                }
            }

            using var shutdown = Hosting.ShutdownOnSignal();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, shutdown.Token);
            var results = runs.Count == 0
                ? []
                : await CliProgress.BarAsync(ctx, $"Backfilling {dag.DagId}: {runs.Count} run(s)", runs.Count * dag.Tasks.Count, async progress =>
                {
                    echo = progress.Line;
                    scheduler.TaskInstanceFinished += ti =>
                    {
                        if (ti.State is not TaskInstanceState.UpForRetry and not TaskInstanceState.UpForReschedule)
                        {
                            progress.Advance();
                        }
                    };
                    try
                    {
                        return await scheduler.RunToCompletionAsync(runs, linked.Token);
                    }
                    finally
                    {
                        echo = ctx.Out.WriteLine;
                    }
                });
            foreach (var r in results)
            {
                ctx.Out.WriteLine($"{r.RunId}: {r.State.ToName()}");
            }

            return results.All(r => r.State == DagRunState.Success) ? 0 : 1;
        });
        return cmd;
    }
}
