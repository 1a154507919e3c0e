using System.Text.Json.Nodes;
using Sirocco.Fidelity.Tests.Corpus;
using Sirocco.LocalCluster;

namespace Sirocco.Fidelity.Tests.Harness;

/// <summary>The local cluster (in this process) and the reference API server, side by side.</summary>
public sealed class ClustersFixture : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sirocco-fidelity-" + Guid.NewGuid().ToString("n")[..8]);
    private Sirocco.LocalCluster.LocalCluster? _cluster;

    public Endpoint Local { get; private set; } = null!;

    public Endpoint Real { get; private set; } = null!;

    /// <summary>The kubeconfig files of the two, for outside clients (kubectl, the Python client).</summary>
    public string LocalKubeconfig { get; private set; } = null!;

    public string RealKubeconfig { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var real = RealApiServer.KubeconfigAsync();
        // Started twice, as the reference server has been running for a while: a watch from a version before this
        // start is too old on both (410), as after any restart.
        await (await Sirocco.LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home })).DisposeAsync();
        _cluster = await Sirocco.LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home });
        LocalKubeconfig = _cluster.KubeconfigPath;
        RealKubeconfig = await real;
        Local = Endpoint.FromKubeconfig("local", LocalKubeconfig);
        Real = Endpoint.FromKubeconfig("real", RealKubeconfig);
        await Task.WhenAll(PrepareAsync(Local), PrepareAsync(Real));
    }

    /// <summary>
    /// Makes every case's namespace and waits until its <c>default</c> service account and <c>kube-root-ca.crt</c>
    /// exist (controllers make them a moment after the namespace), so no case races them.
    /// </summary>
    private static async Task PrepareAsync(Endpoint endpoint)
    {
        using var gate = new SemaphoreSlim(8);
        var namespaces = CorpusCases.All.Select(c => c.Namespace).Distinct().ToList();
        await Task.WhenAll(namespaces.Select(async name =>
        {
            await gate.WaitAsync();
            try
            {
                // The reference server (v1.20) has no Pod Security admission; the local cluster enforces baseline unless a
                // namespace says otherwise. The corpus compares validation, so its namespaces allow every pod on both.
                var body = """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":""" + "\"" + name + "\"" + ""","labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}""";
                using var response = await endpoint.Http.PostAsync("/api/v1/namespaces", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{endpoint.Name}: creating namespace {name} gave {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var (kind, name) in new[] { ("serviceaccounts", "default"), ("configmaps", "kube-root-ca.crt") })
        {
            while (true)
            {
                var list = JsonNode.Parse(await endpoint.Http.GetStringAsync($"/api/v1/{kind}?fieldSelector=metadata.name%3D{name}"))!;
                // v1.20 also refuses pods until the account lists its token secret.
                var have = list["items"]!.AsArray()
                    .Where(i => kind != "serviceaccounts" || endpoint.Name != "real" || i?["secrets"] is JsonArray { Count: > 0 })
                    .Select(i => i!["metadata"]!["namespace"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
                var missing = namespaces.Count(n => !have.Contains(n));
                if (missing == 0)
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{endpoint.Name}: {missing} namespaces still have no {kind}/{name}");
                }

                await Task.Delay(200);
            }
        }
    }

    public async Task DisposeAsync()
    {
        Local?.Dispose();
        Real?.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}

[CollectionDefinition("clusters")]
public sealed class ClustersCollection : ICollectionFixture<ClustersFixture>;
