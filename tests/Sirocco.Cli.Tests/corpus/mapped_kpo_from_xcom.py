# expect-run: mapped_kpo_from_xcom | run=success | list_files=success, process_file[0]=success, process_file[1]=success
# expect-log: processing b.csv
"""A pod lists files through XCom; a mapped pod processes each (the provider's mapping pattern)."""
from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("mapped_kpo_from_xcom", start_date=datetime(2024, 1, 1), schedule=None):
    list_files = KubernetesPodOperator(
        task_id="list_files", name="list-files", image="busybox", cmds=["sh", "-c"],
        arguments=['mkdir -p /airflow/xcom && echo \'[["echo processing a.csv"], ["echo processing b.csv"]]\' > /airflow/xcom/return.json'],
        do_xcom_push=True,
    )
    KubernetesPodOperator.partial(task_id="process_file", name="process-file", image="busybox", cmds=["sh", "-c"]).expand(arguments=list_files.output)
