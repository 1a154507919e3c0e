# expect-run: zero_length_mapping | run=success | find_files=success, handle=skipped, summary=skipped, finish=success
"""Nothing to map over: the mapped task is skipped and so is its all_success downstream."""
from datetime import datetime

from airflow.decorators import dag, task
from airflow.operators.empty import EmptyOperator


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def zero_length_mapping():
    @task
    def find_files():
        return []

    @task
    def handle(path):
        return path

    @task
    def summary(results):
        return len(results)

    finish = EmptyOperator(task_id="finish", trigger_rule="none_failed")
    summary(handle.expand(path=find_files())) >> finish


zero_length_mapping()
