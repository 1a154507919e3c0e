# expect-run: trigger_rules_all_failed_skipped | run=success | a=failed, b=failed, all_failed_handler=success, nothing_skipped=skipped, finish=success
"""all_failed and all_skipped trigger rules after two failing tasks."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

with DAG("trigger_rules_all_failed_skipped", start_date=datetime(2024, 1, 1), schedule=None):
    a = BashOperator(task_id="a", bash_command="exit 1")
    b = BashOperator(task_id="b", bash_command="exit 2")
    handler = EmptyOperator(task_id="all_failed_handler", trigger_rule="all_failed")
    only_if_skipped = EmptyOperator(task_id="nothing_skipped", trigger_rule="all_skipped")
    finish = EmptyOperator(task_id="finish", trigger_rule="all_done")
    [a, b] >> handler
    [a, b] >> only_if_skipped
    [handler, only_if_skipped] >> finish
