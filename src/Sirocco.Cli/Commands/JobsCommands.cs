using System.CommandLine;
using Sirocco.Scheduler;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco jobs check</c>: Airflow's liveness probe for schedulers (exit 0 when the wanted jobs are alive).</summary>
internal static class JobsCommands
{
    public static Command Create(CliContext ctx)
    {
        var jobs = new Command("jobs", "Manage jobs (schedulers, backfills)");
        var jobType = new Option<string?>("--job-type") { Description = "The type of job: SchedulerJob or BackfillJob" };
        var hostname = new Option<string?>("--hostname") { Description = "Only jobs on this host" };
        var local = new Option<bool>("--local") { Description = "Only jobs on this host (the machine's name)" };
        var limit = new Option<int>("--limit") { Description = "How many alive jobs to look for (default 1)", DefaultValueFactory = _ => 1 };
        var allowMultiple = new Option<bool>("--allow-multiple") { Description = "Succeed when several alive jobs are found" };
        var check = new Command("check", "Exit 0 when alive jobs are found (a liveness probe), 1 otherwise") { jobType, hostname, local, limit, allowMultiple };
        check.SetAction(async (pr, ct) =>
        {
            if (pr.GetValue(local) && pr.GetValue(hostname) is not null)
            {
                throw new SiroccoException("--local and --hostname cannot be used together");
            }

            if (pr.GetValue(limit) < 1)
            {
                throw new SiroccoException($"--limit must be 1 or more, got {pr.GetValue(limit)}");
            }

            var type = pr.GetValue(jobType);
            if (type is not null and not (JobTypes.Scheduler or JobTypes.Backfill))
            {
                throw new SiroccoException($"--job-type '{type}' is unknown: use {JobTypes.Scheduler} or {JobTypes.Backfill}");
            }

            var host = pr.GetValue(local) ? Environment.MachineName : pr.GetValue(hostname);
            var threshold = TimeSpan.FromSeconds(ctx.Config.GetInt("scheduler", "scheduler_health_check_threshold"));
            var now = DateTimeOffset.UtcNow;
            var alive = (await ctx.Store.ListJobsAsync(type, runningOnly: true, ct))
                .Where(j => now - j.LatestHeartbeat < threshold && (host is null || j.Hostname == host))
                .Take(pr.GetValue(limit))
                .ToList();
            if (alive.Count == 0)
            {
                ctx.Error.WriteLine("No alive jobs found.");
                return 1;
            }

            if (alive.Count > 1 && !pr.GetValue(allowMultiple))
            {
                ctx.Error.WriteLine($"Found {alive.Count} alive jobs. Expected only one.");
                return 1;
            }

            foreach (var j in alive)
            {
                ctx.Out.WriteLine($"{j.JobType} {j.Id} on {j.Hostname} (pid {j.Pid}): last heartbeat {AirflowTime.IsoFormat(j.LatestHeartbeat)}");
            }

            ctx.Out.WriteLine(alive.Count == 1 ? "Found one alive job." : $"Found {alive.Count} alive jobs.");
            return 0;
        });
        jobs.Subcommands.Add(check);
        return jobs;
    }
}
