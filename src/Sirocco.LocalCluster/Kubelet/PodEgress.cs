using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// The ways out of an isolated pod's network, served by the cluster's process with no process per pod: a forwarder
/// on the pod's 127.0.0.1 at the API server's port (so <c>KUBERNETES_SERVICE_HOST</c> is 127.0.0.1 inside the pod as
/// outside), and an HTTP proxy (CONNECT for HTTPS and any TCP, absolute-form requests for plain HTTP) on an ephemeral
/// port of the pod's loopback, which <c>HTTP_PROXY</c> and <c>HTTPS_PROXY</c> name. Both listen inside the pod's
/// namespace and connect from the host's, so what a pod reaches is what the host reaches, through these two doors
/// only. Every wait is bounded: the request head in <see cref="HeadTimeout"/>, a connection in
/// <see cref="ConnectTimeout"/>.
/// </summary>
internal sealed class PodEgress : IAsyncDisposable
{
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private const int MaxHead = 32 * 1024;

    private readonly Socket _api;
    private readonly Socket _proxy;
    private readonly int _apiPort;
    private readonly CancellationTokenSource _stop = new();

    private PodEgress(Socket api, Socket proxy, int apiPort)
    {
        _api = api;
        _proxy = proxy;
        _apiPort = apiPort;
    }

    /// <summary>The proxy's port on the pod's loopback.</summary>
    public int ProxyPort => ((IPEndPoint)_proxy.LocalEndPoint!).Port;

    /// <summary>
    /// Makes both listeners in the calling thread's network namespace (the pod's): call it between
    /// <see cref="NetworkNamespace.Create"/> and <see cref="NetworkNamespace.Leave"/>. <see cref="Start"/> serves them.
    /// </summary>
    public static PodEgress Listen(int apiPort)
    {
        var api = ListenOn(apiPort);
        try
        {
            return new PodEgress(api, ListenOn(0), apiPort);
        }
        catch
        {
            api.Dispose();
            throw;
        }
    }

