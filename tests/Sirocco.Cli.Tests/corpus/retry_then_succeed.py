# expect-run: retry_then_succeed | run=success | flaky=success
# expect-log: second attempt succeeds
"""A task that fails its first try and succeeds on the retry (retry_delay of one second)."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("retry_then_succeed", start_date=datetime(2024, 1, 1), schedule=None, default_args={"retries": 1, "retry_delay": timedelta(seconds=1)}):
    BashOperator(
        task_id="flaky",
        bash_command='if [ "{{ ti.try_number }}" = "1" ]; then echo first attempt fails; exit 1; fi; echo second attempt succeeds',
    )
