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
                    cmds=["sh", "-c", "test \"$DB_PASSWORD\" = s3cr3t-from-gke && echo password matches && sleep 2.5"],
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
            ["AIRFLOW__GOOGLE__STORAGE_API_ENDPOINT"] = google.Url.ToString(),
            ["AIRFLOW__LOGGING__REMOTE_LOGGING"] = "True",
            ["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"] = "gs://composer-env-bucket/logs",
            ["AIRFLOW__LOGGING__REMOTE_LOG_UPLOAD_INTERVAL"] = "1",
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

        // Every try's log is in the bucket, named as Airflow 2 names it below the remote folder.
        Assert.True(google.Errors.IsEmpty, string.Join('\n', google.Errors));
        Assert.Equal(
            [
                "logs/dag_id=gke_lifecycle/run_id=manual__2024-01-06T00:00:00+00:00/task_id=create_cluster/attempt=1.log",
                "logs/dag_id=gke_lifecycle/run_id=manual__2024-01-06T00:00:00+00:00/task_id=delete_cluster/attempt=1.log",
                "logs/dag_id=gke_lifecycle/run_id=manual__2024-01-06T00:00:00+00:00/task_id=pod_task/attempt=1.log",
            ],
            google.ListObjects("composer-env-bucket"));
        var podLog = System.Text.Encoding.UTF8.GetString(google.GetObject("composer-env-bucket", "logs/dag_id=gke_lifecycle/run_id=manual__2024-01-06T00:00:00+00:00/task_id=pod_task/attempt=1.log")!);
        Assert.Contains("password matches", podLog, StringComparison.Ordinal);
        Assert.Equal(1, google.Requests("token"));

        // The pod's try ran 2.5 s with uploads every second: its log went up while it ran, not only at the end.
        Assert.True(google.Requests("storage-upload") >= 4, $"{google.Requests("storage-upload")} uploads");

        // With the local logs gone (another machine, a new container), the CLI reads the log from the bucket.
        Directory.Delete(Path.Combine(home, "logs"), recursive: true);
        var (logCode, logOutput) = await SiroccoProcess.RunAsync(home, null, env, "tasks", "logs", "gke_lifecycle", "pod_task", "2024-01-06");
        Assert.True(logCode == 0, logOutput);
        Assert.Contains("password matches", logOutput, StringComparison.Ordinal);
        Assert.True(google.Requests("storage-get") >= 1);

        // A bucket that refuses uploads costs the log's copy, not the run: the failure is in the scheduler's log.
        google.DenyUploads = true;
        var (deniedCode, deniedOutput) = await SiroccoProcess.RunAsync(home, null, env, "dags", "test", "gke_lifecycle", "2024-01-07");
        Assert.True(deniedCode == 0 && deniedOutput.Contains("finished: success", StringComparison.Ordinal), deniedOutput);
        Assert.Contains("Could not upload task log", deniedOutput, StringComparison.Ordinal);
        Assert.Contains("gs://composer-env-bucket/logs/dag_id=gke_lifecycle/run_id=manual__2024-01-07T00:00:00+00:00/task_id=pod_task/attempt=1.log", deniedOutput, StringComparison.Ordinal);
        Assert.Contains("storage.objects.create", deniedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_an_existing_cluster_and_deleting_a_missing_one_succeed_as_in_the_provider()
    {
        await using var google = await FakeGoogle.StartAsync();
        google.AddCluster(FakeGoogle.Project, "europe-west1", "already-there", "127.0.0.1:1", "unused");
        var home = Directory.CreateDirectory(Path.Combine(fixture.Home, "gke-idempotent")).FullName;
        Directory.CreateDirectory(Path.Combine(home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(home, "dags", "gke_idempotent.py"), """
            from datetime import datetime
            from airflow import DAG
            from airflow.providers.google.cloud.operators.kubernetes_engine import GKECreateClusterOperator, GKEDeleteClusterOperator

            with DAG("gke_idempotent", schedule=None, start_date=datetime(2024, 1, 1)):
                create = GKECreateClusterOperator(task_id="create", location="europe-west1", body={"name": "already-there", "initial_node_count": 1})
                delete = GKEDeleteClusterOperator(task_id="delete", location="europe-west1", name="never-was")
                both = GKECreateClusterOperator(task_id="both", location="europe-west1", body={"name": "x", "initial_node_count": 1, "node_pools": [{"name": "p"}]})
                create >> delete
            """);
        await using var stranger = await FakeGoogle.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["AIRFLOW__GOOGLE__CONTAINER_API_ENDPOINT"] = google.Url.ToString(),
            ["AIRFLOW__GOOGLE__STORAGE_API_ENDPOINT"] = google.Url.ToString(),
            ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = new JsonObject
            {
                ["conn_type"] = "google_cloud_platform",
                ["extra"] = new JsonObject { ["keyfile_dict"] = google.KeyFileJson(), ["project"] = FakeGoogle.Project },
            }.ToJsonString(),

            // Logs go to a bucket through a key Google refuses (signed by another key): the uploads fail, the tries do not.
            ["AIRFLOW__LOGGING__REMOTE_LOGGING"] = "True",
            ["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"] = "gs://refused-bucket/logs",
            ["AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID"] = "gcs_refused",
            ["AIRFLOW_CONN_GCS_REFUSED"] = new JsonObject
            {
                ["conn_type"] = "google_cloud_platform",
                ["extra"] = new JsonObject { ["keyfile_dict"] = stranger.KeyFileJson(new Uri(google.Url, "token").ToString()) },
            }.ToJsonString(),
        };

        var (_, output) = await SiroccoProcess.RunAsync(home, null, env, "dags", "test", "gke_idempotent", "2024-01-06");
        Assert.Contains("Could not upload task log", output, StringComparison.Ordinal);
        Assert.Empty(google.ListObjects("refused-bucket"));

        Assert.Contains("Assuming Success: cluster projects/sirocco-test-project/locations/europe-west1/clusters/already-there already exists", output, StringComparison.Ordinal);
        Assert.Contains("Assuming Success: cluster projects/sirocco-test-project/locations/europe-west1/clusters/never-was does not exist", output, StringComparison.Ordinal);
        Assert.Contains("body gives both initial_node_count and node_pools; give one", output, StringComparison.Ordinal);
        Assert.Matches("create.*Marking task as SUCCESS", output);
        Assert.Matches("delete.*Marking task as SUCCESS", output);
        Assert.Equal(2, google.Requests("cluster-create") + google.Requests("cluster-delete"));
        Assert.Contains($"Pushed XCom return_value: \"{google.Url}v1/projects/sirocco-test-project/locations/europe-west1/clusters/already-there\"", output, StringComparison.Ordinal);
        Assert.True(google.Errors.IsEmpty, string.Join('\n', google.Errors));
    }
}
