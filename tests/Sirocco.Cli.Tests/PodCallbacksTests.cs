using k8s;
using Sirocco.LocalCluster;

namespace Sirocco.Cli.Tests;

/// <summary>
/// KubernetesPodOperator's <c>callbacks=</c> with KubernetesPodOperatorCallback classes of an unchanged Airflow file,
/// run by <c>sirocco dags test</c>: each hook the class defines runs in its own pod (the host's python3 on the local
/// cluster), with the pod, the operator and the context as Airflow passes them.
/// </summary>
public sealed class PodCallbacksTests : IDisposable
{
    private const string DagFile = """
        from datetime import datetime

        from kubernetes.client import models as k8s
        from airflow import DAG
        from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        TEAM = "data-eng"

        def describe(pod):
            return "%s labels=%s" % (pod.metadata.name.split("-")[0], sorted(pod.metadata.labels.keys() & {"team"}))

        class Audit(KubernetesPodOperatorCallback):
            @staticmethod
            def on_pod_manifest_created(*, pod_request: k8s.V1Pod, client, mode, **kwargs) -> None:
                print("AUDIT manifest", pod_request.spec.containers[0].image, pod_request.to_dict()["metadata"]["labels"]["team"])

            @staticmethod
            def on_pod_completion(*, pod: k8s.V1Pod, client, mode, operator, context, **kwargs) -> None:
                code = pod.status.container_statuses[0].state.terminated.exit_code
                print("AUDIT completed", TEAM, operator.task_id, context["ds"], mode, "exit", code, describe(pod))

        class Janitor(Audit):
            @staticmethod
            def on_pod_cleanup(*, pod, **kwargs):
                print("JANITOR cleaned", pod.metadata.namespace)

        class Broken(KubernetesPodOperatorCallback):
            @staticmethod
            def on_pod_starting(*, pod, **kwargs):
                raise RuntimeError("no start for " + pod.metadata.labels["task_id"])

        with DAG("hooked", schedule=None, start_date=datetime(2024, 1, 1)):
            KubernetesPodOperator(task_id="good", name="good", image="busybox", cmds=["sh", "-c", "echo working"],
                                  labels={"team": TEAM}, callbacks=[Janitor])
            KubernetesPodOperator(task_id="bad", name="bad", image="busybox", cmds=["sh", "-c", "sleep 30"], callbacks=Broken)
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-pod-callbacks-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Dags_test_runs_each_hook_of_a_callback_class_in_a_pod_and_a_failing_hook_fails_its_task()
    {
        await using var cluster = await LocalCluster.LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = Path.Combine(_home, "cluster") });
        Directory.CreateDirectory(Path.Combine(_home, "dags"));
        await File.WriteAllTextAsync(Path.Combine(_home, "dags", "hooked.py"), DagFile);

        var (_, output) = await SiroccoProcess.RunAsync(_home, cluster.KubeconfigPath, "dags", "test", "hooked", "2024-01-02");

        SiroccoProcess.AssertLogged(output, "Running Janitor.on_pod_manifest_created in a pod");
        SiroccoProcess.AssertLogged(output, "AUDIT manifest busybox data-eng");
        SiroccoProcess.AssertLogged(output, "working");
        SiroccoProcess.AssertLogged(output, "AUDIT completed data-eng good 2024-01-02 sync exit 0 good labels=['team']");
        SiroccoProcess.AssertLogged(output, "JANITOR cleaned default");
        SiroccoProcess.AssertLogged(output, "good: success");
        SiroccoProcess.AssertLogged(output, "callbacks: Broken.on_pod_starting failed:");
        SiroccoProcess.AssertLogged(output, "RuntimeError: no start for bad");
        SiroccoProcess.AssertLogged(output, "bad: failed");
        Assert.DoesNotContain("Running Janitor.on_pod_creation", output, StringComparison.Ordinal); // not defined: no pod
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        var pods = await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "dag_id=hooked");
        Assert.DoesNotContain(pods.Items, p => p.Metadata.DeletionTimestamp is null);
    }
}
