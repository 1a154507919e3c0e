using System.Globalization;
using System.Runtime.InteropServices;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>Signals and process-tree lookups the kubelet needs on Linux.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static partial class Native
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int KillNative(int pid, int signal);

    public static bool Signal(int pid, int signal) => pid > 1 && KillNative(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int CloseNative(int fd);

    /// <summary>Closes a descriptor this process opened outside .NET's handles (best effort).</summary>
    public static void Close(int fd) => _ = CloseNative(fd);

    /// <summary>Sets or clears FD_CLOEXEC on <paramref name="fd"/>; false when the kernel refused.</summary>
    public static bool SetCloseOnExec(int fd, bool closeOnExec) => Fcntl(fd, 2 /* F_SETFD */, closeOnExec ? 1 : 0) == 0;

    /// <summary>The first child of a process (bubblewrap's sandboxed pid 1), or null while it has none.</summary>
    public static int? FirstChild(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Trim();
            var first = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            return first is not null ? int.Parse(first, CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int LinkNative(string existing, string created);

    /// <summary>Makes a hard link; throws <see cref="IOException"/> naming both paths when the kernel refuses.</summary>
    public static void HardLink(string existing, string created)
    {
        if (LinkNative(existing, created) != 0)
        {
            throw new IOException($"cannot link {created} to {existing}: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
