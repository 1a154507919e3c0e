using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// Each pod in a network namespace of its own. Isolated (the default): the host's loopback is not the pod's, two pods
/// and the host may listen on the same port, the API server answers at 127.0.0.1 inside, and the host is reached
/// through the pod's HTTP proxy only (CONNECT and plain HTTP). Exec runs in the pod's namespace, a
/// <c>hostNetwork</c> pod shares the host's network, and slirp4netns gives IP networking with the host at 10.0.2.2.
/// </summary>
[Collection("cluster")]
public sealed class PodNetworkTests(ClusterFixture fx) : IDisposable
{
    private readonly TcpListener _host = StartHostService();

    public void Dispose() => _host.Stop();

    /// <summary>A service on the host's loopback that answers every request head with a tiny HTTP response saying "host".</summary>
    private static TcpListener StartHostService()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync();
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        // Read the request head, answer, then read until the other end closes (closing with unread data
                        // would reset the connection).
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                        var buffer = new byte[1024];
                        var head = "";
                        try
                        {
                            int read;
                            while (!head.Contains("\r\n\r\n", StringComparison.Ordinal) && (read = await client.GetStream().ReadAsync(buffer, timeout.Token)) > 0)
                            {
                                head += Encoding.ASCII.GetString(buffer, 0, read);
                            }

                            // The body says "host" and the path asked for, when it is not "/".
                            var path = head.Split(' ') is [_, var p, ..] && p != "/" ? p : "";
                            var body = "host" + path + "\n";
                            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}"), timeout.Token);
                            client.Client.Shutdown(SocketShutdown.Send);
                            while (await client.GetStream().ReadAsync(buffer, timeout.Token) > 0)
                            {
                            }
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException)
                        {
                        }
                    }
                });
            }
        });
        return listener;
    }

    private int HostPort => ((IPEndPoint)_host.LocalEndpoint).Port;

    /// <summary>
    /// Probes the host service at 127.0.0.1 and at the API server's host, asks the API server for its version with the
    /// pod's token, goes through the proxy (CONNECT, then plain HTTP) when there is one, then binds the host service's port.
    /// </summary>
    private string Script => $$"""
        import os, socket, ssl, json, urllib.request, http.client
        def probe(host):
            try:
                s = socket.create_connection((host, {{HostPort}}), timeout=5)
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                print(host, "open", s.recv(100).decode().split()[-1])
            except OSError as e:
                print(host, "closed", type(e).__name__)
        probe("127.0.0.1")
        probe(os.environ["KUBERNETES_SERVICE_HOST"])
        sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
        ctx = ssl.create_default_context(cafile=sa + "ca.crt")
        url = "https://%s:%s/version" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + open(sa + "token").read()})
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        print("api", "gitVersion" in json.load(direct.open(req, timeout=10)))
        proxy = os.environ.get("HTTPS_PROXY")
        if proxy:
            host, port = proxy.rsplit("/", 1)[1].split(":")
            c = http.client.HTTPConnection(host, int(port), timeout=10)
            c.set_tunnel("127.0.0.1", {{HostPort}})
            c.request("GET", "/tunnelled")
            print("connect", c.getresponse().read().decode().strip())
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
            print("http", opener.open("http://127.0.0.1:{{HostPort}}/x/../y%2F?q=1#frag", timeout=10).read().decode().strip())
            c = http.client.HTTPConnection(host, int(port), timeout=10)
            c.request("GET", "/relative")
            r = c.getresponse()
            print("relative", r.status, r.read().decode().split(":")[0])
        srv = socket.socket()
        try:
            srv.bind(("127.0.0.1", {{HostPort}}))
            srv.listen()
            print("listening")
        except OSError as e:
            print("bind failed", e.errno)
        print(sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]))
        """;

    private static V1Pod ProxyPod(string name, string script)
    {
        var pod = ClusterFixture.Pod(name, "python3", "-c", script);
        // urllib would go straight to 127.0.0.1 (NO_PROXY names it); the pod's own env wins over the proxy's.
        pod.Spec.Containers[0].Env = [new V1EnvVar { Name = "no_proxy", Value = "" }, new V1EnvVar { Name = "NO_PROXY", Value = "" }];
        return pod;
    }

    [Fact]
    public async Task An_isolated_pod_has_its_own_loopback_reaches_the_api_server_and_the_host_only_through_its_proxy()
    {
        var ns = await fx.NamespaceAsync("net");
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ProxyPod("a", Script), ns);
        await fx.Client.CoreV1.CreateNamespacedPodAsync(ProxyPod("b", Script), ns);

        foreach (var name in new[] { "a", "b" })
        {
            var done = await fx.WaitForPodAsync(ns, name, ClusterFixture.Done);
            var log = await fx.LogAsync(ns, name);
            Assert.True(done.Status.Phase == "Succeeded", log);
            // The host's port is free in the pod's own loopback: nothing answers there, and the pod may bind it.
            Assert.Equal(
                "127.0.0.1 closed ConnectionRefusedError\n127.0.0.1 closed ConnectionRefusedError\napi True\nconnect host/tunnelled\nhttp host/x/../y%2F?q=1\n"
                + "relative 400 sirocco pod proxy\nlistening\n['lo']\n", log);
            Assert.Equal("127.0.0.1", done.Status.PodIP);
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
        var interfaces = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2).Select(l => l.Split(':')[0].Trim());
        Assert.Equal(["lo"], interfaces);
        var env = await fx.KubectlAsync("exec", "sleeper", "-n", ns, "--", "sh", "-c", "echo $HTTPS_PROXY $NO_PROXY");
        Assert.Matches(@"^http://127\.0\.0\.1:\d+ localhost,127\.0\.0\.1,::1\n$", env.Out);
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
        Assert.StartsWith("127.0.0.1 open host\n127.0.0.1 open host\napi True\nbind failed 98\n", log, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", done.Status.PodIP);
    }

    [Fact]
    public async Task On_slirp4netns_a_pod_reaches_the_host_and_the_api_server_at_the_gateway()
    {
        var home = Directory.CreateTempSubdirectory("sirocco-slirp-").FullName;
        try
        {
            await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = home, PodNetwork = LocalClusterPodNetwork.Slirp4netns });
            using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
            await client.CoreV1.CreateNamespacedPodAsync(ClusterFixture.Pod("s", "python3", "-c", Script), "default");
            var done = await ClusterFixture.WaitForPodAsync(client, "default", "s", ClusterFixture.Done, 60);
            using var stream = await client.CoreV1.ReadNamespacedPodLogAsync("s", "default");
            var log = await new StreamReader(stream).ReadToEndAsync();
            Assert.True(done.Status.Phase == "Succeeded", log);
            Assert.Equal("127.0.0.1 closed ConnectionRefusedError\n10.0.2.2 open host\napi True\nlistening\n['lo', 'tap0']\n", log);
            Assert.Equal("10.0.2.100", done.Status.PodIP);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
