using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Sirocco.Kubernetes.Tests.Harness;

/// <summary>
/// A loopback TCP proxy in front of the API server (TLS passes through untouched), with a kubeconfig pointing at it,
/// so a test can cut every open connection (watches, log streams) or refuse connections for a while, as a cluster
/// being upgraded does.
/// </summary>
public sealed class FlakyProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<TcpClient, byte> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private TcpListener _listener;
    private Task _accept;

    private FlakyProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptAsync(_listener);
    }

    public int Port { get; }

    public string Kubeconfig { get; private set; } = string.Empty;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted;

    /// <summary>Starts a proxy for the cluster and writes a kubeconfig that goes through it.</summary>
    public static FlakyProxy Start(ITestCluster cluster, string directory)
    {
        var proxy = new FlakyProxy(new IPEndPoint(IPAddress.Loopback, cluster.ServerPort));
        var text = File.ReadAllText(cluster.Kubeconfig).Replace($"127.0.0.1:{cluster.ServerPort}", $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal);
        Directory.CreateDirectory(directory);
        proxy.Kubeconfig = Path.Combine(directory, $"kubeconfig-proxy-{proxy.Port}");
        File.WriteAllText(proxy.Kubeconfig, text);
        return proxy;
    }

    /// <summary>Closes every open connection (clients see a reset or an early end of stream).</summary>
    public void CutAll()
    {
        foreach (var c in _open.Keys)
        {
            _open.TryRemove(c, out _);
            try
            {
                c.Client?.Close(0);
            }
            catch (ObjectDisposedException)
            {
                // Already closed by its pipe.
            }
        }
    }

    /// <summary>Refuses connections and cuts the open ones for <paramref name="duration"/>, then serves again.</summary>
    public async Task OutageAsync(TimeSpan duration)
    {
        _listener.Stop();
        await _accept;
        CutAll();
        await Task.Delay(duration);
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _accept = AcceptAsync(listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        CutAll();
        _stop.Dispose();
        try
        {
            File.Delete(Kubeconfig);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref Accepted);
            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        using var upstream = new TcpClient();
        _open[client] = 0;
        _open[upstream] = 0;
        try
        {
            await upstream.ConnectAsync(_target);
            using var a = client.GetStream();
            using var b = upstream.GetStream();
            var one = a.CopyToAsync(b);
            var two = b.CopyToAsync(a);
            await Task.WhenAny(one, two);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Cut.
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(upstream, out _);
            client.Close();
            upstream.Close();
        }
    }
}
