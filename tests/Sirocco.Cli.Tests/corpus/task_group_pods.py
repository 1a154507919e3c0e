# expect-run: task_group_pods | run=success | ingest.fetch=success, ingest.check=success, publish=success
"""Pods inside a TaskGroup, then a pod after the group."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.utils.task_group import TaskGroup

with DAG("task_group_pods", start_date=datetime(2024, 1, 1), schedule=None):
    with TaskGroup("ingest") as ingest:
        fetch = KubernetesPodOperator(task_id="fetch", name="fetch", image="busybox", cmds=["sh", "-c", "echo fetching"])
        check = KubernetesPodOperator(task_id="check", name="check", image="busybox", cmds=["sh", "-c", "echo checking"])
        fetch >> check
    publish = KubernetesPodOperator(task_id="publish", name="publish", image="busybox", cmds=["sh", "-c", "echo publishing"])
    ingest >> publish
