using System.CommandLine;
using System.Reflection;
using Sirocco.Cli.Commands;

namespace Sirocco.Cli;

/// <summary>The <c>sirocco</c> command line: Airflow's command groups over Sirocco's components.</summary>
internal static class CliApp
{
    /// <summary>Shows stack traces of errors; otherwise an error is one line.</summary>
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show stack traces of errors",
        Recursive = true,
    };

    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, IReadOnlyDictionary<string, string> environment, bool outputRedirected)
    {
        if (args is [Hosting.ChildCommand])
        {
            return await DagProcessorChildHost.RunAsync(environment, error);
        }

        CliContext? ctx = null;
        var verbose = args.Contains("--verbose") || args.Contains("-v");
        try
        {
            ctx = new CliContext(environment, output, error, outputRedirected);
            var root = Build(ctx);
            var parse = root.Parse(args);
            var rc = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            if (rc == 0)
            {
                await CliAudit.RecordAsync(ctx, parse);
            }

            return rc;
        }
        catch (OperationCanceledException) when (Hosting.ShutdownRequested)
        {
            return 0; // Ctrl-C or SIGTERM while starting or stopping: a clean stop
        }
        catch (Exception e)
        {
            // One line by default; the exception chain and stack trace with --verbose.
            var message = e is SiroccoException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            var masked = ctx is null ? message : ctx.Masker.Redact(message);
            await error.WriteLineAsync("error: " + masked.ReplaceLineEndings(" "));
            if (verbose)
            {
                await error.WriteLineAsync(ctx is null ? e.ToString() : ctx.Masker.Redact(e.ToString()));
            }

            return 1;
        }
        finally
        {
            if (ctx is not null)
            {
                await ctx.DisposeAsync();
            }
        }
    }

    private static RootCommand Build(CliContext ctx)
    {
        var root = new RootCommand("Sirocco: a workflow orchestrator for .NET whose first-class task is a Kubernetes pod.");
        root.Options.Add(Verbose);

        var version = new Command("version", "Show the version");
        version.SetAction(_ => ctx.Out.WriteLine(Version));
        root.Subcommands.Add(version);

        root.Subcommands.Add(DbCommands.Create(ctx));
        root.Subcommands.Add(ConfigCommands.Create(ctx));
        root.Subcommands.Add(VariablesCommands.Create(ctx));
        root.Subcommands.Add(PoolsCommands.Create(ctx));
        root.Subcommands.Add(KubernetesCommands.Create(ctx));
        root.Subcommands.Add(ConnectionsCommands.Create(ctx));
        root.Subcommands.Add(DagsCommands.Create(ctx));
        root.Subcommands.Add(TasksCommands.Create(ctx));
        root.Subcommands.Add(JobsCommands.Create(ctx));
        root.Subcommands.Add(RotateFernetKeyCommand.Create(ctx));
        root.Subcommands.Add(CompletionCommand.Create(ctx));
        foreach (var c in ServeCommands.Create(ctx).Concat(WebCommands.Create(ctx)))
        {
            root.Subcommands.Add(c);
        }
        return root;
    }

    /// <summary>The <c>--output</c> option of list commands: table (default), json, yaml or plain.</summary>
    public static Option<string> OutputOption()
    {
        var o = new Option<string>("--output", "-o")
        {
            Description = "Output format: table, json, yaml or plain",
            DefaultValueFactory = _ => "table",
        };
        o.AcceptOnlyFromAmong("table", "json", "yaml", "plain");
        return o;
    }
}
