# expect-run: kpo_labels_annotations | run=success | labelled=success
# expect-log: labelled pod ran
"""A pod with labels, annotations and resources, as the Composer sample's ex-all-configs sets them."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

with DAG("kpo_labels_annotations", start_date=datetime(2024, 1, 1), schedule=None):
    KubernetesPodOperator(
        task_id="labelled",
        name="labelled",
        image="busybox",
        cmds=["sh", "-c", "echo labelled pod ran"],
        labels={"team": "data", "run": "{{ ds_nodash }}"},
        annotations={"owner": "platform"},
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "100m", "memory": "64Mi"}, limits={"memory": "128Mi"}),
        startup_timeout_seconds=120,
    )
