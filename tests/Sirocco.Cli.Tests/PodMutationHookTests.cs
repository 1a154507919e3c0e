namespace Sirocco.Cli.Tests;

/// <summary>
/// <c>$SIROCCO_HOME/config/airflow_local_settings.py</c>'s pod_mutation_hook applied by <c>sirocco dags test</c> to
/// every pod on the local cluster: a KubernetesPodOperator's and a @task's.
/// </summary>
public sealed class PodMutationHookTests(CorpusCluster fixture) : IClassFixture<CorpusCluster>
{
    [Fact]
    public async Task Every_pod_of_a_run_goes_through_the_hook_and_a_broken_hook_fails_the_try_before_any_pod()
    {
        var home = Directory.CreateDirectory(Path.Combine(fixture.Home, "hook")).FullName;
        Directory.CreateDirectory(Path.Combine(home, "dags"));
        Directory.CreateDirectory(Path.Combine(home, "config"));
        await File.WriteAllTextAsync(Path.Combine(home, "config", "airflow_local_settings.py"), """
            from kubernetes.client import models as k8s

            def pod_mutation_hook(pod):
                pod.metadata.labels["team"] = "data-platform"
                for c in pod.spec.containers:
                    c.env = (c.env or []) + [k8s.V1EnvVar(name="INJECTED_BY_HOOK", value="yes-" + pod.metadata.labels["task_id"])]
            """);
        await File.WriteAllTextAsync(Path.Combine(home, "dags", "hooked.py"), """
            from datetime import datetime
            from airflow import DAG
            from airflow.decorators import task
            from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

            with DAG("hooked", schedule=None, start_date=datetime(2024, 1, 1)):
                kpo = KubernetesPodOperator(task_id="kpo", name="kpo", image="busybox", cmds=["sh", "-c", "echo kpo sees $INJECTED_BY_HOOK"])

                @task
                def py():
                    import os
                    print("py sees", os.environ["INJECTED_BY_HOOK"])

                kpo >> py()
            """);

        var (_, output) = await SiroccoProcess.RunAsync(home, fixture.Cluster.KubeconfigPath, "dags", "test", "hooked", "2024-01-06");
        Assert.True(output.Contains("finished: success", StringComparison.Ordinal), output);
        Assert.Contains("kpo sees yes-kpo", output, StringComparison.Ordinal);
        Assert.Contains("py sees yes-py", output, StringComparison.Ordinal);
        Assert.Contains("Applied pod_mutation_hook of " + Path.Combine(home, "config", "airflow_local_settings.py"), output, StringComparison.Ordinal);

        // A hook that breaks fails each try with its file and line, and no pod is made.
        await File.WriteAllTextAsync(Path.Combine(home, "config", "airflow_local_settings.py"), "def pod_mutation_hook(pod):\n    pod.spec.containers[0].image = [\"busybox\"]\n");
        (_, output) = await SiroccoProcess.RunAsync(home, fixture.Cluster.KubeconfigPath, "dags", "test", "hooked", "2024-01-07");
        Assert.True(output.Contains("finished: failed", StringComparison.Ordinal), output);
        Assert.Contains("pod_mutation_hook of " + Path.Combine(home, "config", "airflow_local_settings.py") + " failed on pod default/kpo", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Creating pod", output, StringComparison.Ordinal);
    }
}
