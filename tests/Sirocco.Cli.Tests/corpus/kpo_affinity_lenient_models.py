# expect-run: kpo_affinity_lenient_models | run=failed | weighted=failed, string_values=failed, fine=success
# expect-log: /dags/kpo_affinity_lenient_models.py:17:9: task 'weighted'
# expect-log: task 'weighted': V1PodAffinity.required_during_scheduling_ignored_during_execution must be a V1PodAffinityTerm, not a V1WeightedPodAffinityTerm
# expect-log: task 'string_values': V1LabelSelectorRequirement.values must be a list of str, not str
# expect-log: topologyKey: Required value: can not be empty
# expect-log: cannot be handled as a Pod
"""Kubernetes models with values of the wrong type, as in the provider's own example DAG: Python's client does not check
them, so the file loads (each value is a DAG warning with its place) and the API server judges each task's pod."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

weighted_in_required = k8s.V1Affinity(
    pod_affinity=k8s.V1PodAffinity(
        required_during_scheduling_ignored_during_execution=[
            k8s.V1WeightedPodAffinityTerm(
                weight=1,
                pod_affinity_term=k8s.V1PodAffinityTerm(
                    label_selector=k8s.V1LabelSelector(
                        match_expressions=[k8s.V1LabelSelectorRequirement(key="security", operator="In", values=["S1"])]
                    ),
                    topology_key="failure-domain.beta.kubernetes.io/zone",
                ),
            )
        ]
    )
)
gold = k8s.V1LabelSelectorRequirement(key="tier", operator="In", values="gold")

with DAG("kpo_affinity_lenient_models", schedule=None, start_date=datetime(2024, 1, 1)):
    KubernetesPodOperator(task_id="weighted", name="weighted", image="busybox", cmds=["true"], affinity=weighted_in_required)
    KubernetesPodOperator(
        task_id="string_values",
        name="string-values",
        image="busybox",
        cmds=["true"],
        affinity=k8s.V1Affinity(
            pod_anti_affinity=k8s.V1PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=[
                    k8s.V1PodAffinityTerm(label_selector=k8s.V1LabelSelector(match_expressions=[gold]), topology_key="zone")
                ]
            )
        ),
    )
    KubernetesPodOperator(task_id="fine", name="fine", image="busybox", cmds=["true"])