    /// <summary>Accepts on both listeners until disposed.</summary>
    public void Start()
    {
        _ = AcceptAsync(_api, ForwardToApiServerAsync);
        _ = AcceptAsync(_proxy, ProxyAsync);
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _api.Dispose();
        _proxy.Dispose();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    private static Socket ListenOn(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(128);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptAsync(Socket listener, Func<Socket, CancellationToken, Task> serve)
    {
        var token = _stop.Token;
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return; // the pod's network is going
            }
            catch (SocketException)
            {
                if (token.IsCancellationRequested)
                {
                    return;
                }

                // A passing failure (out of descriptors, a connection reset before it was accepted): keep serving.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            client.NoDelay = true;
            _ = ServeAsync(client, serve, token);
        }
    }

    private static async Task ServeAsync(Socket client, Func<Socket, CancellationToken, Task> serve, CancellationToken token)
    {
        using (client)
        {
            try
            {
                await serve(client, token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The pod or the far end went away, or a request no handler could serve: the connection just ends.
                // Nothing here may fault unobserved.
            }
        }
    }

    private async Task ForwardToApiServerAsync(Socket client, CancellationToken token)
    {
        using var upstream = await ConnectAsync("127.0.0.1", _apiPort, token).ConfigureAwait(false);
        await PumpAsync(client, upstream, token).ConfigureAwait(false);
    }

    private static async Task ProxyAsync(Socket client, CancellationToken token)
    {
        var (head, extra) = await ReadHeadAsync(client, token).ConfigureAwait(false);
        if (head is null)
        {
            await RefuseAsync(client, "400 Bad Request", $"no complete request head within {MaxHead} bytes and {HeadTimeout.TotalSeconds} s", token).ConfigureAwait(false);
            return;
        }

        var lineEnd = head.IndexOf("\r\n", StringComparison.Ordinal);
        var parts = head[..lineEnd].Split(' ');
        if (parts.Length != 3)
        {
            await RefuseAsync(client, "400 Bad Request", $"malformed request line '{head[..lineEnd]}'", token).ConfigureAwait(false);
            return;
        }

        var (method, target, version) = (parts[0], parts[1], parts[2]);
        string host;
        int port;
        byte[] forward;
        if (method == "CONNECT")
        {
            if (!TrySplitAuthority(target, out host, out port))
            {
                await RefuseAsync(client, "400 Bad Request", $"CONNECT needs host:port, got '{target}'", token).ConfigureAwait(false);
                return;
            }

            forward = extra;
        }
        else if (Uri.TryCreate(target, UriKind.Absolute, out var uri) && uri.Scheme == "http")
        {
            (host, port) = (uri.IdnHost, uri.Port);
            forward = [.. Encoding.Latin1.GetBytes(OriginForm(method, PathOf(target), version, head[(lineEnd + 2)..])), .. extra];
        }
        else
        {
            await RefuseAsync(client, "400 Bad Request", $"this proxy takes CONNECT host:port and absolute http:// requests, got '{method} {target}' (use https:// through CONNECT)", token).ConfigureAwait(false);
            return;
        }

        Socket upstream;
        try
        {
            upstream = await ConnectAsync(host, port, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or ArgumentException)
        {
            await RefuseAsync(client, "502 Bad Gateway", $"could not connect to {host}:{port}: {e.Message}", token).ConfigureAwait(false);
            return;
        }

        using (upstream)
        {
            if (method == "CONNECT")
            {
                await client.SendAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), SocketFlags.None, token).ConfigureAwait(false);
            }

            if (forward.Length > 0)
            {
                await upstream.SendAsync(forward, SocketFlags.None, token).ConfigureAwait(false);
            }

            await PumpAsync(client, upstream, token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The path and query of an absolute-form target exactly as the client wrote them (no dot-segment removal or
    /// re-escaping, so signed URLs stay valid), without a fragment; "/" when there is none.
    /// </summary>
    private static string PathOf(string target)
    {
        var afterScheme = target.IndexOf("://", StringComparison.Ordinal) + 3;
        var start = target.IndexOfAny(['/', '?', '#'], afterScheme);
        var path = start < 0 ? "" : target[start..];
        var fragment = path.IndexOf('#', StringComparison.Ordinal);
        path = fragment < 0 ? path : path[..fragment];
        return path.Length == 0 ? "/" : path[0] == '?' ? "/" + path : path;
    }

    /// <summary>
    /// The request rewritten for the origin server: its path, its own headers, and <c>Connection: close</c>, so the
    /// origin ends the connection after its answer and the client opens a new one (through the proxy) for its next
    /// request, which may be for another server.
    /// </summary>
    private static string OriginForm(string method, string path, string version, string headers)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{method} {path} {version}\r\n");
        foreach (var line in headers.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = colon > 0 ? line[..colon].Trim() : "";
            if (line.Length == 0 || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            text.Append(line).Append("\r\n");
        }

        return text.Append("Connection: close\r\n\r\n").ToString();
    }

    private static bool TrySplitAuthority(string authority, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = authority.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(authority[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is 0 or > 65535)
        {
            return false;
        }

        host = authority[..colon].Trim('[', ']');
        return host.Length > 0;
    }

    /// <summary>Reads up to the blank line ending the head; null when it does not come in time or in size.</summary>
    private static async Task<(string? Head, byte[] Extra)> ReadHeadAsync(Socket client, CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(HeadTimeout);
        var buffer = new byte[MaxHead];
        var length = 0;
        try
        {
            while (length < buffer.Length)
            {
                var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return (null, []);
                }

                var from = Math.Max(0, length - 3);
                length += read;
                var end = buffer.AsSpan(from, length - from).IndexOf("\r\n\r\n"u8);
                if (end >= 0)
                {
                    var headLength = from + end + 4;
                    return (Encoding.Latin1.GetString(buffer, 0, headLength - 2), buffer[headLength..length]);
                }
            }
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            // The head did not come in time.
        }

        return (null, []);
    }

    private static async Task RefuseAsync(Socket client, string status, string message, CancellationToken token)
    {
        var body = "sirocco pod proxy: " + message + "\n";
        var response = $"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        await client.SendAsync(Encoding.UTF8.GetBytes(response), SocketFlags.None, token).ConfigureAwait(false);
    }

    /// <summary>Connects from the host's network (the caller is a thread-pool thread, never a pod's).</summary>
    private static async Task<Socket> ConnectAsync(string host, int port, CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            socket.Dispose();
            throw new IOException($"no connection in {ConnectTimeout.TotalSeconds} s");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Copies both ways until both ends have finished sending; an error on either side ends both.</summary>
    private static async Task PumpAsync(Socket a, Socket b, CancellationToken token)
    {
        await Task.WhenAll(CopyAsync(a, b, token), CopyAsync(b, a, token)).ConfigureAwait(false);
    }

    private static async Task CopyAsync(Socket from, Socket to, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Abort(from);
            Abort(to);
        }
    }

    private static void Abort(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }
}
