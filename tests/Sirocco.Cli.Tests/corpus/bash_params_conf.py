# expect-run: bash_params_conf | run=success | greet=success
# expect-log: Hello, world from bash_params_conf
"""BashOperator reading DAG params through templates."""
from datetime import datetime

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.bash import BashOperator

with DAG("bash_params_conf", start_date=datetime(2024, 1, 1), schedule=None, params={"name": Param("world", type="string")}):
    BashOperator(task_id="greet", bash_command="echo 'Hello, {{ params.name }} from {{ dag.dag_id }}'")
