# expect-run: dynamic_dags_loop_b | run=success | hello=success
# expect-log: hello from b
"""DAGs generated in a loop into globals(), a common pattern in Composer repositories; the test runs one of them."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

for name in ["a", "b", "c"]:
    with DAG(f"dynamic_dags_loop_{name}", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        BashOperator(task_id="hello", bash_command=f"echo hello from {name}")
    globals()[f"dynamic_dags_loop_{name}"] = dag
