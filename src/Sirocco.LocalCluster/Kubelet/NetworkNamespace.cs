using System.Runtime.InteropServices;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Network namespaces made and entered by the calling thread, with no process: a namespace is per thread on Linux, so
/// a launcher thread makes one (<see cref="Create"/>), or enters one to fork a container into it
/// (<see cref="Enter"/>), and goes back to the host's (<see cref="Leave"/>) before it runs anything else. A namespace
/// lives while a descriptor or a process holds it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static partial class NetworkNamespace
{
    private const int CloneNewNet = 0x40000000;
    private const int ReadOnly = 0;
    private const int CloseOnExec = 0x80000;

    /// <summary>The host's namespace, opened once from a thread that is in it.</summary>
    private static readonly Lazy<int> Host = new(() => OpenCurrent("the host's network namespace"));

    /// <summary>Opens the host's namespace now, from a thread known to be in it (the cluster's start).</summary>
    public static void OpenHost() => _ = Host.Value;

    /// <summary>
    /// Moves the calling thread into a new namespace with its loopback up and returns a descriptor of it; the thread
    /// stays there until <see cref="Leave"/>.
    /// </summary>
    public static int Create()
    {
        _ = Host.Value;
        if (Unshare(CloneNewNet) != 0)
        {
            throw new IOException($"unshare(CLONE_NEWNET) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var fd = -1;
        try
        {
            fd = OpenCurrent("the pod's network namespace");
            LoopbackUp();
            return fd;
        }
        catch
        {
            if (fd >= 0)
            {
                Native.Close(fd);
            }

            Leave();
            throw;
        }
    }

    /// <summary>Moves the calling thread into the namespace <paramref name="fd"/>.</summary>
    public static void Enter(int fd)
    {
        if (SetNs(fd, CloneNewNet) != 0)
        {
            throw new IOException($"setns into the pod's network namespace failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Moves the calling thread back into the host's namespace; a thread that cannot go back stops the process.</summary>
    public static void Leave()
    {
        if (SetNs(Host.Value, CloneNewNet) != 0)
        {
            // Anything this thread ran next (the API server's work, another pod's start) would be in a pod's network.
            Environment.FailFast($"a launcher thread could not return to the host's network namespace: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Lets the namespace go (it ends with the last process in it).</summary>
    public static void Release(int fd) => Native.Close(fd);

    /// <summary>The path by which another process opens the namespace <paramref name="fd"/> (slirp4netns' <c>--netns-type=path</c>).</summary>
    public static string PathOf(int fd) => $"/proc/{Environment.ProcessId}/fd/{fd}";

    private static int OpenCurrent(string what)
    {
        var fd = Open("/proc/thread-self/ns/net", ReadOnly | CloseOnExec);
        return fd >= 0 ? fd : throw new IOException($"could not open {what}: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Sets IFF_UP on <c>lo</c> (SIOCGIFFLAGS, then SIOCSIFFLAGS), as <c>ip link set lo up</c> does.</summary>
    private static void LoopbackUp()
    {
        const int afInet = 2, sockDgram = 2, getFlags = 0x8913, setFlags = 0x8914, up = 0x1;
        var s = Socket(afInet, sockDgram | CloseOnExec, 0);
        if (s < 0)
        {
            throw new IOException($"socket failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            var request = new byte[40]; // struct ifreq: the name, then the flags at offset 16
            "lo"u8.CopyTo(request);
            if (Ioctl(s, getFlags, request) != 0)
            {
                throw new IOException($"SIOCGIFFLAGS on lo failed: errno {Marshal.GetLastPInvokeError()}");
            }

            var flags = BitConverter.ToInt16(request, 16) | up;
            BitConverter.GetBytes((short)flags).CopyTo(request, 16);
            if (Ioctl(s, setFlags, request) != 0)
            {
                throw new IOException($"SIOCSIFFLAGS on lo failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            Native.Close(s);
        }
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int SetNs(int fd, int type);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Open(string path, int flags);


    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Ioctl(int fd, nuint request, byte[] argument);
}
