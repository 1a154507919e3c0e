using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>One real cluster (HTTPS, token, bubblewrap kubelet) shared by the tests of a collection.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public string Home { get; } = Path.Combine(Path.GetTempPath(), "sirocco-lc-tests-" + Guid.NewGuid().ToString("n")[..8]);

    public LocalCluster Cluster { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.StartAsync(new LocalClusterOptions
        {
            HomeDirectory = Home,
            BookmarkInterval = TimeSpan.FromMilliseconds(300),
            StorageCheckInterval = TimeSpan.FromMilliseconds(200),
            ImageEntrypoints = new Dictionary<string, IReadOnlyList<string>> { ["sirocco/echo"] = ["echo", "from-entrypoint"] },
        });
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(Cluster.KubeconfigPath));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A new namespace for one test.</summary>
    public async Task<string> NamespaceAsync(string prefix, IDictionary<string, string>? labels = null)
    {
        var ns = await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = prefix + "-", Labels = labels } });
        return ns.Metadata.Name;
    }

    /// <summary>An HttpClient that trusts the cluster's CA, with or without the token.</summary>
    public HttpClient Http(bool withToken = true)
    {
        var ca = X509Certificate2.CreateFromPem(Cluster.CertificateAuthorityPem);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return cert is not null && chain.Build(new X509Certificate2(cert));
                },
            },
        };
        var http = new HttpClient(handler) { BaseAddress = Cluster.ServerUrl };
        if (withToken)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Cluster.Token);
        }

        return http;
    }

    /// <summary>Runs kubectl against the cluster; returns exit code, stdout and stderr.</summary>
    public Task<(int Code, string Out, string Err)> KubectlWithInputAsync(string stdin, params string[] args) =>
        RunAsync("/usr/bin/kubectl", stdin, null, ["--kubeconfig", Cluster.KubeconfigPath, .. args]);

    /// <summary>Runs a program with the given stdin and extra environment (at most 60 s); returns exit code, stdout and stderr.</summary>
    public async Task<(int Code, string Out, string Err)> RunAsync(string program, string stdin, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Home,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 60 s; output so far: {await stdout}{await stderr}");
        }

        return (p.ExitCode, await stdout, await stderr);
    }

    public Task<(int Code, string Out, string Err)> KubectlAsync(params string[] args) => KubectlWithInputAsync("", args);

    /// <summary>Waits, on a watch, until the pod satisfies the condition; returns it.</summary>
    public Task<V1Pod> WaitForPodAsync(string ns, string name, Func<V1Pod, bool> condition, int seconds = 30) =>
        WaitForPodAsync(Client, ns, name, condition, seconds);

    /// <summary>Waits, on a watch of <paramref name="client"/>'s cluster, until the pod satisfies the condition.</summary>
    public static async Task<V1Pod> WaitForPodAsync(Kubernetes client, string ns, string name, Func<V1Pod, bool> condition, int seconds)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        V1Pod? last = null;
        try
        {
            await foreach (var (_, pod) in client.CoreV1.WatchListNamespacedPodAsync(ns, fieldSelector: $"metadata.name={name}", cancellationToken: cts.Token))
            {
                last = pod;
                if (condition(pod))
                {
                    return pod;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        throw new TimeoutException($"pod {ns}/{name} did not reach the condition in {seconds}s; last status: {KubernetesJson.Serialize(last?.Status)}");
    }

    public static bool Done(V1Pod p) => p.Status?.Phase is "Succeeded" or "Failed";

    public async Task<string> LogAsync(string ns, string name, string? container = null)
    {
        using var stream = await Client.CoreV1.ReadNamespacedPodLogAsync(name, ns, container: container);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public static V1Pod Pod(string name, params string[] command) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec
        {
            RestartPolicy = "Never",
            Containers = [new V1Container { Name = "main", Image = "busybox:1.36", Command = command }],
        },
    };
}

[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
}
