# expect-run: execution_timeout | run=failed | too_slow=failed
# expect-log: ran longer than execution_timeout
"""execution_timeout stops a task that runs too long."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("execution_timeout", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="too_slow", bash_command="sleep 30", execution_timeout=timedelta(seconds=1))
