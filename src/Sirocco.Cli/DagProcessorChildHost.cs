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

        // Requests and replies get private copies of descriptors 0 and 1, closed on exec so that no program a DAG file
        // starts holds them; descriptor 0 then reads /dev/null and descriptor 1 points at standard error, so nothing a
        // file prints, or a program it starts, or native code, can reach the reply channel or take a request.
        var requests = Fcntl(0, DupCloseOnExec, 3);
        var replies = Fcntl(1, DupCloseOnExec, 3);
        using var devNull = File.OpenHandle("/dev/null");
        if (requests < 0 || replies < 0 || Dup2((int)devNull.DangerousGetHandle(), 0) < 0 || Dup2(2, 1) < 0)
        {
            await error.WriteLineAsync($"error: cannot set up the DAG processor's channels (errno {Marshal.GetLastPInvokeError()})");
            return 1;
        }

        Console.SetOut(Console.Error);
        var code = 0;
        try
        {
            await using var ctx = new CliContext(environment, Console.Error, Console.Error, outputRedirected: true);
            await using var input = new FileStream(new SafeFileHandle(requests, ownsHandle: true), FileAccess.Read, bufferSize: 0);
            await using var output = new FileStream(new SafeFileHandle(replies, ownsHandle: true), FileAccess.Write, bufferSize: 0);
            await DagFiles.DagProcessorServer.RunAsync(Hosting.ChildDagBagOptions(ctx), input, output, CancellationToken.None);
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

    /// <summary>Linux's F_DUPFD_CLOEXEC: a copy at the lowest free descriptor at or above the argument, closed on exec.</summary>
    private const int DupCloseOnExec = 1030;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Dup2(int fd, int fd2);
}
