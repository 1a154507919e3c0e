using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Sirocco.Scheduler;
using Sirocco.Storage;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco tasks</c>: task instances, their logs and rendered fields.</summary>
internal static class TasksCommands
{
    public static Command Create(CliContext ctx)
    {
        var tasks = new Command("tasks", "Manage tasks and task instances");
        tasks.Subcommands.Add(List(ctx));
        tasks.Subcommands.Add(Test(ctx));
        tasks.Subcommands.Add(Render(ctx));
        tasks.Subcommands.Add(State(ctx));
        tasks.Subcommands.Add(StatesForDagRun(ctx));
        tasks.Subcommands.Add(Clear(ctx));
        tasks.Subcommands.Add(Mark(ctx));
        tasks.Subcommands.Add(Logs(ctx));
        return tasks;
    }

    private static Command List(CliContext ctx)
    {
        var dagId = new Argument<string>("dag_id") { Description = "DAG id" };
        var tree = new Option<bool>("--tree", "-t") { Description = "Show upstream before downstream with indentation" };
        var cmd = new Command("list", "List a DAG's tasks") { dagId, tree };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            foreach (var t in pr.GetValue(tree) ? dag.TopologicalOrder() : [.. dag.Tasks.OrderBy(t => t.TaskId, StringComparer.Ordinal)])
            {
                ctx.Out.WriteLine(t.TaskId);
            }

            return 0;
        });
        return cmd;
    }

    private static (Argument<string> Dag, Argument<string> Task) DagTaskArguments() =>
        (new Argument<string>("dag_id") { Description = "DAG id" }, new Argument<string>("task_id") { Description = "Task id" });

    private static Command Test(CliContext ctx)
    {
        var (dagId, taskId) = DagTaskArguments();
        var date = new Argument<string?>("logical_date") { Description = "Logical date (ISO 8601); now by default", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("test", "Run one task in this process, ignoring dependencies, log to the terminal; the run is not kept") { dagId, taskId, date };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            var task = dag.GetTask(pr.GetValue(taskId)!);
            var logical = (pr.GetValue(date) is { } d ? AirflowTime.Parse(d) : DateTimeOffset.UtcNow).ToUniversalTime();

            // As Airflow does: a temporary run, deleted afterwards, in which only this task runs, ignoring dependencies.
            var run = DagRun.Create(dag.DagId, DagRunType.Manual, logical, dag.Schedule.InferManualDataInterval(logical), DateTimeOffset.UtcNow, runId: "__sirocco_temporary_run_" + AirflowTime.IsoFormat(DateTimeOffset.UtcNow) + "__");
            using var telemetry = Telemetry.Start(ctx, prometheus: false);
            var scheduler = Hosting.CreateScheduler(ctx, new StaticDagSource(dag), ctx.Out.WriteLine);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await ctx.Store.CreateDagRunAsync(run, scheduler.JobId, ct);
                    break;
                }
                catch (DagRunExistsException) when (attempt < 100)
                {
                    // A run with this logical date exists: shift by 100 ns, invisible in ds, ts and run ids.
                    run = run with { LogicalDate = run.LogicalDate.AddTicks(1) };
                }
            }

            try
            {
                await scheduler.RunToCompletionAsync([run], ct, onlyTask: task.TaskId);
                // A mapped task runs every instance; each is listed.
                var tis = (await ctx.Store.ListTaskInstancesAsync(run.DagId, run.RunId, ct)).Where(t => t.TaskId == task.TaskId).OrderBy(t => t.MapIndex).ToList();
                foreach (var ti in tis)
                {
                    ctx.Out.WriteLine($"{task.TaskId}{(ti.MapIndex >= 0 ? $"[{ti.MapIndex}]" : string.Empty)}: {ti.State.ToName()}");
                }

                return tis.Count > 0 && tis.All(t => t.State is TaskInstanceState.Success or TaskInstanceState.Skipped) ? 0 : 1;
            }
            finally
            {
                await ctx.Store.DeleteDagRunAsync(run.DagId, run.RunId, CancellationToken.None);
            }
        });
        return cmd;
    }

    private static Command Render(CliContext ctx)
    {
        var (dagId, taskId) = DagTaskArguments();
        var date = new Argument<string?>("logical_date") { Description = "Logical date (ISO 8601); now by default", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("render", "Print each template field of a task as rendered for a logical date") { dagId, taskId, date };
        cmd.SetAction(async (pr, ct) =>
        {
            var dag = await Hosting.GetDagAsync(ctx, pr.GetValue(dagId)!, ct);
            var task = dag.GetTask(pr.GetValue(taskId)!);
            var logical = (pr.GetValue(date) is { } d ? AirflowTime.Parse(d) : DateTimeOffset.UtcNow).ToUniversalTime();
            var interval = dag.Schedule.Next(null, logical, null, catchup: true, now: DateTimeOffset.MaxValue) is { } n && n.LogicalDate == logical
                ? n.Interval
                : dag.Schedule.InferManualDataInterval(logical);
            var run = new DagRun { DagId = dag.DagId, RunId = DagRun.GenerateRunId(DagRunType.Manual, logical), RunType = DagRunType.Manual, LogicalDate = logical, DataInterval = interval };
            var ti = new TaskInstance { DagId = dag.DagId, TaskId = task.TaskId, RunId = run.RunId, TryNumber = 1 };
            var rendered = new AirflowTaskRenderer().Render(task.CloneForTry(), new RenderRequest(dag, run, ti, Hosting.Services(ctx), ctx.Store, TimeProvider.System, TestMode: true));
            foreach (var (field, value) in rendered.Fields)
            {
                ctx.Out.WriteLine("# ----------------------------------------------------------");
                ctx.Out.WriteLine($"# property: {field}");
                ctx.Out.WriteLine("# ----------------------------------------------------------");
                ctx.Out.WriteLine(ctx.Masker.Redact(value));
                ctx.Out.WriteLine();
            }

            return 0;
        });
        return cmd;
    }

    private static async Task<DagRun> FindRunAsync(CliContext ctx, string dagId, string runIdOrDate, CancellationToken ct)
    {
        if (await ctx.Store.GetDagRunAsync(dagId, runIdOrDate, ct) is { } run)
        {
            return run;
        }

        if (DateTimeOffset.TryParse(runIdOrDate, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var byDate = (await ctx.Store.ListDagRunsAsync(new DagRunQuery { DagId = dagId, Limit = 100_000 }, ct)).FirstOrDefault(r => r.LogicalDate == date);
            if (byDate is not null)
            {
                return byDate;
            }
        }

        throw new SiroccoException($"DagRun for {dagId} with run_id or logical_date of '{runIdOrDate}' not found");
    }

    /// <summary>Airflow's <c>--map-index</c>: which instance of a mapped task (-1, the default, for an unmapped one).</summary>
    private static Option<int> MapIndexOption() => new("--map-index") { Description = "For a mapped task: the instance's map index (default -1: an unmapped task)", DefaultValueFactory = _ => -1 };

    private static async Task<TaskInstance> RequireTaskInstanceAsync(CliContext ctx, DagRun r, string taskId, int mapIndex, CancellationToken ct)
    {
        if (await ctx.Store.GetTaskInstanceAsync(r.DagId, taskId, r.RunId, mapIndex, ct) is { } ti)
        {
            return ti;
        }

        var mapped = (await ctx.Store.ListTaskInstancesAsync(r.DagId, r.RunId, ct)).Count(t => t.TaskId == taskId && t.MapIndex >= 0);
        throw new SiroccoException(mapIndex == -1 && mapped > 0
            ? $"Task {taskId} in run {r.RunId} of {r.DagId} is mapped into {mapped} instances: give --map-index 0 to {mapped - 1}"
            : $"Task {taskId}{(mapIndex >= 0 ? $" (map index {mapIndex})" : string.Empty)} has no instance in run {r.RunId} of {r.DagId}");
    }

    private static Command State(CliContext ctx)
    {
        var (dagId, taskId) = DagTaskArguments();
        var run = new Argument<string>("run_id") { Description = "Run id or logical date" };
        var mapIndex = MapIndexOption();
        var cmd = new Command("state", "Print a task instance's state") { dagId, taskId, run, mapIndex };
        cmd.SetAction(async (pr, ct) =>
        {
            var r = await FindRunAsync(ctx, pr.GetValue(dagId)!, pr.GetValue(run)!, ct);
            var ti = await RequireTaskInstanceAsync(ctx, r, pr.GetValue(taskId)!, pr.GetValue(mapIndex), ct);
            ctx.Out.WriteLine(ti.State.ToName());
            return 0;
        });
        return cmd;
    }

    /// <summary><c>tasks states-for-dag-run</c>: every task instance of a run, as Airflow's command lists them.</summary>
    private static Command StatesForDagRun(CliContext ctx)
    {
        var dagId = new Argument<string>("dag_id") { Description = "The DAG" };
        var run = new Argument<string>("run_id") { Description = "Run id or logical date" };
        var output = CliApp.OutputOption();
        var cmd = new Command("states-for-dag-run", "List the state of every task instance of a DAG run") { dagId, run, output };
        cmd.SetAction(async (pr, ct) =>
        {
            var r = await FindRunAsync(ctx, pr.GetValue(dagId)!, pr.GetValue(run)!, ct);
            var tis = await ctx.Store.ListTaskInstancesAsync(r.DagId, r.RunId, ct);
            static string? Time(DateTimeOffset? t) => t?.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", System.Globalization.CultureInfo.InvariantCulture);
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["dag_id", "logical_date", "task_id", "state", "start_date", "end_date"],
                tis.OrderBy(t => t.TaskId, StringComparer.Ordinal).ThenBy(t => t.MapIndex)
                    .Select(t => (IReadOnlyList<string?>)[t.DagId, Time(r.LogicalDate), t.MapIndex >= 0 ? $"{t.TaskId}[{t.MapIndex}]" : t.TaskId, t.State.ToName(), Time(t.StartDate), Time(t.EndDate)]));
            return 0;
        });
        return cmd;
    }

    private static Command Mark(CliContext ctx)
    {
        var (dagId, taskId) = DagTaskArguments();
        var run = new Argument<string>("run_id") { Description = "Run id or logical date" };
        var state = new Option<string>("--state") { Description = "success, failed or skipped", Required = true };
        var mapIndex = MapIndexOption();
        var cmd = new Command("mark", "Set a task instance's state (as the UI's mark success / mark failed); a running try is ended") { dagId, taskId, run, state, mapIndex };
        cmd.SetAction(async (pr, ct) =>
        {
            var target = StateNames.ParseTaskInstanceState(pr.GetValue(state)!);
            if (target is not (TaskInstanceState.Success or TaskInstanceState.Failed or TaskInstanceState.Skipped))
            {
                throw new SiroccoException($"--state must be success, failed or skipped, got '{pr.GetValue(state)}'");
            }

            var r = await FindRunAsync(ctx, pr.GetValue(dagId)!, pr.GetValue(run)!, ct);
            var ti = await RequireTaskInstanceAsync(ctx, r, pr.GetValue(taskId)!, pr.GetValue(mapIndex), ct);
            var marked = await ctx.Store.MarkTaskInstanceAsync(ti, target, ctx.Actor, DateTimeOffset.UtcNow, ct);
            ctx.Out.WriteLine($"<TaskInstance: {r.DagId}.{ti.TaskId} {r.RunId}{(ti.MapIndex >= 0 ? $" map_index={ti.MapIndex}" : string.Empty)} [{ti.State.ToName()}]> marked {marked.State.ToName()}");
            return 0;
        });
        return cmd;
    }

    private static Command Clear(CliContext ctx)
    {
        var dagId = new Argument<string>("dag_id") { Description = "DAG id" };
        var regex = new Option<string?>("--task-regex", "-t") { Description = "Only tasks whose id matches this regular expression" };
        var start = new Option<string?>("--start-date", "-s") { Description = "Only runs with a logical date at or after this" };
        var end = new Option<string?>("--end-date", "-e") { Description = "Only runs with a logical date at or before this" };
        var onlyFailed = new Option<bool>("--only-failed", "-f") { Description = "Only failed and upstream_failed task instances" };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation (always assumed: the command is not interactive)" };
        var cmd = new Command("clear", "Clear task instances so the scheduler runs them again") { dagId, regex, start, end, onlyFailed, yes };
        cmd.SetAction(async (pr, ct) =>
        {
            var id = pr.GetValue(dagId)!;
            var dag = await Hosting.GetDagAsync(ctx, id, ct);
            Regex? filter;
            try
            {
                filter = pr.GetValue(regex) is { } r ? new Regex(r, RegexOptions.None, TimeSpan.FromSeconds(1)) : null;
            }
            catch (ArgumentException e)
            {
                throw new SiroccoException($"--task-regex '{pr.GetValue(regex)}' is not a valid regular expression: {e.Message}", e);
            }

            var from = pr.GetValue(start) is { } s ? AirflowTime.Parse(s) : DateTimeOffset.MinValue;
            var to = pr.GetValue(end) is { } e2 ? AirflowTime.Parse(e2) : DateTimeOffset.MaxValue;
            var runIds = (await ctx.Store.ListDagRunsAsync(new DagRunQuery { DagId = id, Limit = 100_000 }, ct))
                .Where(r => r.LogicalDate >= from && r.LogicalDate <= to)
                .Select(r => r.RunId)
                .ToList();
            var request = new ClearRequest
            {
                DagId = id,
                RunIds = runIds,
                TaskIds = filter is null ? null : [.. dag.Tasks.Select(t => t.TaskId).Where(t => filter.IsMatch(t))],
                OnlyFailed = pr.GetValue(onlyFailed),
                Retries = dag.Tasks.ToDictionary(t => t.TaskId, t => t.Retries, StringComparer.Ordinal),
                Actor = ctx.Actor,
            };
            var list = await ctx.Store.ClearTaskInstancesAsync(request, DateTimeOffset.UtcNow, ct);
            foreach (var ti in list)
            {
                ctx.Out.WriteLine($"<TaskInstance: {id}.{ti.TaskId} {ti.RunId} [{ti.State.ToName()}]> cleared");
            }

            var cleared = list.Count;
            ctx.Out.WriteLine($"{cleared} task instance(s) cleared");
            return 0;
        });
        return cmd;
    }

    private static Command Logs(CliContext ctx)
    {
        var (dagId, taskId) = DagTaskArguments();
        var run = new Argument<string>("run_id") { Description = "Run id or logical date" };
        var tryNumber = new Option<int?>("--try") { Description = "Try number (the latest by default)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines until the try ends" };
        var mapIndex = MapIndexOption();
        var cmd = new Command("logs", "Print a task try's log") { dagId, taskId, run, tryNumber, follow, mapIndex };
        cmd.SetAction(async (pr, ct) =>
        {
            var r = await FindRunAsync(ctx, pr.GetValue(dagId)!, pr.GetValue(run)!, ct);
            var task = pr.GetValue(taskId)!;
            var ti = await RequireTaskInstanceAsync(ctx, r, task, pr.GetValue(mapIndex), ct);
            var number = pr.GetValue(tryNumber) ?? ti.TryNumber;
            if (number < 1 || number > Math.Max(1, ti.TryNumber))
            {
                throw new SiroccoException($"Task {task} in run {r.RunId} has tries 1 to {ti.TryNumber}; there is no try {number}");
            }

            var folder = Hosting.Options(ctx).LogFolder;
            var path = TaskLogPaths.For(folder, r.DagId, task, r.LogicalDate, number, ti.MapIndex);
            if (!File.Exists(path) && !pr.GetValue(follow))
            {
                // Another machine's try, or a local file cleaned away: the remote copy when logs are kept remotely.
                var remote = ctx.RemoteLogs;
                var remoteName = TaskLogPaths.RemoteName(r.DagId, task, r.RunId, number, ti.MapIndex);
                path = await TaskLogFiles.LocateAsync(folder, path, remoteName, remote, TaskLogFiles.Finished(ti, number), ct)
                    ?? throw new SiroccoException(
                        $"No log for try {number} of {r.DagId}.{task} in {r.RunId} (expected {path}{(remote is null ? string.Empty : " or " + remote.Describe(remoteName))})");
            }

            long position = 0;
            async Task PrintNewLinesAsync()
            {
                if (File.Exists(path))
                {
                    await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    stream.Seek(position, SeekOrigin.Begin);
                    using var reader = new StreamReader(stream);
                    ctx.Out.Write(await reader.ReadToEndAsync(ct));
                    position = stream.Position;
                }
            }

            while (true)
            {
                await PrintNewLinesAsync();

                if (!pr.GetValue(follow))
                {
                    return 0;
                }

                var now = await ctx.Store.GetTaskInstanceAsync(r.DagId, task, r.RunId, ti.MapIndex, ct);
                if (now is null || (now.TryNumber > number) || (now.TryNumber == number && now.State is not (TaskInstanceState.Running or TaskInstanceState.Queued)))
                {
                    // One last read catches lines written just before the try ended.
                    await PrintNewLinesAsync();
                    return 0;
                }

                await WaitForWriteAsync(path, ct);
            }
        });
        return cmd;
    }

    private static async Task WaitForWriteAsync(string path, CancellationToken ct)
    {
        var dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        using var watcher = new FileSystemWatcher(dir, Path.GetFileName(path)) { NotifyFilter = NotifyFilters.Size | NotifyFilters.LastWrite | NotifyFilters.FileName };
        var changed = new TaskCompletionSource();
        watcher.Changed += (_, _) => changed.TrySetResult();
        watcher.Created += (_, _) => changed.TrySetResult();
        watcher.EnableRaisingEvents = true;

        // The state of the try is re-read at least every second: the end of a try writes no line after the state.
        await Task.WhenAny(changed.Task, Task.Delay(TimeSpan.FromSeconds(1), ct));
    }
}
