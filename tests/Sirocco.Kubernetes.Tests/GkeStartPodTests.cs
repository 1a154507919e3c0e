using Sirocco.Connections;
using Sirocco.Google;
using Sirocco.Kubernetes.Tests.Harness;
using Sirocco.Testing;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// GKEStartPodOperator against a fake Google on loopback whose Container API names the local cluster as the GKE
/// cluster's endpoint and CA, and whose token endpoint issues the token that cluster accepts: the real Google auth
/// library signs the JWT-bearer grant, the real Kubernetes client calls the cluster with the Google token.
/// </summary>
[Collection("cluster")]
public sealed class GkeStartPodTests(ClusterFixture fx) : IAsyncLifetime
{
    private const string Location = "europe-north1-a";
    private FakeGoogle _google = null!;

    public async Task InitializeAsync()
    {
        _google = await FakeGoogle.StartAsync();
        _google.AccessToken = fx.Cluster.Token;
        _google.AddCluster(FakeGoogle.Project, Location, "gke-tests", $"127.0.0.1:{fx.ServerPort}", fx.Cluster.CertificateAuthorityPem);
    }

    public async Task DisposeAsync() => await _google.DisposeAsync();

    private RuntimeServices Services(Dictionary<string, string>? environment = null) =>
        new RuntimeServices()
            .AddKubernetes(TryHarness.ProcessEnvironment)
            .Add(new GoogleCloud(new GoogleCloudOptions
            {
                ContainerApiEndpoint = _google.Url,
                Environment = environment ?? new Dictionary<string, string>(),
            }));

    /// <summary>A google_cloud_platform connection whose keyfile_dict extra is the key (text, as the UI stores it).</summary>
    private static Connection GcpConnection(string id, string keyJson) => new()
    {
        ConnId = id,
        ConnType = "google_cloud_platform",
        Extra = new System.Text.Json.Nodes.JsonObject { ["keyfile_dict"] = keyJson, ["project"] = FakeGoogle.Project }.ToJsonString(),
    };

    private static GKEStartPodOperator Pod(string taskId, string ns, string cluster = "gke-tests") => new(taskId)
    {
        ProjectId = FakeGoogle.Project,
        Location = Location,
        ClusterName = cluster,
        Namespace = ns,
        Image = "busybox",
        Cmds = ["sh", "-c", "echo hello from gke; mkdir -p /airflow/xcom; echo '[1,2]' > /airflow/xcom/return.json"],
        DoXcomPush = true,
        OnFinishAction = OnFinishAction.DeletePod,
    };

