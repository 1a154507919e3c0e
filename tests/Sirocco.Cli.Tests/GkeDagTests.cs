using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sirocco.Testing;

namespace Sirocco.Cli.Tests;

/// <summary>
/// The Google provider's GKE example run by <c>sirocco dags test</c>: create a cluster, run a pod on it with a Secret,
/// delete the cluster. Google is a fake on loopback (OAuth2 JWT-bearer grant, Container API) reached the standard
/// ways (a key whose token_uri names it, <c>[google] container_api_endpoint</c>); the cluster it creates is served by
/// the local cluster, which accepts the token the fake issues.
/// </summary>
public sealed class GkeDagTests(CorpusCluster fixture) : IClassFixture<CorpusCluster>
{
    [Fact]
    public async Task Create_cluster_then_a_pod_on_it_then_delete_runs_end_to_end_with_one_token_request()
    {
        await using var google = await FakeGoogle.StartAsync();
        google.AccessToken = fixture.Cluster.Token;
        google.BackingEndpoint = $"127.0.0.1:{fixture.Cluster.ServerUrl.Port}";
        google.BackingCaPem = fixture.Cluster.CertificateAuthorityPem;
        google.OperationPolls = 2;

        using (var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(fixture.Cluster.KubeconfigPath)))
        {
            await client.CoreV1.CreateNamespacedSecretAsync(
                new V1Secret { Metadata = new V1ObjectMeta { Name = "gke-db" }, StringData = new Dictionary<string, string> { ["password"] = "s3cr3t-from-gke" } },
                "default");
        }

        var home = Directory.CreateDirectory(Path.Combine(fixture.Home, "gke")).FullName;
        Directory.CreateDirectory(Path.Combine(home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(home, "dags", "gke_lifecycle.py"), """
            from datetime import datetime

            from airflow import models
            from airflow.kubernetes.secret import Secret
            from airflow.providers.google.cloud.operators.kubernetes_engine import (
                GKECreateClusterOperator,
                GKEDeleteClusterOperator,
                GKEStartPodOperator,
            )
            from airflow.utils.trigger_rule import TriggerRule

            PROJECT_ID = "sirocco-test-project"
            LOCATION = "us-central1"
            CLUSTER_NAME = "composer-batch"
            secret_env = Secret(deploy_type="env", deploy_target="DB_PASSWORD", secret="gke-db", key="password")

            with models.DAG("gke_lifecycle", schedule_interval=None, start_date=datetime(2024, 1, 1)) as dag:
                create = GKECreateClusterOperator(
                    task_id="create_cluster",
                    project_id=PROJECT_ID,
                    location=LOCATION,
                    body={"name": CLUSTER_NAME, "initial_node_count": 1},
                    poll_interval=0.1,
                )
                pod = GKEStartPodOperator(
                    task_id="pod_task",
                    project_id=PROJECT_ID,
                    location=LOCATION,
                    cluster_name=CLUSTER_NAME,
                    namespace="default",
                    image="busybox",
                    cmds=["sh", "-c", "test \"$DB_PASSWORD\" = s3cr3t-from-gke && echo password matches"],
                    secrets=[secret_env],
                    name="gke-pod",
                    on_finish_action="delete_pod",
                )
                delete = GKEDeleteClusterOperator(
                    task_id="delete_cluster",
                    project_id=PROJECT_ID,
                    location=LOCATION,
                    cluster_name=CLUSTER_NAME,
                    poll_interval=0.1,
                    trigger_rule=TriggerRule.ALL_DONE,
                )
                create >> pod >> delete
            """);
        var env = new Dictionary<string, string>
        {
            ["AIRFLOW__GOOGLE__CONTAINER_API_ENDPOINT"] = google.Url.ToString(),
            ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = new JsonObject
            {
                ["conn_type"] = "google_cloud_platform",
                ["extra"] = new JsonObject { ["keyfile_dict"] = google.KeyFileJson() },
            }.ToJsonString(),
        };

        var (code, output) = await SiroccoProcess.RunAsync(home, null, env, "dags", "test", "gke_lifecycle", "2024-01-06");

        Assert.True(code == 0 && output.Contains("finished: success", StringComparison.Ordinal), output);
        Assert.Contains("Creating GKE cluster projects/sirocco-test-project/locations/us-central1/clusters/composer-batch", output, StringComparison.Ordinal);
        Assert.Contains("is RUNNING; polling again", output, StringComparison.Ordinal);
        Assert.Contains("password matches", output, StringComparison.Ordinal);
        Assert.Contains("Cluster projects/sirocco-test-project/locations/us-central1/clusters/composer-batch deleted", output, StringComparison.Ordinal);
        Assert.False(google.HasCluster(FakeGoogle.Project, "us-central1", "composer-batch"));
        Assert.Equal(1, google.Requests("token"));
        Assert.Equal(1, google.Requests("cluster-create"));
        Assert.Equal(1, google.Requests("cluster-get"));
        Assert.Equal(1, google.Requests("cluster-delete"));
        Assert.DoesNotContain(fixture.Cluster.Token, output, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", output, StringComparison.Ordinal);
    }
}
