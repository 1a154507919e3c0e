# expect-run: kpo_skip_exit_code | run=success | maybe=skipped, after=skipped, cleanup=success
"""skip_on_exit_code: a pod exiting 99 marks its task skipped, as the provider does."""
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("kpo_skip_exit_code", start_date=datetime(2024, 1, 1), schedule=None):
    maybe = KubernetesPodOperator(task_id="maybe", name="maybe", image="busybox", cmds=["sh", "-c", "exit 99"], skip_on_exit_code=99)
    after = EmptyOperator(task_id="after")
    cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
    maybe >> after >> cleanup
