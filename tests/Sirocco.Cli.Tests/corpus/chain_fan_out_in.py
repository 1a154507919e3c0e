# expect-run: chain_fan_out_in | run=success | begin=success, left=success, right=success, end=success
"""chain() with a fan-out and fan-in."""
from datetime import datetime

from airflow import DAG
from airflow.models.baseoperator import chain
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

with DAG("chain_fan_out_in", start_date=datetime(2024, 1, 1), schedule=None):
    begin = EmptyOperator(task_id="begin")
    left = BashOperator(task_id="left", bash_command="echo left")
    right = BashOperator(task_id="right", bash_command="echo right")
    end = EmptyOperator(task_id="end")
    chain(begin, [left, right], end)
