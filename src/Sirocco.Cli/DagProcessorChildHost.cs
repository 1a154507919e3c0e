using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sirocco.Cli;

/// <summary>
/// <c>sirocco dag-processor-child</c>: the child process a long-running host (scheduler, webserver, standalone) runs
/// DAG files in first (see <see cref="DagFiles.DagProcessorServer"/>). Started by the host only; not a user command.
/// </summary>
internal static partial class DagProcessorChildHost
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> environment, TextWriter error)
    {
        // The host ends a child by closing its input (or killing it); Ctrl-C and SIGTERM sent to the whole process group
        // must not end a file mid-way and have it blamed for it.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);

        // Replies get a private copy of standard output; descriptor 1 itself becomes standard error, so nothing a DAG file
        // prints, or a program it starts, or native code, can reach the reply channel.
        var replies = Dup(1);
        if (replies < 0 || Dup2(2, 1) < 0)
        {
            await error.WriteLineAsync($"error: cannot set up the reply channel (errno {Marshal.GetLastPInvokeError()})");
            return 1;
        }

        Console.SetOut(Console.Error);
        var code = 0;
        try
        {
            await using var ctx = new CliContext(environment, Console.Error, Console.Error, outputRedirected: true);
            await using var output = new FileStream(new SafeFileHandle(replies, ownsHandle: true), FileAccess.Write, bufferSize: 0);
            await DagFiles.DagProcessorServer.RunAsync(Hosting.ChildDagBagOptions(ctx), Console.OpenStandardInput(), output, CancellationToken.None);
        }
        catch (Exception e)
        {
            await error.WriteLineAsync($"error: the DAG processor stopped: {e.GetType().Name}: {e.Message}");
            code = 1;
        }

        // A DAG file may have left a thread running (one that timed out): end the process regardless.
        Environment.Exit(code);
        return code;
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Dup2(int fd, int fd2);
}
