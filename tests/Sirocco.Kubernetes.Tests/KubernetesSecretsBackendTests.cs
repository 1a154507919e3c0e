using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Kubernetes.Tests.Harness;
using Sirocco.Masking;
using Sirocco.Variables;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// The cncf.kubernetes provider's KubernetesSecretsBackend on the local cluster: Secrets found by their labels (any
/// name), read before the environment and the database through the accessors templates use; answers cached.
/// </summary>
[Collection("cluster")]
public sealed class KubernetesSecretsBackendTests(ClusterFixture fx)
{
    private static V1Secret Labelled(string name, string label, string value, string data) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { [label] = value } },
        StringData = new Dictionary<string, string> { ["value"] = data },
    };

    [Fact]
    public async Task Labelled_secrets_are_connections_and_variables_before_the_environment_and_are_cached()
    {
        var ns = await fx.NamespaceAsync("secrets-backend");
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(Labelled("made-by-eso-7f3a", "airflow.apache.org/connection-id", "warehouse", "postgresql://etl:k8s-pw-991@db:5432/dwh"), ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(Labelled("any-name", "airflow.apache.org/variable-key", "region", "europe-north1"), ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new V1ObjectMeta { Name = "wrong-key", Labels = new Dictionary<string, string> { ["airflow.apache.org/variable-key"] = "broken" } }, StringData = new Dictionary<string, string> { ["other"] = "x" } },
            ns);
        var home = Directory.CreateTempSubdirectory("sirocco-k8s-secrets-").FullName;
        var config = SiroccoConfig.Load(home, new Dictionary<string, string>());
        using var backend = new KubernetesSecretsBackend(
            new JsonObject { ["namespace"] = ns, ["config_file"] = fx.Kubeconfig },
            config,
            new Dictionary<string, string>(),
            TimeSpan.FromMinutes(15));
        var environment = new Dictionary<string, string> { ["AIRFLOW_VAR_REGION"] = "env-loses", ["AIRFLOW_VAR_ONLY_ENV"] = "from-env" };
        var masker = new SecretMasker();
        var harness = new TryHarness();
        var variables = new VariableAccessor(harness, environment, masker, backend);
        var connections = new ConnectionAccessor(harness, environment, masker, backend);

        Assert.Equal("europe-north1", variables.Get("region"));
        Assert.Equal("from-env", variables.Get("only_env"));
        var warehouse = await connections.FindAsync("warehouse");
        Assert.Equal("etl", warehouse!.Login);
        Assert.Equal("k8s-pw-991", warehouse.Password);
        Assert.Equal("***", masker.Redact("k8s-pw-991"));
        Assert.Null(await connections.FindAsync("not_there"));
        var e = Assert.Throws<SiroccoException>(() => variables.Get("broken"));
        Assert.Contains("has no data key 'value'", e.Message, StringComparison.Ordinal);

        // Kept for the cache's lifetime: deleting the Secret does not change the answer until then.
        await fx.Client.CoreV1.DeleteNamespacedSecretAsync("any-name", ns);
        Assert.Equal("europe-north1", variables.Get("region"));
        using var uncached = new KubernetesSecretsBackend(new JsonObject { ["namespace"] = ns, ["config_file"] = fx.Kubeconfig }, config, new Dictionary<string, string>(), TimeSpan.Zero);
        Assert.Null(await uncached.GetVariableAsync("region", CancellationToken.None));
        Directory.Delete(home, recursive: true);
    }
}
