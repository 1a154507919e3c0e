# expect-run: callbacks_default_args | run=success | flaky=failed, cleanup=success
# expect-log: ALERT flaky on_failure_callback
"""on_failure_callback in default_args, as alerting is usually wired in Composer DAGs."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator


def alert(context):
    print("ALERT", context["task_id"], context["reason"])


default_args = {"retries": 0, "retry_delay": timedelta(minutes=1), "on_failure_callback": alert}

with DAG("callbacks_default_args", default_args=default_args, start_date=datetime(2024, 1, 1), schedule=None):
    flaky = BashOperator(task_id="flaky", bash_command="exit 3")
    cleanup = BashOperator(task_id="cleanup", bash_command="echo cleaning up", trigger_rule="all_done")
    flaky >> cleanup
