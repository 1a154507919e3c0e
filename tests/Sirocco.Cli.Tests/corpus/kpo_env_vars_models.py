# expect-run: kpo_env_vars_models | run=success | print_env=success
# expect-log: DAY=2024-01-06 TEAM=data-platform
"""KubernetesPodOperator with env_vars as V1EnvVar models and a templated value, as the provider's examples write them."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

with DAG("kpo_env_vars_models", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    KubernetesPodOperator(
        task_id="print_env",
        name="print-env",
        image="busybox",
        cmds=["sh", "-c", "echo DAY=$DAY TEAM=$TEAM"],
        env_vars=[k8s.V1EnvVar(name="DAY", value="{{ ds }}"), k8s.V1EnvVar(name="TEAM", value="data-platform")],
    )
