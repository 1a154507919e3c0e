# expect-run: mapping_kpo_literal | run=success | start=success, process[0]=success, process[1]=success, process[2]=success
# expect-log: processing shard-b for 2024-01-06
"""A KubernetesPodOperator mapped over literal argument lists, as Composer teams shard work."""
from datetime import datetime

from airflow import models
from airflow.operators.empty import EmptyOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with models.DAG("mapping_kpo_literal", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    start = EmptyOperator(task_id="start")
    process = KubernetesPodOperator.partial(
        task_id="process",
        name="process",
        namespace="default",
        image="busybox",
        cmds=["sh", "-c"],
        get_logs=True,
    ).expand(arguments=[["echo processing shard-a for {{ ds }}"], ["echo processing shard-b for {{ ds }}"], ["echo processing shard-c for {{ ds }}"]])
    start >> process