    [Fact]
    public async Task A_key_in_the_connection_runs_the_pod_on_the_clusters_endpoint_with_one_token_and_one_cluster_read()
    {
        var ns = await fx.NamespaceAsync("gke");
        await using var services = Services();
        var harness = new TryHarness(services: services);
        harness.AddConnection(GcpConnection("google_cloud_default", _google.KeyFileJson()));

        // The Kubernetes connection is for another cluster: a GKE task does not read it (this one would not even parse).
        harness.AddConnection(new Connection { ConnId = "kubernetes_default", ConnType = "kubernetes", Extra = """{"in_cluster": "maybe", "disable_verify_ssl": "true"}""" });

        var first = await harness.RunAsync(Pod("first", ns));

        // Without project_id the connection's project is the cluster's, as in the provider.
        var noProject = Pod("second", ns);
        noProject.ProjectId = null;
        var second = await harness.RunAsync(noProject);

        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(first));
        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(second));
        Assert.Contains(harness.Log, l => l.Contains("hello from gke", StringComparison.Ordinal));
        Assert.Equal(1, _google.Requests("token"));
        Assert.Equal(1, _google.Requests("cluster-get"));
        Assert.All(_google.Authorizations, a => Assert.Equal("Bearer " + fx.Cluster.Token, a));
        Assert.DoesNotContain(harness.Log, l => l.Contains(fx.Cluster.Token, StringComparison.Ordinal));
        await fx.WaitNoPodsAsync(ns, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_token_about_to_expire_is_refreshed_while_the_pod_runs()
    {
        // Tokens of 60 s are inside the library's refresh window at once, so every API request takes a fresh one:
        // what a try does when its token expires during a long pod.
        _google.TokenLifetimeSeconds = 60;
        var ns = await fx.NamespaceAsync("gke-refresh");
        await using var services = Services(new Dictionary<string, string> { ["GCE_METADATA_HOST"] = _google.MetadataHost });
        var harness = new TryHarness(services: services);
        var op = Pod("refresh", ns);
        op.Cmds = ["sh", "-c", "echo one; sleep 1; echo two"];
        op.DoXcomPush = false;

        await harness.RunAsync(op);

        Assert.Contains(harness.Log, l => l.Contains("two", StringComparison.Ordinal));
        Assert.True(_google.Requests("metadata-token") >= 2, $"{_google.Requests("metadata-token")} token requests");
    }

    [Fact]
    public async Task Use_internal_ip_takes_the_private_endpoint()
    {
        // The public endpoint is an address nothing answers on; only the private one reaches the cluster.
        _google.AddCluster(FakeGoogle.Project, Location, "private-gke", "192.0.2.1:443", fx.Cluster.CertificateAuthorityPem, privateEndpoint: $"127.0.0.1:{fx.ServerPort}");
        var ns = await fx.NamespaceAsync("gke-private");
        await using var services = Services(new Dictionary<string, string> { ["GCE_METADATA_HOST"] = _google.MetadataHost });
        var harness = new TryHarness(services: services);
        var op = Pod("private", ns, cluster: "private-gke");
        op.UseInternalIp = true;

        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(await harness.RunAsync(op)));

        // A cluster without a private endpoint says so when use_internal_ip asks for one.
        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(new GKEStartPodOperator("no-private") { ProjectId = FakeGoogle.Project, Location = Location, ClusterName = "gke-tests", UseInternalIp = true, Image = "busybox", Namespace = ns }));
        Assert.Contains("has no private endpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_connection_the_metadata_server_gives_the_token()
    {
        var ns = await fx.NamespaceAsync("gke-md");
        await using var services = Services(new Dictionary<string, string> { ["GCE_METADATA_HOST"] = _google.MetadataHost });
        var harness = new TryHarness(services: services);

        var result = await harness.RunAsync(Pod("metadata", ns));

        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(result));
        Assert.True(_google.Requests("metadata-token") >= 1);
        Assert.Equal(0, _google.Requests("token"));
    }

    [Fact]
    public async Task A_key_file_from_GOOGLE_APPLICATION_CREDENTIALS_is_used_when_no_connection_is_defined()
    {
        var ns = await fx.NamespaceAsync("gke-adc");
        var keyDir = Directory.CreateTempSubdirectory("sirocco-gke-");
        using var removeKeyDir = new RemoveOnDispose(keyDir.FullName);
        var keyFile = Path.Combine(keyDir.FullName, "key.json");
        await File.WriteAllTextAsync(keyFile, _google.KeyFileJson());
        await using var services = Services(new Dictionary<string, string> { ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile });
        var harness = new TryHarness(services: services);

        var result = await harness.RunAsync(Pod("adc", ns));

        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(result));
        Assert.Equal(1, _google.Requests("token"));
    }

    [Fact]
    public async Task A_key_signed_by_another_key_fails_the_try_with_the_token_endpoints_answer()
    {
        await using var other = await FakeGoogle.StartAsync();
        await using var services = Services();
        var harness = new TryHarness(services: services);
        harness.AddConnection(GcpConnection("gcp_other", other.KeyFileJson(new Uri(_google.Url, "token").ToString())));
        var op = Pod("badkey", "default");
        op.GcpConnId = "gcp_other";

        var e = await Assert.ThrowsAsync<SiroccoException>(() => harness.RunAsync(op));

        Assert.Contains("connection 'gcp_other' keyfile_dict", e.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid JWT Signature", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _google.Requests("cluster-get"));
    }

    [Fact]
    public async Task An_unknown_cluster_fails_the_try_naming_it_with_googles_404()
    {
        await using var services = Services(new Dictionary<string, string> { ["GCE_METADATA_HOST"] = _google.MetadataHost });
        var harness = new TryHarness(services: services);

        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(Pod("missing", "default", cluster: "no-such-cluster")));

        Assert.Contains($"projects/{FakeGoogle.Project}/locations/{Location}/clusters/no-such-cluster", e.Message, StringComparison.Ordinal);
        Assert.Contains("404 NOT_FOUND", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_impersonation_chain_gets_the_last_accounts_token_through_the_others()
    {
        var ns = await fx.NamespaceAsync("gke-imp");
        _google.AccessToken = "ya29.source-account-only";
        _google.ImpersonatedTokens["etl-runner@sirocco-test-project.iam.gserviceaccount.com"] = fx.Cluster.Token;
        await using var services = new RuntimeServices()
            .AddKubernetes(TryHarness.ProcessEnvironment)
            .Add(new GoogleCloud(new GoogleCloudOptions { ContainerApiEndpoint = _google.Url, IamCredentialsEndpoint = _google.Url }));
        var harness = new TryHarness(services: services);
        harness.AddConnection(GcpConnection("google_cloud_default", _google.KeyFileJson()));
        var op = Pod("impersonated", ns);
        op.ImpersonationChain = new List<object?> { "hop@sirocco-test-project.iam.gserviceaccount.com", "etl-runner@sirocco-test-project.iam.gserviceaccount.com" };

        var result = await harness.RunAsync(op);

        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(result));
        var request = Assert.Single(_google.ImpersonationRequests);
        Assert.StartsWith("etl-runner@sirocco-test-project.iam.gserviceaccount.com ", request, StringComparison.Ordinal);
        Assert.Contains("hop@sirocco-test-project.iam.gserviceaccount.com", request, StringComparison.Ordinal);

        // An account the source may not impersonate: the try fails naming the chain and IAM's 403.
        var refused = Pod("refused", ns);
        refused.ImpersonationChain = "someone-else@sirocco-test-project.iam.gserviceaccount.com";
        var e = await Assert.ThrowsAnyAsync<SiroccoException>(() => harness.RunAsync(refused));
        Assert.Contains("Forbidden", e.Message, StringComparison.Ordinal);
        Assert.Contains("impersonating someone-else@", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_undefined_gcp_connection_other_than_the_default_is_an_error_naming_it()
    {
        await using var services = Services();
        var harness = new TryHarness(services: services);
        var op = Pod("noconn", "default");
        op.GcpConnId = "gcp_missing";

        var e = await Assert.ThrowsAsync<ConnectionNotFoundException>(() => harness.RunAsync(op));

        Assert.Equal("gcp_missing", e.ConnId);
    }
}

/// <summary>
/// GKEStartPodOperator on the real v1.20 kube-apiserver of scripts/realk8s.sh behind the fake Google: the API server
/// checks the bearer token the fake issued against its token file, the client checks the server's certificate against
/// the CA the Container API gave, and the pod's log comes from the simulated kubelet through the API server.
/// </summary>
[Collection("realk8s")]
public sealed class GkeOnRealApiServerTests(RealApiServerFixture fx)
{
    [Fact]
    public async Task The_pod_runs_with_the_google_token_and_a_token_the_server_refuses_fails_the_try()
    {
        var kubeconfig = k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Kubeconfig);
        var caPem = string.Concat(kubeconfig.SslCaCerts.Select(c => c.ExportCertificatePem() + "\n"));
        await using var google = await FakeGoogle.StartAsync();
        google.AccessToken = kubeconfig.AccessToken;
        google.AddCluster(FakeGoogle.Project, "us-east1", "real", $"127.0.0.1:{fx.ServerPort}", caPem);
        var ns = await fx.NamespaceAsync("gke-real");
        await using var services = new RuntimeServices()
            .AddKubernetes(TryHarness.ProcessEnvironment)
            .Add(new GoogleCloud(new GoogleCloudOptions
            {
                ContainerApiEndpoint = google.Url,
                Environment = new Dictionary<string, string> { ["GCE_METADATA_HOST"] = google.MetadataHost },
            }));
        var harness = new TryHarness(services: services);
        GKEStartPodOperator Gke(string taskId)
        {
            var template = fx.Pod(taskId, ns, TimeSpan.FromSeconds(1));
            template.Annotations[RealApiServerFixture.LogAnnotation] = "hello from a GKE pod\nread through the real API server";
            return new GKEStartPodOperator(taskId)
            {
                ProjectId = FakeGoogle.Project,
                Location = "us-east1",
                ClusterName = "real",
                Namespace = ns,
                Image = template.Image,
                Cmds = template.Cmds,
                Annotations = template.Annotations,
                GetLogs = true,
                StartupTimeoutSeconds = 60,
            };
        }

        await harness.RunAsync(Gke("real-ok"));

        Assert.Contains(harness.Log, l => l.Contains("hello from a GKE pod", StringComparison.Ordinal));
        Assert.Contains(harness.Log, l => l.Contains("read through the real API server", StringComparison.Ordinal));
        Assert.Equal(1, google.Requests("cluster-get"));
        Assert.True(google.Requests("metadata-token") >= 1);

        // A token the API server does not know: the try fails with the server's 401, not after the retry budget.
        google.AccessToken = "ya29.not-known-to-the-cluster";
        await using var refusedServices = new RuntimeServices()
            .AddKubernetes(TryHarness.ProcessEnvironment)
            .Add(new GoogleCloud(new GoogleCloudOptions
            {
                ContainerApiEndpoint = google.Url,
                Environment = new Dictionary<string, string> { ["GCE_METADATA_HOST"] = google.MetadataHost },
            }));
        var refused = new TryHarness(services: refusedServices);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => refused.RunAsync(Gke("real-refused")));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"took {started.Elapsed}");
        Assert.Contains("Unauthorized", e.ToString(), StringComparison.OrdinalIgnoreCase);
    }
}
