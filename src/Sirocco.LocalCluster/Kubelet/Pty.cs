using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// A pseudo-terminal for an exec session with <c>tty=true</c>: the session reads and writes the master side; the command
/// gets the terminal as its stdin, stdout, stderr and controlling terminal (through util-linux <c>setsid -c</c>), so
/// shells prompt, echo and see their window size as in a container runtime's terminal.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class Pty : IDisposable
{
    private const int ReadWrite = 2;
    private const int NoControllingTerminal = 0x100;
    private const int CloseOnExec = 0x80000;
    private const nuint SetWindowSize = 0x5414;
    private const nuint Unlock = 0x40045431;
    private const nuint Number = 0x80045430;

    private readonly FileStream _master;

    private Pty(FileStream master, string terminal)
    {
        _master = master;
        Terminal = terminal;
    }

    /// <summary>The terminal's device path as the host sees it, opened by the command's launcher.</summary>
    public string Terminal { get; }

    /// <summary>
    /// Opens a new pseudo-terminal in the devpts instance of the container whose process is <paramref name="pid"/>, so
    /// the command finds its terminal's name (<c>tty</c>, <c>/dev/pts/N</c>) inside; falls back to the host's devpts.
    /// Throws <see cref="IOException"/> when neither gives one.
    /// </summary>
    public static Pty Open(int pid)
    {
        var root = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/root/dev/pts";
        return TryOpen(root) ?? TryOpen("/dev/pts") ?? throw new IOException($"no pseudo-terminal could be opened: errno {Marshal.GetLastPInvokeError()}");
    }

    private static Pty? TryOpen(string devpts)
    {
        var fd = OpenNative(devpts + "/ptmx", ReadWrite | NoControllingTerminal | CloseOnExec);
        if (fd < 0)
        {
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var unlock = 0;
        if (IoctlInt(fd, Unlock, ref unlock) != 0 || IoctlInt(fd, Number, ref unlock) != 0)
        {
            handle.Dispose();
            return null;
        }

        return new Pty(new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0), devpts + "/" + unlock.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The command, wrapped to run on this terminal: util-linux <c>setsid -c</c> starts a session inside the container
    /// and makes the terminal its controlling terminal, so the shell's job control sees only its own processes.
    /// </summary>
    public static IEnumerable<string> InSession(IEnumerable<string> command) => ["/usr/bin/setsid", "-w", "-c", .. command];

    /// <summary>The launcher's arguments: a host shell opens the terminal as fds 0-2, then runs the program on it.</summary>
    public IEnumerable<string> LaunchArguments(string program, IEnumerable<string> arguments) =>
        ["-c", "exec \"$@\" <>\"$0\" >&0 2>&0", Terminal, program, .. arguments];

    /// <summary>Sets the window size; the command's foreground process group gets SIGWINCH.</summary>
    public void Resize(int columns, int rows)
    {
        var size = new WindowSize { Rows = (ushort)Math.Clamp(rows, 0, ushort.MaxValue), Columns = (ushort)Math.Clamp(columns, 0, ushort.MaxValue) };
        _ = Ioctl(_master.SafeFileHandle, SetWindowSize, ref size);
    }

    /// <summary>Writes what the client typed.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        _master.Write(data);
        _master.Flush();
    }

    /// <summary>
    /// Reads the terminal's output until every process holding the terminal has closed it. A terminal offers no
    /// readiness the runtime's event loop can wait on through a stream, so this blocks the thread it runs on: run it on
    /// a dedicated one (one per interactive session, never per task).
    /// </summary>
    public int Read(Span<byte> buffer)
    {
        try
        {
            return _master.Read(buffer);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // EIO: the last holder of the terminal closed it; or the session ended and disposed the terminal.
            return 0;
        }
    }

    public void Dispose() => _master.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct WindowSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int OpenNative(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int IoctlInt(int fd, nuint request, ref int value);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Ioctl(SafeFileHandle fd, nuint request, ref WindowSize size);
}
