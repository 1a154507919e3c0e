# expect-run: branch_taskflow_list | run=success | pick=success, load_a=success, load_b=success, load_c=skipped
"""@task.branch returning two of three paths."""
from datetime import datetime

from airflow.decorators import dag, task
from airflow.operators.empty import EmptyOperator


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def branch_taskflow_list():
    @task.branch
    def pick():
        return ["load_a", "load_b"]

    pick() >> [EmptyOperator(task_id="load_a"), EmptyOperator(task_id="load_b"), EmptyOperator(task_id="load_c")]


branch_taskflow_list()
