# expect-run: kpo_mapped_env | run=success | run_region[0]=success, run_region[1]=success
# expect-log: region=europe-west1
"""One pod per region, the region given through mapped env_vars."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("kpo_mapped_env", start_date=datetime(2024, 1, 1), schedule=None):
    KubernetesPodOperator.partial(
        task_id="run_region", name="run-region", image="busybox", cmds=["sh", "-c", "echo region=$REGION"],
    ).expand(env_vars=[{"REGION": "us-central1"}, {"REGION": "europe-west1"}])
