# expect-run: kpo_xcom_template | run=success | produce=success, consume=success
# expect-log: got 42 rows
"""A pod pushes an XCom through /airflow/xcom/return.json; the next pod reads it through a template."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("kpo_xcom_template", start_date=datetime(2024, 1, 1), schedule=None):
    produce = KubernetesPodOperator(
        task_id="produce", name="produce", image="busybox", cmds=["sh", "-c"],
        arguments=['mkdir -p /airflow/xcom && echo \'{"rows": 42}\' > /airflow/xcom/return.json'],
        do_xcom_push=True,
    )
    consume = KubernetesPodOperator(
        task_id="consume", name="consume", image="busybox", cmds=["sh", "-c"],
        arguments=["echo got {{ ti.xcom_pull(task_ids='produce')['rows'] }} rows"],
    )
    produce >> consume
