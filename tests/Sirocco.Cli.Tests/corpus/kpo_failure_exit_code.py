# expect-run: kpo_failure_exit_code | run=failed | breaks=failed, never=upstream_failed
# expect-log: exited with code 3
"""A pod that exits non-zero fails its task; its downstream task is upstream_failed."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("kpo_failure_exit_code", start_date=datetime(2024, 1, 1), schedule=None):
    breaks = KubernetesPodOperator(task_id="breaks", name="breaks", image="busybox", cmds=["sh", "-c", "echo oops; exit 3"])
    never = KubernetesPodOperator(task_id="never", name="never", image="busybox", cmds=["sh", "-c", "echo unreachable"])
    breaks >> never
