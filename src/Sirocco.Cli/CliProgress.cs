using Spectre.Console;

namespace Sirocco.Cli;

/// <summary>
/// Progress of long CLI work (a backfill, <c>db migrate</c>, the first <c>standalone</c> start), drawn by
/// Spectre.Console on standard error when standard error is a terminal. Anywhere else (a pipe, a log file, CI) nothing
/// is drawn and the commands' own result lines say what happened, so scripts read the same output as before.
/// </summary>
internal static class CliProgress
{
    /// <summary>
    /// Runs <paramref name="work"/> under a bar of <paramref name="total"/> steps. The scope it gets advances the bar
    /// and prints lines above it (to standard output when that is not the same terminal).
    /// </summary>
    public static async Task<T> BarAsync<T>(CliContext ctx, string description, int total, Func<IProgressScope, Task<T>> work)
    {
        if (!ctx.ErrorIsTerminal || total <= 0)
        {
            return await work(new PlainScope(ctx)).ConfigureAwait(false);
        }

        var console = Terminal(ctx);
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(description), maxValue: total);
                try
                {
                    return await work(new LiveScope(ctx, console, task)).ConfigureAwait(false);
                }
                finally
                {
                    // Skipped and upstream-failed tasks never run: the bar ends full when the work does.
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            })
            .ConfigureAwait(false);
    }

    /// <summary>Runs steps under a spinner; <paramref name="work"/> names each step as it begins.</summary>
    public static async Task StepsAsync(CliContext ctx, string first, Func<Action<string>, Task> work)
    {
        if (!ctx.ErrorIsTerminal)
        {
            await work(_ => { }).ConfigureAwait(false);
            return;
        }

        var console = Terminal(ctx);
        await console.Status()
            .Spinner(Spinner.Known.Dots)
            .StartAsync(Markup.Escape(first), async status =>
            {
                await work(step =>
                {
                    console.MarkupLine($"[grey]done:[/] {Markup.Escape(status.Status)}");
                    status.Status(Markup.Escape(step));
                }).ConfigureAwait(false);
                console.MarkupLine($"[grey]done:[/] {Markup.Escape(status.Status)}");
            })
            .ConfigureAwait(false);
    }

    private static IAnsiConsole Terminal(CliContext ctx) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(ctx.Error),
        Ansi = AnsiSupport.Yes,
        ColorSystem = ColorSystemSupport.Detect,
        Interactive = InteractionSupport.Yes,
    });

    private sealed class PlainScope(CliContext ctx) : IProgressScope
    {
        public void Advance()
        {
        }

        public void Line(string text) => ctx.Out.WriteLine(text);
    }

    private sealed class LiveScope(CliContext ctx, IAnsiConsole console, ProgressTask task) : IProgressScope
    {
        public void Advance() => task.Increment(1);

        public void Line(string text)
        {
            if (ctx.OutputRedirected)
            {
                ctx.Out.WriteLine(text);
            }
            else
            {
                // The same terminal: printed through the live display, above the bar, so the bar stays whole.
                console.WriteLine(text);
            }
        }
    }
}

/// <summary>What long work sees of its progress display.</summary>
internal interface IProgressScope
{
    /// <summary>One step done.</summary>
    void Advance();

    /// <summary>Prints a line of the command's output.</summary>
    void Line(string text);
}
