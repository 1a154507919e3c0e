using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// A pod's own network namespace, shared by its containers (as the pause container's is on a real node), made by a
/// launcher thread with no process (<see cref="NetworkNamespace"/>). A pod cannot bind the host's ports or see the
/// host's or other pods' listening sockets and abstract Unix sockets, and two pods may listen on the same port. Its ways
/// out depend on <see cref="LocalClusterPodNetwork"/>: <see cref="PodEgress"/> (the API server at 127.0.0.1 and an HTTP
/// proxy) or slirp4netns (IP networking, the host at <see cref="Gateway"/>). Made only when the cluster runs as root;
/// otherwise pods share the host's network.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class PodNetwork : IAsyncDisposable
{
    /// <summary>The host, as seen from a pod on slirp4netns: its fixed gateway address.</summary>
    public const string Gateway = "10.0.2.2";

    private const string SlirpPath = "/usr/bin/slirp4netns";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    private readonly int _fd;
    private readonly PodEgress? _egress;
    private Process? _slirp;

    private PodNetwork(int fd, PodEgress? egress)
    {
        _fd = fd;
        _egress = egress;
    }

    /// <summary>The namespace's descriptor, which a launcher thread enters to start a container in it.</summary>
    public int Descriptor => _fd;

    /// <summary>The host's name for the API server inside the pod (<c>KUBERNETES_SERVICE_HOST</c>).</summary>
    public string ApiHost => _slirp is null ? "127.0.0.1" : Gateway;

    /// <summary>The pod's address (<c>status.podIP</c>).</summary>
    public string PodAddress => _slirp is null ? "127.0.0.1" : "10.0.2.100";

    /// <summary>The variables that point HTTP clients at the pod's proxy (none on slirp4netns, which routes).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ProxyEnvironment
    {
        get
        {
            if (_egress is null)
            {
                return [];
            }

            var proxy = $"http://127.0.0.1:{_egress.ProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            const string direct = "localhost,127.0.0.1,::1";
            return [new("HTTP_PROXY", proxy), new("HTTPS_PROXY", proxy), new("http_proxy", proxy), new("https_proxy", proxy), new("NO_PROXY", direct), new("no_proxy", direct)];
        }
    }

    /// <summary>Whether pods get namespaces of their own here, and if not, why.</summary>
    public static string? Unsupported(LocalClusterOptions options) =>
        options.PodNetwork == LocalClusterPodNetwork.Host ? null
        : !Environment.IsPrivilegedProcess ? "a network namespace per pod needs the cluster to run as root"
        : options.PodNetwork == LocalClusterPodNetwork.Slirp4netns && !File.Exists(SlirpPath) ? "slirp4netns is not installed (apt-get install slirp4netns, or [local_cluster] pod_network = isolated)"
        : null;

    /// <summary>Whether pods get namespaces of their own here.</summary>
    public static bool Supported(LocalClusterOptions options) => options.PodNetwork != LocalClusterPodNetwork.Host && Unsupported(options) is null;

    /// <summary>Makes the namespace on a launcher thread and its ways out; with slirp4netns, waits until it serves the namespace.</summary>
    public static async Task<PodNetwork> CreateAsync(LocalClusterOptions options, int apiPort, ProcessLauncher launcher, CancellationToken token)
    {
        var slirp = options.PodNetwork == LocalClusterPodNetwork.Slirp4netns;
        var network = await launcher.RunAsync(() =>
        {
            var fd = NetworkNamespace.Create();
            try
            {
                return new PodNetwork(fd, slirp ? null : PodEgress.Listen(apiPort));
            }
            catch
            {
                NetworkNamespace.Release(fd);
                throw;
            }
            finally
            {
                NetworkNamespace.Leave();
            }
        }).ConfigureAwait(false);
        try
        {
            if (slirp)
            {
                await network.StartSlirpAsync(launcher, token).ConfigureAwait(false);
            }
            else
            {
                network._egress!.Start();
            }

            return network;
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartSlirpAsync(ProcessLauncher launcher, CancellationToken token)
    {
        // slirp4netns writes one byte to the ready descriptor once the namespace is configured. A socket pair, so the
        // wait is asynchronous; slirp4netns' end is inheritable only while the launcher starts it (no container
        // started at the same moment inherits it, which would hide an early exit of slirp4netns until the timeout).
        var fds = new int[2];
        if (SocketPair(AfUnix, SockStream | SockCloexec, 0, fds) != 0)
        {
            throw new IOException($"socketpair failed: errno {Marshal.GetLastPInvokeError()}");
        }

        using var ready = new Socket(new SafeSocketHandle((IntPtr)fds[0], ownsHandle: true));
        try
        {
            _slirp = await launcher.StartAsync(new ProcessStartInfo(SlirpPath,
                ["--configure", "--mtu=65520", $"--ready-fd={fds[1]}", "--netns-type=path", NetworkNamespace.PathOf(_fd), "tap0"])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            }, inherit: fds[1]).ConfigureAwait(false);
        }
        finally
        {
            Native.Close(fds[1]);
        }

        var output = _slirp.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = _slirp.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(ReadyTimeout);
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
            await _slirp.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            throw new IOException($"slirp4netns ended before the pod's network was ready (exit code {_slirp.ExitCode}): {(await output + await errors).Trim()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_egress is not null)
        {
            await _egress.DisposeAsync().ConfigureAwait(false);
        }

        if (_slirp is { } slirp)
        {
            if (!slirp.HasExited)
            {
                Native.Signal(slirp.Id, Native.SigTerm);
                try
                {
                    await slirp.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    Native.Signal(slirp.Id, Native.SigKill);
                }
            }

            slirp.Dispose();
        }

        NetworkNamespace.Release(_fd);
    }

    private const int AfUnix = 1;
    private const int SockStream = 1;
    private const int SockCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int SocketPair(int domain, int type, int protocol, [Out] int[] fds);
}
