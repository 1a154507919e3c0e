# expect-run: trigger_rules_failure_handler | run=failed | work=failed, on_error=success, next_step=upstream_failed
"""A failure handler with one_failed beside a normal downstream task."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("trigger_rules_failure_handler", start_date=datetime(2024, 1, 1), schedule=None):
    work = BashOperator(task_id="work", bash_command="echo failing; exit 1")
    on_error = BashOperator(task_id="on_error", bash_command="echo handling the failure", trigger_rule="one_failed")
    next_step = BashOperator(task_id="next_step", bash_command="echo next")
    work >> [on_error, next_step]
