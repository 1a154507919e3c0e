using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// A pod's own network namespace, shared by its containers (as the pause container's is on a real node): loopback of
/// its own, and user-mode networking by slirp4netns, whose gateway <see cref="Gateway"/> reaches the host (its
/// loopback included, so the API server at 10.0.2.2:port, which <c>KUBERNETES_SERVICE_HOST</c> names). A pod cannot
/// bind the host's ports, see the host's or other pods' listening sockets or abstract Unix sockets, and two pods may
/// listen on the same port. Made only when the cluster runs as root and slirp4netns is installed; otherwise pods share
/// the host's network, as before (<see cref="LocalClusterOptions.IsolatePodNetwork"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class PodNetwork : IAsyncDisposable
{
    /// <summary>The host, as seen from a pod: slirp4netns' fixed gateway address.</summary>
    public const string Gateway = "10.0.2.2";

    /// <summary>The pod's own address on its user-mode network.</summary>
    public const string PodAddress = "10.0.2.100";

    private const string SlirpPath = "/usr/bin/slirp4netns";
    private const string UnsharePath = "/usr/bin/unshare";
    private const string NsenterPath = "/usr/bin/nsenter";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    private readonly string _path;
    private readonly Process _slirp;

    private PodNetwork(string path, Process slirp)
    {
        _path = path;
        _slirp = slirp;
    }

    /// <summary>Whether pods get namespaces of their own here: root, slirp4netns, unshare and nsenter.</summary>
    public static bool Supported(LocalClusterOptions options) =>
        options.IsolatePodNetwork && Environment.IsPrivilegedProcess && File.Exists(SlirpPath) && File.Exists(UnsharePath) && File.Exists(NsenterPath);

    /// <summary>The prefix that starts a command inside this namespace (nsenter execs it: same pid).</summary>
    public IReadOnlyList<string> Enter => [NsenterPath, "--net=" + _path, "--"];

    /// <summary>Makes the namespace (kept by a bind mount on a file in the pod's folder) and waits until slirp4netns serves it.</summary>
    public static async Task<PodNetwork> CreateAsync(string podDirectory, ProcessLauncher launcher, CancellationToken token)
    {
        var path = Path.Combine(podDirectory, "netns");
        await File.WriteAllBytesAsync(path, [], token).ConfigureAwait(false);
        using (var unshare = await launcher.StartAsync(new ProcessStartInfo(UnsharePath, ["--net=" + path, "true"]) { UseShellExecute = false, RedirectStandardError = true }).ConfigureAwait(false))
        {
            var error = await unshare.StandardError.ReadToEndAsync(token).ConfigureAwait(false);
            await unshare.WaitForExitAsync(token).ConfigureAwait(false);
            if (unshare.ExitCode != 0)
            {
                throw new IOException($"could not make the pod's network namespace at {path}: unshare exited with {unshare.ExitCode}: {error.Trim()}");
            }
        }

        // slirp4netns writes one byte to the ready descriptor once the namespace is configured. A socket pair, so the
        // wait is asynchronous; only slirp4netns' end is inheritable, and only until it has started.
        var fds = new int[2];
        if (SocketPair(AfUnix, SockStream | SockCloexec, 0, fds) != 0)
        {
            Release(path);
            throw new IOException($"socketpair failed: errno {Marshal.GetLastPInvokeError()}");
        }

        using var ready = new Socket(new SafeSocketHandle((IntPtr)fds[0], ownsHandle: true));
        Process slirp;
        try
        {
            if (Fcntl(fds[1], FSetFd, 0) != 0)
            {
                throw new IOException($"fcntl failed: errno {Marshal.GetLastPInvokeError()}");
            }

            slirp = await launcher.StartAsync(new ProcessStartInfo(SlirpPath,
                ["--configure", "--mtu=65520", $"--ready-fd={fds[1]}", "--netns-type=path", path, "tap0"])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            Release(path);
            throw;
        }
        finally
        {
            _ = Close(fds[1]);
        }

        var output = slirp.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = slirp.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(ReadyTimeout);
        var network = new PodNetwork(path, slirp);
        try
        {
            var buffer = new byte[1];
            int read;
            try
            {
                read = await ready.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new IOException($"slirp4netns did not make the pod's network ready in {ReadyTimeout.TotalSeconds} s");
            }

            if (read != 1)
            {
                await slirp.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                throw new IOException($"slirp4netns ended before the pod's network was ready (exit code {slirp.ExitCode}): {(await output + await errors).Trim()}");
            }

            return network;
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_slirp.HasExited)
        {
            Native.Signal(_slirp.Id, Native.SigTerm);
            try
            {
                await _slirp.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Native.Signal(_slirp.Id, Native.SigKill);
            }
        }

        _slirp.Dispose();
        Release(_path);
    }

    /// <summary>Drops the bind mount that keeps the namespace (it goes with its last process) and the file.</summary>
    private static void Release(string path)
    {
        _ = Unmount(path, MntDetach);
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Still mounted (a process entering it): the pod's folder goes later.
        }
    }

    private const int MntDetach = 2;

    private const int AfUnix = 1;
    private const int SockStream = 1;
    private const int SockCloexec = 0x80000;
    private const int FSetFd = 2;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int SocketPair(int domain, int type, int protocol, [Out] int[] fds);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Unmount(string target, int flags);
}
