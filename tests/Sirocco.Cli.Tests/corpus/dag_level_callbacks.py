# expect-run: dag_level_callbacks | run=failed | extract=success, load=failed, report=upstream_failed
# expect-log: {INFO} Running on_failure_callback dag_level_callbacks__on_failure_callback of DAG dag_level_callbacks
# expect-log: DAG FAILED dag_level_callbacks reason=task_failure task=load rows=42
# expect-log: on_failure_callback dag_level_callbacks__on_failure_callback finished
"""DAG-level on_failure_callback, as Composer teams wire their alerting: called once when the run fails, with the
context of the task that failed and the reason; it reads an XCom of the run."""
from datetime import datetime

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator


def notify_failure(context):
    rows = context["ti"].xcom_pull(task_ids="extract")
    print("DAG FAILED", context["dag_id"], "reason=" + context["reason"], "task=" + context["task_id"], "rows=" + str(rows))


def notify_success(context):
    print("DAG SUCCEEDED", context["dag_id"])


with DAG(
    "dag_level_callbacks",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    on_failure_callback=notify_failure,
    on_success_callback=notify_success,
):

    @task
    def extract():
        return 42

    load = BashOperator(task_id="load", bash_command="echo loading; exit 1")
    report = BashOperator(task_id="report", bash_command="echo report")
    extract() >> load >> report
