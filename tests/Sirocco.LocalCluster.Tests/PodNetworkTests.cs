using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// Each pod in a network namespace of its own (slirp4netns): the host's loopback is not the pod's, the host is reached
/// at 10.0.2.2 only, two pods and the host may listen on the same port, exec runs in the pod's namespace, and a
/// <c>hostNetwork</c> pod shares the host's network.
/// </summary>
[Collection("cluster")]
public sealed class PodNetworkTests(ClusterFixture fx) : IDisposable
{
    private readonly TcpListener _host = StartHostService();
    private readonly CancellationTokenSource _stop = new();

    public void Dispose()
    {
        _stop.Cancel();
        _host.Stop();
        _stop.Dispose();
    }

    /// <summary>A service on the host's loopback that answers "host" to every connection.</summary>
    private static TcpListener StartHostService()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("host\n"));
            }
        });
        return listener;
    }

    private int HostPort => ((IPEndPoint)_host.LocalEndpoint).Port;

    /// <summary>Probes the host service at 127.0.0.1 and at the API server's host, then listens on the host service's port.</summary>
    private string Script => $$"""
        import os, socket
        def probe(host):
            try:
                s = socket.create_connection((host, {{HostPort}}), timeout=5)
                print(host, "open", s.recv(10).decode().strip())
            except OSError as e:
                print(host, "closed", type(e).__name__)
        probe("127.0.0.1")
        probe(os.environ["KUBERNETES_SERVICE_HOST"])
        srv = socket.socket()
        try:
            srv.bind(("127.0.0.1", {{HostPort}}))
            srv.listen()
            print("listening")
        except OSError as e:
            print("bind failed", e.errno)
        print("tap0" in open("/proc/net/dev").read())
        """;

    [Fact]
    public async Task A_pod_has_its_own_loopback_and_reaches_the_host_through_the_gateway()
    {
        var ns = await fx.NamespaceAsync("net");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("a", "python3", "-c", Script), ns);
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("b", "python3", "-c", Script), ns);

        foreach (var name in new[] { "a", "b" })
        {
            var done = await fx.WaitForPodAsync(ns, name, ClusterFixture.Done);
            var log = await fx.LogAsync(ns, name);
            Assert.True(done.Status.Phase == "Succeeded", log);
            // The host's port is free in the pod's own loopback: nothing answers there, and the pod may bind it.
            Assert.Equal($"127.0.0.1 closed ConnectionRefusedError\n10.0.2.2 open host\nlistening\nTrue\n", log);
            Assert.Equal("10.0.2.100", done.Status.PodIP);
        }
    }

    [Fact]
    public async Task Exec_runs_in_the_pod_s_network_namespace()
    {
        var ns = await fx.NamespaceAsync("net-exec");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("sleeper", "sleep", "30"), ns);
        await fx.WaitForPodAsync(ns, "sleeper", p => p.Status?.Phase == "Running");
        var result = await fx.KubectlAsync("exec", "sleeper", "-n", ns, "--", "cat", "/proc/net/dev");
        Assert.True(result.Code == 0, result.Err);
        Assert.Contains("tap0", result.Out, StringComparison.Ordinal);
        await fx.Client.CoreV1.DeleteNamespacedPodAsync("sleeper", ns, gracePeriodSeconds: 0);
    }

    [Fact]
    public async Task A_host_network_pod_shares_the_host_s_network()
    {
        var ns = await fx.NamespaceAsync("net-host", new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "privileged" });
        var pod = ClusterFixture.Pod("h", "python3", "-c", Script);
        pod.Spec.HostNetwork = true;
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var done = await fx.WaitForPodAsync(ns, "h", ClusterFixture.Done);
        var log = await fx.LogAsync(ns, "h");
        Assert.True(done.Status.Phase == "Succeeded", log);
        Assert.StartsWith("127.0.0.1 open host\n127.0.0.1 open host\nbind failed 98\nFalse\n", log, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", done.Status.PodIP);
    }
}
