using System.Net;
using k8s;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>State survives a restart of the cluster in the same home directory.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sirocco-lc-restart-" + Guid.NewGuid().ToString("n")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_home, recursive: true);
        return Task.CompletedTask;
    }

    private byte[] StoredSecret(string name)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_home, "local-cluster", "state.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT json FROM objects WHERE resource = 'secrets' AND name = $n";
        cmd.Parameters.AddWithValue("$n", name);
        return (byte[])cmd.ExecuteScalar()!;
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Secrets_are_encrypted_at_rest_with_aes_gcm_and_a_key_rotation_rewrites_them()
    {
        const string value = "the-s3cret-password";
        await using (var first = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home }))
        {
            using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(first.KubeconfigPath));
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "db" }, StringData = new Dictionary<string, string> { ["password"] = value } }, "default");
            Assert.Equal(value, System.Text.Encoding.UTF8.GetString((await client.CoreV1.ReadNamespacedSecretAsync("db", "default")).Data["password"]));
        }

        var config = Path.Combine(_home, "local-cluster", "encryption-config.yaml");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_home, "local-cluster", "state.db")));
        var stored = StoredSecret("db");
        Assert.StartsWith("k8s:enc:aesgcm:v1:key1:", System.Text.Encoding.ASCII.GetString(stored, 0, 23), StringComparison.Ordinal);
        var raw = System.Text.Encoding.Latin1.GetString(stored);
        Assert.DoesNotContain(value, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value)), raw, StringComparison.Ordinal);

        // Rotation as in Kubernetes: a new key first, restart (stored Secrets are rewritten with it), then the old key can go.
        var yaml = await File.ReadAllTextAsync(config);
        var key2 = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var rotated = yaml.Replace("            - name: key1", $"            - name: key2\n              secret: {key2}\n            - name: key1", StringComparison.Ordinal);
        Assert.NotEqual(yaml, rotated);
        await File.WriteAllTextAsync(config, rotated);
        await using (var second = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home }))
        {
        }

        Assert.StartsWith("k8s:enc:aesgcm:v1:key2:", System.Text.Encoding.ASCII.GetString(StoredSecret("db"), 0, 23), StringComparison.Ordinal);
        await File.WriteAllTextAsync(config, yaml);
        var wrong = await Assert.ThrowsAnyAsync<Exception>(() => LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home }));
        Assert.Contains("secret default/db is encrypted with key 'key2', which " + config + " does not list", wrong.ToString(), StringComparison.Ordinal);

        await File.WriteAllTextAsync(config, $"""
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: [secrets]
                providers:
                  - aesgcm:
                      keys:
                        - name: key2
                          secret: {key2}
            """);
        await using var third = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home });
        using var again = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(third.KubeconfigPath));
        Assert.Equal(value, System.Text.Encoding.UTF8.GetString((await again.CoreV1.ReadNamespacedSecretAsync("db", "default")).Data["password"]));
    }

    [Fact]
    public async Task Secrets_and_finished_pods_with_their_logs_survive_a_restart_and_old_watches_get_410_gone()
    {
        string token;
        string rv;
        await using (var first = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home }))
        {
            token = first.Token;
            using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(first.KubeconfigPath));
            var created = await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new() { Name = "kept" },
                StringData = new Dictionary<string, string> { ["k"] = "v" },
            }, "default");
            rv = created.Metadata.ResourceVersion;
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "later" } }, "default");
            var pod = await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
            {
                Metadata = new() { Name = "before" },
                Spec = new() { RestartPolicy = "Never", Containers = [new() { Name = "c", Image = "busybox", Command = ["echo", "ran before the restart"] }] },
            }, "default");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await foreach (var (_, p) in client.CoreV1.WatchListNamespacedPodAsync("default", fieldSelector: "metadata.name=before", cancellationToken: cts.Token))
            {
                if (p.Status?.Phase == "Succeeded")
                {
                    break;
                }
            }
        }

        await using var second = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home });
        Assert.Equal(token, second.Token);
        using var again = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(second.KubeconfigPath));
        var kept = await again.CoreV1.ReadNamespacedSecretAsync("kept", "default");
        Assert.Equal("v", System.Text.Encoding.UTF8.GetString(kept.Data["k"]));
        Assert.True(long.Parse(kept.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) >= long.Parse(rv, System.Globalization.CultureInfo.InvariantCulture));

        using (var log = await again.CoreV1.ReadNamespacedPodLogAsync("before", "default"))
        using (var logReader = new StreamReader(log))
        {
            Assert.Equal("ran before the restart\n", await logReader.ReadToEndAsync());
        }

        Assert.Equal("Succeeded", (await again.CoreV1.ReadNamespacedPodAsync("before", "default")).Status.Phase);

        var fresh = await again.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "new" } }, "default");
        Assert.True(long.Parse(fresh.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(kept.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));

        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new() { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        })
        { BaseAddress = second.ServerUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", second.Token);
        using var response = await http.GetAsync($"/api/v1/namespaces/default/secrets?watch=true&resourceVersion={rv}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var line = await reader.ReadLineAsync();
        Assert.NotNull(line);
        Assert.Contains("\"type\":\"ERROR\"", line, StringComparison.Ordinal);
        Assert.Contains("\"code\":410", line, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"Expired\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_fails_the_start_cleanly_and_the_home_can_be_used_again()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await Assert.ThrowsAnyAsync<IOException>(() => LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home, Port = port }));
        taken.Stop();
        await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = _home });
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        Assert.Equal("default", (await client.CoreV1.ReadNamespaceAsync("default")).Metadata.Name);
    }
}
