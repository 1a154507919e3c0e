using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using Sirocco.Testing;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// A local cluster in image mode <c>pull</c>, and real registries on loopback holding a test image built with umoci:
/// an anonymous HTTP one (listed as insecure), a TLS one with basic auth (its CA given to the cluster), and a path to
/// the HTTP one through a proxy that can cut a download short.
/// </summary>
public sealed class ImageFixture : IAsyncLifetime
{
    public const string User = "puller";
    public const string Password = "s3cret-pull";

    public string Home { get; } = Path.Combine(Path.GetTempPath(), "sirocco-img-tests-" + Guid.NewGuid().ToString("n")[..8]);

    public LocalCluster Cluster { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    public TestRegistry Open { get; private set; } = null!;

    public TestRegistry Private { get; private set; } = null!;

    public CuttingProxy Proxy { get; private set; } = null!;

    /// <summary>A registry with token authentication (bearer tokens from its token service, which checks the user).</summary>
    public TestRegistry Token { get; private set; } = null!;

    /// <summary>The skopeo source of the test image (an OCI layout).</summary>
    public string Source { get; private set; } = null!;

    public string Work => Path.Combine(Home, "work");

    public async Task InitializeAsync()
    {
        Source = await TestImages.BuildAsync(Path.Combine(Work, "image"));
        Open = await TestRegistry.StartAsync(Path.Combine(Work, "open"));
        Private = await TestRegistry.StartAsync(Path.Combine(Work, "private"), tls: true, user: User, password: Password);
        await Open.PushAsync(Source, "test/app:1");
        await Private.PushAsync(Source, "team/app:1", User, Password);
        Token = await TestRegistry.StartAsync(Path.Combine(Work, "token"), user: User, password: Password, tokenAuth: true);
        await Token.PushAsync(Source, "hub/app:1", User, Password);
        Proxy = CuttingProxy.Start(Open.Host);
        Cluster = await LocalCluster.StartAsync(new LocalClusterOptions
        {
            HomeDirectory = Path.Combine(Home, "cluster"),
            BookmarkInterval = TimeSpan.FromMilliseconds(300),
            ImageMode = LocalClusterImageMode.Pull,
            // The token service is plain HTTP too: credentials go to it only because it is listed.
            InsecureRegistries = [Open.Host, Proxy.Host, Token.Host, new Uri(Token.Tokens!.Realm).Authority],
            RegistryCertificateAuthorityFile = Private.CaFile,
            RegistryTimeout = TimeSpan.FromSeconds(10),
        });
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(Cluster.KubeconfigPath));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
        Proxy.Dispose();
        await Open.DisposeAsync();
        await Private.DisposeAsync();
        await Token.DisposeAsync();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public async Task<string> NamespaceAsync(string prefix)
    {
        var ns = await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = prefix + "-" } });
        return ns.Metadata.Name;
    }

    public static V1Pod Pod(string name, string image, IList<string>? command = null, IList<string>? args = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec
        {
            RestartPolicy = "Never",
            Containers = [new V1Container { Name = "main", Image = image, Command = command, Args = args }],
        },
    };

    /// <summary>Waits, on a watch, until the pod satisfies the condition; returns it.</summary>
    public Task<V1Pod> WaitForPodAsync(string ns, string name, Func<V1Pod, bool> condition, int seconds = 60) =>
        ClusterFixture.WaitForPodAsync(Client, ns, name, condition, seconds);

    public async Task<string> LogAsync(string ns, string name)
    {
        using var stream = await Client.CoreV1.ReadNamespacedPodLogAsync(name, ns);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    /// <summary>The pod's events as "Type Reason: message" lines, oldest first.</summary>
    public async Task<List<string>> EventsAsync(string ns, string name)
    {
        var events = await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={name}");
        return [.. events.Items.OrderBy(e => e.LastTimestamp ?? e.EventTime).Select(e => $"{e.Type} {e.Reason}: {e.Message}")];
    }

    public static bool Done(V1Pod p) => p.Status?.Phase is "Succeeded" or "Failed";

    public static string? Waiting(V1Pod p) => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason;
}

/// <summary>
/// A TCP proxy to a registry that, while <see cref="Cut"/> is set, closes each connection after 32 KiB of the
/// registry's answer: a registry that dies in the middle of a layer.
/// </summary>
public sealed class CuttingProxy : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();

    private CuttingProxy(TcpListener listener, string upstream)
    {
        _listener = listener;
        _ = AcceptAsync(upstream);
    }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public volatile bool Cut;

    /// <summary>Connections cut so far.</summary>
    public int Cuts;

    public static CuttingProxy Start(string upstream)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new CuttingProxy(listener, upstream);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptAsync(string upstream)
    {
        var parts = upstream.Split(':');
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var c = client;
                using var server = new TcpClient();
                try
                {
                    await server.ConnectAsync(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), _stop.Token);
                    var up = c.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
                    var down = CopyDownAsync(server.GetStream(), c.GetStream());
                    await Task.WhenAny(up, down);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                }
            });
        }
    }

    private async Task CopyDownAsync(Stream from, Stream to)
    {
        var buffer = new byte[8192];
        long sent = 0;
        while (true)
        {
            var n = await from.ReadAsync(buffer, _stop.Token);
            if (n == 0)
            {
                return;
            }

            if (Cut && sent + n > 32 * 1024)
            {
                Interlocked.Increment(ref Cuts);
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            sent += n;
        }
    }
}
