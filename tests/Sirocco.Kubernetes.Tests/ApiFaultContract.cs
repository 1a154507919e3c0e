using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Sirocco.Kubernetes.Internal;
using Sirocco.Kubernetes.Tests.Harness;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// An API server that cannot be used ends the try within the retry budget, with every retry in the try's log and a
/// message naming the server and the last error; nothing waits forever. One body run against the local cluster and
/// against the real v1.20 API server.
/// </summary>
public abstract partial class ApiFaultContract(ITestCluster cluster)
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    /// <summary>Generous for a loaded machine, far below the 120 s default budget and the 400 s hang this replaces.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    protected ITestCluster Cluster { get; } = cluster;

    private static KubernetesRuntime Runtime() => new(new KubernetesRuntimeOptions
    {
        RetryBudget = Budget,
        FirstRetryDelay = TimeSpan.FromMilliseconds(200),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
    });

    [GeneratedRegex(@"127\.0\.0\.1:\d+")]
    private static partial Regex ServerAddress();

    /// <summary>The cluster's kubeconfig with one change, written into the harness's home.</summary>
    private string Kubeconfig(TryHarness harness, string name, Func<string, string> edit)
    {
        Directory.CreateDirectory(harness.Home);
        var path = Path.Combine(harness.Home, name);
        File.WriteAllText(path, edit(File.ReadAllText(Cluster.Kubeconfig)));
        return path;
    }

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<(SiroccoException Error, TimeSpan Took)> FailsAsync(TryHarness harness, KubernetesPodOperator op, KubernetesRuntime runtime)
    {
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op, runtime: runtime).WaitAsync(Bound));
        return (error, watch.Elapsed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_refused_port_fails_the_try_after_the_budget_and_logs_each_retry(bool reattachOnRestart)
    {
        var ns = await Cluster.NamespaceAsync("refused");
        var harness = new TryHarness();
        var port = ClosedPort();
        var op = Cluster.Pod("refused", ns, TimeSpan.FromSeconds(1));
        op.ConfigFile = Kubeconfig(harness, "refused.kubeconfig", text => ServerAddress().Replace(text, $"127.0.0.1:{port}"));
        op.ReattachOnRestart = reattachOnRestart;
        await using var runtime = Runtime();

        var (error, took) = await FailsAsync(harness, op, runtime);

        Assert.True(took >= Budget - TimeSpan.FromMilliseconds(100), $"failed before the budget was spent: {took}");
        Assert.Contains($"Kubernetes API https://127.0.0.1:{port} unreachable", error.Message, StringComparison.Ordinal);
        Assert.Contains("api_retry_budget_seconds", error.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionRefused", error.Message, StringComparison.Ordinal);
        var retries = harness.Log.Where(l => l.StartsWith($"Kubernetes API https://127.0.0.1:{port}: ", StringComparison.Ordinal) && l.Contains("retrying in", StringComparison.Ordinal)).ToList();
        Assert.True(retries.Count >= 2, "retries not logged:\n" + string.Join('\n', harness.Log));
        Assert.Contains(retries, l => l.Contains("(attempt 1)", StringComparison.Ordinal) && l.Contains("ConnectionRefused", StringComparison.Ordinal));
        Assert.Empty(await Cluster.PodsAsync(ns));
    }

    [Fact]
    public async Task A_server_that_accepts_and_never_answers_fails_the_try_within_the_budget()
    {
        var ns = await Cluster.NamespaceAsync("silent");
        var harness = new TryHarness();
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(100);
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var held = new List<TcpClient>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptTcpClientAsync(stop.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var op = Cluster.Pod("silent", ns, TimeSpan.FromSeconds(1));
        op.ConfigFile = Kubeconfig(harness, "silent.kubeconfig", text => ServerAddress().Replace(text, $"127.0.0.1:{port}"));
        op.ReattachOnRestart = false;
        await using var runtime = Runtime();

        try
        {
            var (error, _) = await FailsAsync(harness, op, runtime);
            Assert.Contains($"Kubernetes API https://127.0.0.1:{port} unreachable: create pod {ns}/", error.Message, StringComparison.Ordinal);
            Assert.True(held.Count >= 1, "the client never connected");
        }
        finally
        {
            await stop.CancelAsync();
            await accepting;
            held.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_refused_token_fails_the_try_at_once_naming_the_server_and_401()
    {
        var ns = await Cluster.NamespaceAsync("unauthorized");
        var harness = new TryHarness();
        var op = Cluster.Pod("unauthorized", ns, TimeSpan.FromSeconds(1));
        op.ConfigFile = Kubeconfig(harness, "bad-token.kubeconfig", text => Regex.Replace(text, @"token: .*", "token: not-the-token"));
        await using var runtime = Runtime();

        var (error, took) = await FailsAsync(harness, op, runtime);

        Assert.True(took < Budget, $"a 401 was retried: {took}");
        Assert.Contains("401 Unauthorized", error.Message, StringComparison.Ordinal);
        Assert.Contains("the credentials were refused", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Kubernetes API https://127.0.0.1:{Cluster.ServerPort}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_certificate_from_another_authority_fails_the_try_at_once_as_a_tls_failure()
    {
        var ns = await Cluster.NamespaceAsync("tls");
        var harness = new TryHarness();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=some-other-ca", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var otherCaData = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(otherCa.ExportCertificatePem()));
        var op = Cluster.Pod("tls", ns, TimeSpan.FromSeconds(1));
        op.ConfigFile = Kubeconfig(harness, "other-ca.kubeconfig", text => Regex.Replace(text, @"certificate-authority(-data)?: .*", "certificate-authority-data: " + otherCaData));
        op.ReattachOnRestart = false;
        await using var runtime = Runtime();

        var (error, took) = await FailsAsync(harness, op, runtime);

        Assert.True(took < Budget, $"a TLS failure was retried: {took}");
        Assert.Contains($"Kubernetes API https://127.0.0.1:{Cluster.ServerPort}: create pod {ns}/", error.Message, StringComparison.Ordinal);
        Assert.Contains("TLS handshake failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outage_longer_than_the_budget_while_the_pod_runs_fails_the_try_naming_the_server()
    {
        var ns = await Cluster.NamespaceAsync("long-outage");
        var harness = new TryHarness();
        await using var proxy = FlakyProxy.Start(Cluster, harness.Home);
        var op = Cluster.Pod("long-outage", ns, TimeSpan.FromSeconds(60));
        op.ConfigFile = proxy.Kubeconfig;
        op.StartupCheckIntervalSeconds = 1;
        await using var runtime = Runtime();

        var run = harness.RunAsync(op, runtime: runtime);
        await harness.WaitForLogAsync(l => l.StartsWith($"Pod {ns}/", StringComparison.Ordinal) && l.EndsWith(" is Running", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var outage = proxy.OutageAsync(TimeSpan.FromSeconds(25));
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SiroccoException>(() => run.WaitAsync(Bound));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the try waited {watch.Elapsed} for an API server that was gone");
        Assert.True(error.Message.Contains($"Kubernetes API https://127.0.0.1:{proxy.Port} unreachable: pod {ns}/", StringComparison.Ordinal), error.Message + "\n" + string.Join('\n', harness.Log));
        Assert.Contains($"Kubernetes API https://127.0.0.1:{proxy.Port} unreachable: pod {ns}/", error.Message, StringComparison.Ordinal);
        Assert.Contains(harness.Log, l => l.StartsWith($"Kubernetes API https://127.0.0.1:{proxy.Port}: watching pods in namespace {ns} failed (attempt 1)", StringComparison.Ordinal));
        await outage;
    }
}

/// <summary>API faults on the embedded local cluster.</summary>
[Collection("cluster")]
public sealed class LocalClusterApiFaultTests(ClusterFixture fx) : ApiFaultContract(fx);

/// <summary>API faults on the real v1.20 API server of scripts/realk8s.sh.</summary>
[Collection("realk8s")]
public sealed class RealApiServerApiFaultTests(RealApiServerFixture fx) : ApiFaultContract(fx);
