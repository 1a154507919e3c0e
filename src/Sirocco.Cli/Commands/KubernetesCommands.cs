using System.CommandLine;
using Sirocco.Kubernetes;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco kubernetes</c>: Airflow's <c>airflow kubernetes</c> commands.</summary>
internal static class KubernetesCommands
{
    public static Command Create(CliContext ctx)
    {
        var kubernetes = new Command("kubernetes", "Tools for the pods of tasks");
        var ns = new Option<string?>("--namespace") { Description = "Namespace of the pods (default: the kubernetes_default connection's, else [kubernetes] namespace)" };
        var minPending = new Option<int>("--min-pending-minutes") { Description = "Pending pods older than this are deleted (default 30)", DefaultValueFactory = _ => 30 };
        var cleanup = new Command("cleanup-pods", "Delete the pods of tries that are over (succeeded, failed, evicted) or pending too long") { ns, minPending };
        cleanup.SetAction(async (pr, ct) =>
        {
            var minutes = pr.GetValue(minPending);
            if (minutes < 0)
            {
                throw new SiroccoException($"--min-pending-minutes must be 0 or more, got {minutes}");
            }

            var deleted = await PodCleanup.RunAsync(ctx.Connections, ctx.Config, ctx.Environment, pr.GetValue(ns), TimeSpan.FromMinutes(minutes), ctx.Out.WriteLine, ct);
            ctx.Out.WriteLine($"Deleted {deleted} pod(s)");
            return 0;
        });
        kubernetes.Subcommands.Add(cleanup);
        return kubernetes;
    }
}
