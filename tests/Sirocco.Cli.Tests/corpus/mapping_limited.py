# expect-run: mapping_limited | run=success | slow[0]=success, slow[1]=success, slow[2]=success, slow[3]=success
"""A mapped task limited to one instance at a time (max_active_tis_per_dag)."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("mapping_limited", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator.partial(task_id="slow", max_active_tis_per_dag=1).expand(bash_command=["echo a", "echo b", "echo c", "echo d"])
