# expect-run: nested_task_groups | run=success | outer.inner.step=success, outer.after_inner=success, done=success
"""TaskGroups nested in TaskGroups: ids carry both prefixes."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.task_group import TaskGroup

with DAG("nested_task_groups", start_date=datetime(2024, 1, 1), schedule=None):
    with TaskGroup("outer") as outer:
        with TaskGroup("inner") as inner:
            BashOperator(task_id="step", bash_command="echo step")
        after = BashOperator(task_id="after_inner", bash_command="echo after")
        inner >> after
    done = BashOperator(task_id="done", bash_command="echo done")
    outer >> done
