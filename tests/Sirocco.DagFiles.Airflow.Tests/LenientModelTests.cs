using Sirocco.Kubernetes;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>
/// Python does not check the types of Kubernetes model objects: a file Airflow loads is loaded, each wrong value is a DAG
/// warning with its place, and the task sends it as Python's client would.
/// </summary>
public sealed class LenientModelTests
{
    // The affinity of Airflow's own example DAG for the provider: a str for a list, a weighted term in a required list.
    internal const string ExampleDag = """
        from datetime import datetime
        from airflow import DAG
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from kubernetes.client import models as k8s

        affinity = k8s.V1Affinity(
            pod_affinity=k8s.V1PodAffinity(
                required_during_scheduling_ignored_during_execution=[
                    k8s.V1WeightedPodAffinityTerm(
                        weight=1,
                        pod_affinity_term=k8s.V1PodAffinityTerm(
                            label_selector=k8s.V1LabelSelector(
                                match_expressions=[k8s.V1LabelSelectorRequirement(key="security", operator="In", values="S1")]
                            ),
                            topology_key="failure-domain.beta.kubernetes.io/zone",
                        ),
                    )
                ]
            )
        )
        selector = k8s.V1LabelSelectorRequirement(key="tier", operator="In", values="gold")

        with DAG("lenient", schedule=None, start_date=datetime(2024, 1, 1)):
            KubernetesPodOperator(task_id="weighted", name="weighted", image="busybox", cmds=["true"], affinity=affinity)
            KubernetesPodOperator(task_id="string_values", name="string-values", image="busybox", cmds=["true"],
                affinity=k8s.V1Affinity(pod_anti_affinity=k8s.V1PodAntiAffinity(required_during_scheduling_ignored_during_execution=[
                    k8s.V1PodAffinityTerm(label_selector=k8s.V1LabelSelector(match_expressions=[selector]), topology_key="zone")])))
            KubernetesPodOperator(task_id="fine", name="fine", image="busybox", cmds=["true"])
        """;

    [Fact]
    public void The_file_loads_with_a_warning_per_wrong_value_naming_its_place()
    {
        var dag = Support.One(ExampleDag);
        Assert.Equal(3, dag.Tasks.Count);
        var messages = dag.Warnings.Select(w => w.Message).ToList();
        Assert.All(dag.Warnings, w => Assert.Equal(DagWarning.KubernetesModel, w.WarningType));
        Assert.Contains(messages, m => m.StartsWith("/dags/test_dag.py:8:", StringComparison.Ordinal)
            && m.Contains("task 'weighted': V1PodAffinity.required_during_scheduling_ignored_during_execution must be a V1PodAffinityTerm, not a V1WeightedPodAffinityTerm", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("/dags/test_dag.py:13:", StringComparison.Ordinal)
            && m.Contains("task 'weighted': V1LabelSelectorRequirement.values must be a list of str, not str", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("/dags/test_dag.py:21:", StringComparison.Ordinal)
            && m.Contains("task 'string_values': V1LabelSelectorRequirement.values must be a list of str", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("'fine'", StringComparison.Ordinal));
    }

    [Fact]
    public void The_task_sends_the_wrong_values_as_python_would_and_holds_the_rest_typed()
    {
        var dag = Support.One(ExampleDag);
        var stringValues = (KubernetesPodOperator)dag.GetTask("string_values");
        var sent = Assert.Single(stringValues.RawPodFields);
        Assert.Equal("/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0/labelSelector/matchExpressions/0/values", sent.Key);
        Assert.Equal("\"gold\"", sent.Value!.ToJsonString());
        var term = Assert.Single(stringValues.Affinity!.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution);
        Assert.Equal("zone", term.TopologyKey);
        Assert.Null(term.LabelSelector.MatchExpressions[0].Values);

        var weighted = (KubernetesPodOperator)dag.GetTask("weighted");
        var whole = weighted.RawPodFields["/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/0"]!.AsObject();
        Assert.Equal(1, whole["weight"]!.GetValue<long>());
        Assert.Equal("S1", whole["podAffinityTerm"]!["labelSelector"]!["matchExpressions"]![0]!["values"]!.GetValue<string>());
        Assert.Null(weighted.Affinity!.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey); // the fields of another type are not a PodAffinityTerm's

        Assert.Empty(((KubernetesPodOperator)dag.GetTask("fine")).RawPodFields);
    }

    [Fact]
    public void A_wrong_value_where_the_pod_place_is_unknown_still_fails_the_file_naming_it()
    {
        var error = Support.Error("""
            from datetime import datetime
            from airflow import DAG
            from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
            from kubernetes.client import models as k8s

            with DAG("lenient", schedule=None, start_date=datetime(2024, 1, 1)):
                KubernetesPodOperator(task_id="t", name="t", image="busybox",
                    full_pod_spec=k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], tolerations=k8s.V1Toleration(key="a"))))
            """);
        Assert.Contains("V1PodSpec.tolerations must be a list of V1Toleration", error.Message, StringComparison.Ordinal);
    }
}
